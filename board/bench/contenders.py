"""The daemons the benchmark compares, each started the way its users run
it, on r1 (preferred) or r2 (backup) of the lab:

  carp-mpy   firmware/carpd on MicroPython, from .mpy files as the `carp`
             package installs them, configured by UCI
  carp-cpy   the same on CPython (the `carp-python3` package)
  ucarp      ucarp 1.5.2 with up/down scripts that add and remove the VIP
  keepalived keepalived (Debian) VRRPv2 at advert_int 1, or VRRPv3 at
             advert_int 0.1 in the sub-second scenarios

Timing is matched across them: in "1 s" mode r1 advertises every second
(advskew 0, priority 200) and r2 takes over after about 3.4 s (advskew 100:
3 + 100/256 s; priority 100: 3 + 156/256 s); in sub-second mode r1
advertises every 0.1 s (advbase 0 advskew 26 = 102 ms; advert_int 0.1) and
r2 takes over after about 0.35 s (advbase 0 advskew 30: 3 x 30/256 s =
352 ms, OpenBSD's rule; ucarp, whose rule is 3 x advbase + advskew/256,
gets advskew 90 for the same 352 ms; keepalived 3 x 0.1 + 156/256 x 0.1 =
361 ms)."""
import json
import os
import shutil
import signal
import time
from pathlib import Path

from board.lab.carpctl import run_dir, uci_text

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]

CARPD = str(REPO / "firmware" / "carpd")
PASSPHRASE = "bench-secret"
SKEW = {"1s": {"r1": 0, "r2": 100}, "fast": {"r1": 26, "r2": 30}}
PRIORITY = {"r1": 200, "r2": 100}
UCARP_FAST_BACKUP_SKEW = 90
STATUS_INTERVAL = 60  # the package's default: counters refreshed at most once a minute


def extra_vips(lab, count):
    """VIPs for vhids 2..count, next to the lab's own VIP."""
    base = lab.vip.rsplit(".", 1)[0]
    return ["%s.%d" % (base, 250 - i) for i in range(count - 1)]


class Running:
    """One daemon started in the lab: its process, where it logs, and for
    carp where its status file is."""

    def __init__(self, proc, log, status_file=None):
        self.proc, self.log, self.status_file = proc, log, status_file

    def log_text(self):
        with open(self.log, errors="replace") as f:
            return f.read()

    def fresh_status(self, timeout=5.0):
        """carp's status document, written anew on request (SIGUSR1 to the
        launcher, as `carp status` does); None if none came."""
        def sequence():
            try:
                return json.loads(self.status_file.read_text()).get("sequence")
            except (OSError, ValueError):
                return None
        before = sequence()
        try:
            os.kill(self.proc.pid, signal.SIGUSR1)
        except OSError:
            return None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if sequence() not in (None, before):
                return json.loads(self.status_file.read_text())
            time.sleep(0.05)
        return None


class Contender:
    name = label = protocol = ""
    tracks = False      # can demote itself when an uplink goes down

    def protocol_for(self, mode):
        """What it speaks on the wire in that mode (the flood's packets)."""
        return self.protocol

    def start(self, lab, node, tmp, mode="1s", track=None, vhids=1):
        raise NotImplementedError


class Carp(Contender):
    protocol = "carp"
    tracks = True

    def __init__(self, name, label, interpreter, lib=None):
        self.name, self.label, self.interpreter, self.lib = name, label, interpreter, lib

    def start(self, lab, node, tmp, mode="1s", track=None, vhids=1, heap=None, vmac=False):
        advbase = 1 if mode == "1s" else 0
        sections = []
        vips = [lab.vip] + extra_vips(lab, vhids)
        for i, vip in enumerate(vips):
            options = [("device", lab.dev), ("vhid", i + 1), ("password", PASSPHRASE), ("advbase", advbase),
                       ("advskew", SKEW[mode][node]), ("preempt", 1), ("address", ["%s/%d" % (vip, lab.prefix)])]
            if track:
                options.append(("track_interface", [track]))
            if vmac:
                options.append(("vmac", 1))
            sections.append(("v%d" % (i + 1), options))
        conf = tmp / ("%s.uci" % node)
        status_file = run_dir(tmp, node) / "status.json"
        # the package's default status interval (the lab tests use 1 s)
        conf.write_text(uci_text(sections).replace(
            "option status_interval '1'", "option status_interval '%d'" % STATUS_INTERVAL))
        log = str(tmp / ("%s-%s.log" % (node, self.name)))
        env = {"CARP_PYTHON": self.interpreter, "CARP_RUN_DIR": str(run_dir(tmp, node))}
        if heap:
            env["CARP_HEAP"] = heap   # the launcher's -X heapsize
        if self.lib:
            env["CARP_LIB"] = self.lib
        return Running(lab.start(node, [CARPD, "-c", str(conf)], env=env, log=log), log, status_file)


