"""How stop, reload and status requests reach the loop: the carpd
launcher's FIFO (MicroPython, which has no signal handlers), or signals
through a wake-up pipe (CPython run directly)."""
import sys


def watch_signals(loop):
    """CPython: SIGTERM/SIGINT (stop) and SIGHUP (reload) wake the poll loop
    through a pipe; nothing runs inside the handler."""
    try:
        import os
        import signal
    except ImportError:
        return
    if not hasattr(signal, "set_wakeup_fd"):
        return
    read_end, write_end = os.pipe()
    os.set_blocking(write_end, False)
    os.set_blocking(read_end, False)
    signal.set_wakeup_fd(write_end)
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGUSR1):
        signal.signal(sig, lambda *_: None)

    def read_request(fd):
        try:
            data = os.read(fd, 64)
        except OSError:
            return None
        if any(b not in (signal.SIGHUP, signal.SIGUSR1) for b in data):
            return "stop"
        if signal.SIGHUP in data:
            return "reload"
        return "status" if data else None

    loop.watch_control(read_end, read_request)


def read_launcher_request(fd):
    """One line from the carpd launcher's FIFO: 'reload' (SIGHUP), 'status'
    (SIGUSR1: `carp status` wants a fresh document); end of file: stop (the
    launcher got SIGTERM, or died)."""
    line = sys.stdin.readline()
    if not line:
        return "stop"
    line = line.strip()
    return line if line in ("reload", "status") else None


def fd_from_env(name):
    """A file descriptor number the launcher passed in the environment."""
    try:
        from os import getenv
    except ImportError:
        return None
    value = getenv(name)
    if value is not None and value.isdigit():
        return int(value)
    return None
