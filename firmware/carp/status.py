"""Status: a JSON document the daemon writes atomically, and `carp status`.

The daemon rewrites the file when what it shows changes (report.py);
readers (the CLI, ubus, LuCI) never see a half-written file because it is
written next to the target and renamed over it. No passphrase in it, ever.

Where: status.json in carp's own directory, /var/run/carp (tmpfs on
OpenWrt, /var is /tmp), or $CARP_RUN_DIR, which only root's environment
sets (procd, tests). Never a path from UCI: LuCI users who may edit
/etc/config/carp must not make root write over a file of their choice. The
directory must be ours and writable by nobody else, so no one can plant a
symlink in it; the temporary file is created anew besides (O_EXCL).
"""
import json
import os
import sys
import time

from carp import VERSION, machine
from carp.packet import DROP_REASONS

RUN_DIR = "/var/run/carp"
FILE_NAME = "status.json"
LEASE_HOLD_NAME = "leases.hold"
S_IFMT = 0o170000
S_IFDIR = 0o040000


def run_dir():
    try:
        from os import getenv
    except ImportError:
        return RUN_DIR
    return getenv("CARP_RUN_DIR") or RUN_DIR


def location():
    """Where the daemon writes its status and `carp status` reads it."""
    return run_dir() + "/" + FILE_NAME


def lease_hold():
    """The file `carpd leases` keeps, holding its PID, while DHCP waits for
    the peers' leases (leasesync.py); carpd names it to the 10-dnsmasq hook."""
    return run_dir() + "/" + LEASE_HOLD_NAME


def _drops(counts):
    """{reason: count} for the reasons seen (packet.DROP_REASONS order)."""
    return dict((DROP_REASONS[i], c) for i, c in enumerate(counts) if c)


def vhid_status(vhid):
    m = vhid.machine
    cfg = vhid.cfg
    return {
        "name": cfg.name,
        "device": cfg.device,
        "vhid": cfg.vhid,
        "vmac": vhid.vmac.text if vhid.vmac is not None else None,
        "state": m.state_name(),
        "previous": machine.STATE_NAMES[m.previous],
        "since": vhid.since,
        "reason": m.reason,
        "transitions": vhid.transitions,
        "conflicts": vhid.conflicts,
        "last_conflict": vhid.last_conflict,
        "master": vhid.master_text(),
        "source": vhid.source_text(),
        "addresses": [v.text for v in cfg.vips],
        "peers": [p for p in _peer_texts(cfg)],
        "advbase": m.advbase,
        "advskew": m.advskew,
        "advertised_advskew": m.advertised_skew(),
        "demote": m.demote,
        "group": cfg.group,
        "demotion_reasons": vhid.demotion_reasons,
        "preempt": m.preempt,
        "master_down_ms": m.master_down_ms(),
        "seen": {"address": vhid.peer_text(), "advbase": m.peer_advbase,
                 "advskew": m.peer_advskew, "demote": m.peer_demote} if vhid.peer_len else None,
        "rx": vhid.rx,
        "tx": vhid.tx,
        "tx_errors": vhid.tx_errors,
        "drops": _drops(vhid.drops),
    }


def _tracker(t):
    return {"what": t.what, "group": t.group, "failed": t.failed, "why": t.why}


def _peer_texts(cfg):
    from carp import sockaddr
    return [sockaddr.ip_text(packed) for _family, packed in cfg.peers]


KERNEL_FILTER = ("passes only IPv4 56 / IPv6 76-byte CARP packets with TTL 255, version 2 type 1, "
                 "authlen 7, for a vhid configured on the device (from its peers in unicast mode); "
                 "what it drops is not counted")
MEMORY_EVERY_S = 60
_memory = [None, 0]  # the last figures, and when they were taken


def memory():
    """MicroPython's heap after a collection: what the daemon really holds,
    and the heap it was given (micropython -X heapsize). None on CPython,
    whose memory the OS reports. A collection costs a few hundred
    microseconds, so it is taken at most once a minute."""
    try:
        import micropython  # noqa: F401  (only to tell the interpreters apart)
    except ImportError:
        return None
    now = time.time()
    if _memory[0] is None or now - _memory[1] >= MEMORY_EVERY_S:
        import gc
        gc.collect()
        used = gc.mem_alloc()
        _memory[0] = {"heap_used": used, "heap_size": used + gc.mem_free()}
        _memory[1] = now
    return _memory[0]