class Ucarp(Contender):
    name = label = "ucarp"
    protocol = "carp"

    def start(self, lab, node, tmp, mode="1s", track=None, vhids=1):
        if track or vhids != 1:
            raise ValueError("ucarp runs one vhid and tracks nothing")
        up, down = tmp / "vip-up", tmp / "vip-down"
        up.write_text('#!/bin/sh\nexec ip addr add "$2/%d" dev "$1"\n' % lab.prefix)
        down.write_text('#!/bin/sh\nexec ip addr del "$2/%d" dev "$1" 2>/dev/null\n' % lab.prefix)
        for script in (up, down):
            os.chmod(str(script), 0o755)
        argv = [shutil.which("ucarp") or "ucarp", "-i", lab.dev, "-s", lab.ip[node], "-v", "1",
                "-p", PASSPHRASE, "-a", lab.vip, "-b", "1" if mode == "1s" else "0",
                "-k", str(UCARP_FAST_BACKUP_SKEW if (mode, node) == ("fast", "r2") else SKEW[mode][node]), "-P", "-u", str(up), "-d", str(down), "-z", "-f", "none"]
        log = str(tmp / ("%s-ucarp.log" % node))
        return Running(lab.start(node, argv, log=log), log)


class Floor(Contender):
    """Not a daemon: floor.py under carp-mpy's interpreter, the least a CARP
    daemon in it must do at rest (a poll and a read, or a poll and a send,
    per advertisement). The idle scenario only; r1 holds the VIP from the
    start (nothing takes it over)."""
    name = "mpy-floor"

    def __init__(self, interpreter, label):
        self.interpreter, self.label = interpreter, label

    def start(self, lab, node, tmp, mode="1s", track=None, vhids=1):
        if track or vhids != 1:
            raise ValueError("the floor runs one vhid and tracks nothing")
        role = "master" if node == "r1" else "backup"
        if role == "master":
            lab.run(node, ["ip", "addr", "add", "%s/%d" % (lab.vip, lab.prefix), "dev", lab.dev])
        firmware = str(REPO / "firmware")
        env = {"MICROPYPATH": firmware + ":.frozen", "PYTHONPATH": firmware}
        log = str(tmp / ("%s-floor.log" % node))
        argv = [self.interpreter, str(HERE / "floor.py"), role, lab.dev, "1000" if mode == "1s" else "102"]
        return Running(lab.start(node, argv, env=env, log=log), log)


KEEPALIVED_CONF = """global_defs {
    router_id %(node)s
    enable_script_security
}
"""
KEEPALIVED_INSTANCE = """vrrp_instance V%(vrid)d {
    state BACKUP
    interface %(dev)s
    virtual_router_id %(vrid)d
    priority %(priority)d
    advert_int %(advert)s
    %(track)s
    virtual_ipaddress {
        %(vip)s/%(prefix)d
    }
}
"""


class Keepalived(Contender):
    name = label = "keepalived"
    tracks = True

    def protocol_for(self, mode):
        return "vrrp2" if mode == "1s" else "vrrp3"

    def start(self, lab, node, tmp, mode="1s", track=None, vhids=1):
        version = 2 if mode == "1s" else 3
        text = KEEPALIVED_CONF % {"node": node}
        text = text.replace("}\n", "    vrrp_version %d\n}\n" % version, 1)
        vips = [lab.vip] + extra_vips(lab, vhids)
        for i, vip in enumerate(vips):
            text += KEEPALIVED_INSTANCE % {
                "vrid": i + 1, "dev": lab.dev, "priority": PRIORITY[node],
                "advert": "1" if mode == "1s" else "0.1", "vip": vip, "prefix": lab.prefix,
                "track": ("track_interface {\n        %s\n    }" % track) if track else ""}
        conf = tmp / ("%s-keepalived.conf" % node)
        conf.write_text(text)
        pids = [str(tmp / ("%s-keepalived.%s.pid" % (node, what))) for what in ("main", "vrrp", "checkers")]
        argv = [shutil.which("keepalived") or "keepalived", "-n", "-l", "-D", "-P", "-f", str(conf),
                "-p", pids[0], "-r", pids[1], "-c", pids[2]]
        log = str(tmp / ("%s-keepalived.log" % node))
        return Running(lab.start(node, argv, log=log), log)

