"""Status: a JSON document the daemon writes atomically, and `carp status`.

The daemon rewrites the file on every transition and every few seconds;
readers (the CLI, ubus, LuCI) never see a half-written file because it is
written next to the target and renamed over it. No passphrase in it, ever.
"""
import json
import os
import sys
import time

from carp import VERSION, machine

DEFAULT_PATH = "/var/run/carp/status.json"


def group_status(group, drop_reasons):
    m = group.machine
    cfg = group.cfg
    drops = {}
    for i, count in enumerate(group.drops):
        if count:
            drops[drop_reasons[i]] = count
    return {
        "name": cfg.name,
        "device": cfg.device,
        "vhid": cfg.vhid,
        "state": m.state_name(),
        "previous": machine.STATE_NAMES[m.previous],
        "since": group.since,
        "reason": m.reason,
        "transitions": group.transitions,
        "conflicts": group.conflicts,
        "last_conflict": group.last_conflict,
        "master": group.master_text(),
        "source": group.source_text(),
        "addresses": [v.text for v in cfg.vips],
        "peers": [p for p in _peer_texts(cfg)],
        "advbase": m.advbase,
        "advskew": m.advskew,
        "advertised_advskew": m.advertised_skew(),
        "demote": m.demote,
        "group": cfg.group,
        "demotion_reasons": group.demotion_reasons,
        "preempt": m.preempt,
        "master_down_ms": m.master_down_ms(),
        "seen": {"address": group.peer_text(), "advbase": m.peer_advbase,
                 "advskew": m.peer_advskew, "demote": m.peer_demote} if group.peer_len else None,
        "rx": group.rx,
        "tx": group.tx,
        "tx_errors": group.tx_errors,
        "drops": drops,
    }


def _tracker(t):
    what = ("ping " + t.target) if hasattr(t, "target") else ("carrier " + t.device)
    return {"what": what, "group": t.group, "failed": t.failed, "why": t.why}


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


def document(daemon):
    drops = {}
    for i, count in enumerate(daemon.drops):
        if count:
            drops[daemon.DROP_REASONS[i]] = count
    hooks = daemon.hooks
    return {
        "version": VERSION,
        "updated": int(time.time()),
        "drops": drops,
        # packets per second read in the last 100 ms window, and how many
        # windows the loop spent pacing its reads because of a flood
        "load": {"packets_per_s": daemon.packets_per_s, "flood_windows": daemon.floods},
        # drops count what reached the daemon; Linux counts nothing a socket
        # filter drops, so say what the kernel keeps out before that
        "kernel_filter": KERNEL_FILTER,
        "hooks": {"sent": hooks.sent, "dropped": hooks.dropped} if hooks is not None else None,
        "trackers": [_tracker(t) for t in daemon.trackers],
        "vhids": [group_status(g, daemon.DROP_REASONS) for g in daemon.groups],
        "memory": memory(),
    }


def _makedirs(path):
    parts = path.split("/")[:-1]
    current = ""
    for part in parts:
        if not part:
            continue
        current += "/" + part
        try:
            os.mkdir(current)
        except OSError:
            pass  # exists (or cannot be made: the open below says why)


def write(path, doc):
    """Write doc as JSON to path atomically (temporary file, then rename)."""
    temporary = path + ".tmp"
    try:
        f = open(temporary, "w")
    except OSError:  # the directory is missing (a fresh /var/run)
        _makedirs(path)
        f = open(temporary, "w")
    with f:
        f.write(json.dumps(doc))
        f.write("\n")
    os.rename(temporary, path)


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


def main(argv):
    """carp status [--json] [-f FILE]"""
    path = DEFAULT_PATH
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