def document(sequence, vhids, trackers, drops, load, hooks):
    """The status document: sequence moves with every write (`carp status`
    waits for it); drops are the daemon's counters by packet.DROP_REASONS;
    load is (packets per second, windows spent pacing: loop.Loop.load);
    hooks a hooks.HookPipe or None."""
    return {
        "version": VERSION,
        "updated": int(time.time()),
        "sequence": sequence,
        "drops": _drops(drops),
        # packets per second read lately (the last 100 ms under a flood,
        # the last seconds at rest), and how many windows the loop spent
        # pacing its reads because of a flood
        "load": {"packets_per_s": load[0], "flood_windows": load[1]},
        # drops count what reached the daemon; Linux counts nothing a socket
        # filter drops, so say what the kernel keeps out before that
        "kernel_filter": KERNEL_FILTER,
        "hooks": {"sent": hooks.sent, "dropped": hooks.dropped} if hooks is not None else None,
        "trackers": [_tracker(t) for t in trackers],
        "vhids": [vhid_status(v) for v in vhids],
        "memory": memory(),
    }


_EUID = []


def _euid():
    if not _EUID:  # it never changes: asked once
        geteuid = getattr(os, "geteuid", None)
        # MicroPython has none: /proc/self belongs to our effective uid
        _EUID.append(geteuid() if geteuid is not None else os.stat("/proc/self")[4])
    return _EUID[0]


def own_directory(directory):
    """Make directory (its parent must exist) or check the one there: ours,
    and writable by nobody else. Raises OSError otherwise."""
    try:
        st = os.stat(directory)  # there already: every write but the first
    except OSError:
        try:
            os.mkdir(directory)
            chmod = getattr(os, "chmod", None)
            if chmod is not None:
                chmod(directory, 0o755)  # whatever the umask (MicroPython: the launcher made it 0755)
        except OSError:
            pass  # cannot be made (or was made meanwhile): the stat below tells
        st = os.stat(directory)
    mode, uid = st[0], st[4]
    if mode & S_IFMT != S_IFDIR or uid != _euid() or mode & 0o022:
        raise OSError("%s is not a directory of our own that only we can write (uid %d, mode %o): "
                      "not writing there" % (directory, uid, mode & 0o7777))


def _create(temporary):
    """A new file: never one that was there, nor a symlink's target."""
    try:
        os.remove(temporary)  # a stale one (or a link: remove() takes the link itself)
    except OSError:
        pass
    if hasattr(os, "open"):
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
        return os.fdopen(os.open(temporary, flags, 0o644), "w")
    # MicroPython has no os.open: nothing can come between remove() and
    # open() because own_directory() made sure only we write here.
    return open(temporary, "w")


def write(path, doc):
    """Write doc as JSON to path atomically (temporary file, then rename),
    in a directory own_directory() accepts."""
    _replace(path, _dump_line, doc)


def write_pid(path, pid):
    """A one-line file holding pid, written as write() writes."""
    _replace(path, _pid_line, pid)


def _replace(path, fill, what):
    own_directory(path[:path.rindex("/")] or "/")
    temporary = path + ".tmp"
    with _create(temporary) as f:
        fill(f, what)
    os.rename(temporary, path)


def _dump_line(f, doc):
    _dump(f, doc)
    f.write("\n")


def _pid_line(f, pid):
    f.write("%d\n" % pid)


WRITE_BLOCK = 1024  # bytes of text per write(): MicroPython's files are unbuffered


