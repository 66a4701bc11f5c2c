"""Transition hooks: one event per transition for `/sbin/hotplug-call carp`.

The daemon never runs the hook itself: that would stall advertisements for
as long as a script takes (ucarp's flaw), and MicroPython cannot spawn a
process without a shell. Events go down a pipe to the carp-hooks worker
that the launcher starts; it runs them in order, one at a time, each bounded
in time. An event is KEY=value lines ended by an empty line; the worker
assigns each value to one environment variable with `read -r`, so no value
is ever split, expanded or evaluated by a shell.
"""
import select

from carp.sockaddr import MICROPYTHON

# What a hook sees (besides ACTION): the names are the contract with
# /etc/hotplug.d/carp/* and /etc/carp.user.
KEYS = ("ACTION", "PREVIOUS", "VHID", "INSTANCE", "INTERFACE", "DEVICE", "VIPS", "REASON", "PEER",
        "VMAC", "VMAC_DEVICE",
        "CARP_DNSMASQ", "CARP_LEASE_HOLD", "CARP_WAN", "CARP_CONNTRACKD", "CARP_USER_SCRIPT", "TIMEOUT")
MAX_EVENT = 4000  # below PIPE_BUF: one write, never split, never blocking once POLLOUT says so


def _clean(value):
    """One line of text: the event format has no escapes, so no newlines."""
    text = "%s" % ("" if value is None else value)
    for bad in ("\n", "\r", "\0"):
        text = text.replace(bad, " ")
    return text


def event(values):
    """KEY=value lines for the keys given (a dict), in KEYS order, and the end mark."""
    out = "".join("%s=%s\n" % (key, _clean(values[key])) for key in KEYS if key in values) + "\n"
    return out if len(out) <= MAX_EVENT else out[:MAX_EVENT - 2] + "\n\n"


class HookPipe:
    """The write end of the pipe to the carp-hooks worker (an inherited fd)."""

    def __init__(self, fd):
        self.file = open(fd, "w")
        self.poll = select.poll()
        self.poll.register(fd, select.POLLOUT)
        self.sent = 0
        self.dropped = 0

    def send(self, values):
        """Queue one event; False (and counted) if the worker is so far behind
        that the pipe is full: the advertisement loop must not wait."""
        if not self.poll.poll(0):
            self.dropped += 1
            return False
        try:
            self.file.write(event(values))
            if not MICROPYTHON:  # MicroPython writes through; its flush() is an fsync(), refused on pipes
                self.file.flush()
        except OSError:  # the worker is gone
            self.dropped += 1
            return False
        self.sent += 1
        return True

    def close(self):
        try:
            self.file.close()
        except OSError:
            pass