def _dump(f, doc):
    """json.dump, a member of the document or an item of its lists at a
    time: MicroPython builds json.dumps' whole string in one block, and with
    many vhids the heap had no free block that large (docs/memory.md). One
    json.dumps per piece, not per value (walking every value in Python cost
    seven times the C encoder: 300 us a write warm, mp 1.23), and pieces
    written about WRITE_BLOCK bytes at a time (each write is a syscall)."""
    dumps = json.dumps
    pieces = []
    size = 0
    for i, key in enumerate(doc):
        value = doc[key]
        pieces.append(("{%s: " if i == 0 else ", %s: ") % dumps(key))
        if isinstance(value, list):
            for n, item in enumerate(value):
                text = dumps(item)
                pieces.append((", " if n else "[") + text)
                size += len(text)
                if size >= WRITE_BLOCK:
                    f.write("".join(pieces))
                    pieces = []
                    size = 0
            pieces.append("]" if value else "[]")
        else:
            text = dumps(value)
            pieces.append(text)
            size += len(text)
    pieces.append("}" if doc else "{}")
    f.write("".join(pieces))


def read(path):
    with open(path) as f:
        return json.loads(f.read())


def _clock(seconds):
    t = time.localtime(seconds)
    return "%04d-%02d-%02d %02d:%02d:%02d" % (t[0], t[1], t[2], t[3], t[4], t[5])


def table(doc):
    """A human table of a status document, one row per vhid."""
    header = ("NAME", "DEVICE", "VHID", "STATE", "SINCE", "MASTER", "TIMING", "RX", "TX", "DROPS", "REASON")
    rows = [header]
    for v in doc.get("vhids", []):
        timing = "%d/%d" % (v["advbase"], v["advskew"])
        if v.get("demote"):
            timing += " d%d" % v["demote"]
        rows.append((v["name"], v["device"], str(v["vhid"]), v["state"], _clock(v["since"]),
                     v.get("master") or "-", timing, str(v["rx"]), str(v["tx"]),
                     str(sum(v.get("drops", {}).values())), v["reason"]))
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = []
    for r in rows:
        # MicroPython's str has no ljust()
        cells = [r[i] + " " * (widths[i] - len(r[i])) for i in range(len(header) - 1)] + [r[-1]]
        lines.append("  ".join(cells))
    drops = doc.get("drops") or {}
    if drops:
        lines.append("dropped: " + ", ".join("%s %d" % (k, drops[k]) for k in sorted(drops)))
    mem = doc.get("memory")
    if mem:
        lines.append("heap: %d of %d KB used" % (mem["heap_used"] // 1024, mem["heap_size"] // 1024))
    lines.append("updated %s" % _clock(doc.get("updated", 0)))
    return "\n".join(lines)


PID_FILE = "carpd.pid"  # the launcher's, beside the status file
FRESH_WAIT_MS = 1500


def _sequence(path):
    try:
        return read(path).get("sequence")
    except (OSError, ValueError):
        return None


def ask_for_fresh(path):
    """The daemon writes its counters only now and then: ask it (SIGUSR1 to
    the launcher, whose PID is beside the file) for a fresh document and wait
    until one is there, or FRESH_WAIT_MS. No daemon (or another file): nothing."""
    directory = path.rsplit("/", 1)[0] if "/" in path else "."
    try:
        with open(directory + "/" + PID_FILE) as f:
            pid = int(f.read().strip())
    except (OSError, ValueError):
        return
    before = _sequence(path)
    try:
        import signal
        os.kill(pid, signal.SIGUSR1)
    except ImportError:  # MicroPython
        if os.system("kill -USR1 %d 2>/dev/null" % pid) != 0:
            return
    except OSError:
        return
    sleep_ms = getattr(time, "sleep_ms", None) or (lambda ms: time.sleep(ms / 1000))
    for _ in range(FRESH_WAIT_MS // 50):
        sleep_ms(50)
        if _sequence(path) != before:
            return


def main(argv):
    """carp status [--json] [-f FILE]"""
    path = location()
    as_json = False
    i = 0
    while i < len(argv):
        if argv[i] == "--json":
            as_json = True
        elif argv[i] in ("-f", "--file") and i + 1 < len(argv):
            i += 1
            path = argv[i]
        else:
            sys.stderr.write("usage: carp status [--json] [-f FILE]\n")
            return 2
        i += 1
    ask_for_fresh(path)
    try:
        doc = read(path)
    except OSError:
        sys.stderr.write("carp: no status at %s: is carpd running?\n" % path)
        return 1
    except ValueError as e:
        sys.stderr.write("carp: %s is not valid status JSON: %s\n" % (path, e))
        return 1
    print(json.dumps(doc) if as_json else table(doc))
    return 0
