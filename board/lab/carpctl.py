"""Running carpd, ucarp and probes in the lab, and checking the outcome with
pyroute2 (an independent view of the kernel, not our own netlink code)."""
import os
import socket
import time

from pyroute2 import NetNS

from tests.tools import CARPD, INTERPRETERS, command

PASSPHRASE = "lab-secret"
VHID = 1


def start_carp(lab, node, interpreter, advskew, tmp_path, extra=(), vhid=VHID, passphrase=PASSPHRASE, env=None):
    """carpd through its launcher, as procd runs it; log in tmp_path/<node>.log."""
    argv = [CARPD, "-i", lab.dev, "-s", lab.ip[node], "-v", str(vhid), "-p", passphrase,
            "-a", "%s/%d" % (lab.vip, lab.prefix), "-b", "1", "-k", str(advskew), "-P"] + list(extra)
    log = str(tmp_path / ("%s-carp.log" % node))
    proc = lab.start(node, argv, env=dict(env or {}, CARP_PYTHON=INTERPRETERS[interpreter]()), log=log)
    proc.log_path = log
    return proc


def daemon_of(launcher):
    """PID of the interpreter (`-m carp`) that the carpd launcher started."""
    for task in os.listdir("/proc/%d/task" % launcher.pid):
        with open("/proc/%d/task/%s/children" % (launcher.pid, task)) as f:
            for child in f.read().split():
                with open("/proc/%s/cmdline" % child, "rb") as c:
                    if b"\0-m\0carp" in c.read():
                        return int(child)
    raise RuntimeError("no daemon under launcher %d" % launcher.pid)


def log_of(proc):
    with open(proc.log_path) as f:
        return f.read()


class Kernel:
    """Open pyroute2 handles on the lab's namespaces, for fast polling."""

    def __init__(self, lab, nodes=("r1", "r2", "c1")):
        self.lab = lab
        self.handles = {node: NetNS(lab.ns[node]) for node in nodes}

    def close(self):
        for h in self.handles.values():
            h.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def addresses(self, node, family=socket.AF_INET):
        return [a.get_attr("IFA_ADDRESS") for a in self.handles[node].get_addr(family=family)]

    def holders(self, addr=None):
        addr = addr or self.lab.vip
        family = socket.AF_INET6 if ":" in addr else socket.AF_INET
        return [n for n in ("r1", "r2") if n in self.handles and addr in self.addresses(n, family)]

    def neighbour_mac(self, node, addr):
        family = socket.AF_INET6 if ":" in addr else socket.AF_INET
        for n in self.handles[node].get_neighbours(family=family):
            if n.get_attr("NDA_DST") == addr:
                return n.get_attr("NDA_LLADDR")
        return None

    def wait_holders(self, expected, timeout, addr=None):
        """Poll until exactly `expected` hold the VIP; -> seconds it took, or None."""
        start = time.monotonic()
        if self.lab.wait_for(lambda: self.holders(addr) == expected, timeout, interval=0.01):
            return time.monotonic() - start
        return None

    def steady_holders(self, expected, seconds, addr=None):
        """True if exactly `expected` hold the VIP at every sample for `seconds`."""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if self.holders(addr) != expected:
                return False
            time.sleep(0.05)
        return True


def ping(lab, node, addr, count=3, interval="0.2"):
    r = lab.run(node, ["ping", "-n", "-c", str(count), "-i", interval, "-W", "1", addr], check=False)
    return r.returncode == 0


def write_script(path, body):
    path.write_text("#!/bin/sh\n" + body)
    os.chmod(str(path), 0o755)
    return str(path)


def uci_text(sections, status_interval=1):
    """A /etc/config/carp: globals plus one `config vhid` per (name, options)."""
    lines = ["config globals 'globals'", "\toption enabled '1'"]
    if status_interval is not None:  # None: the package's default
        lines.append("\toption status_interval '%d'" % status_interval)
    lines.append("")
    for name, options in sections:
        lines.append("config vhid '%s'" % name)
        for key, value in options:
            if isinstance(value, (list, tuple)):
                lines.extend("\tlist %s '%s'" % (key, v) for v in value)
            else:
                lines.append("\toption %s '%s'" % (key, value))
        lines.append("")
    return "\n".join(lines)


def run_dir(tmp_path, node):
    """The router's CARP_RUN_DIR, for its status file: namespaces share the
    filesystem, so each router needs its own."""
    return tmp_path / ("%s-run" % node)


def start_carp_uci(lab, node, interpreter, tmp_path, sections, status_interval=1):
    """carpd reading a UCI file of its own, its status in run_dir()."""
    conf = tmp_path / ("%s.uci" % node)
    conf.write_text(uci_text(sections, status_interval))
    log = str(tmp_path / ("%s-carp.log" % node))
    env = {"CARP_PYTHON": INTERPRETERS[interpreter](), "CARP_RUN_DIR": str(run_dir(tmp_path, node))}
    proc = lab.start(node, [CARPD, "-c", str(conf)], env=env, log=log)
    proc.log_path = log
    proc.conf = conf
    proc.status_file = run_dir(tmp_path, node) / "status.json"
    return proc


def ping6(lab, node, addr, count=3, interval="0.2"):
    r = lab.run(node, ["ping", "-6", "-n", "-c", str(count), "-i", interval, "-W", "1", addr], check=False)
    return r.returncode == 0


def start_ucarp(lab, node, advskew, tmp_path, preempt=True):
    up = write_script(tmp_path / "vip-up", 'exec ip addr add "$2/%d" dev "$1"\n' % lab.prefix)
    down = write_script(tmp_path / "vip-down", 'exec ip addr del "$2/%d" dev "$1" 2>/dev/null\n' % lab.prefix)
    argv = [command("ucarp"), "-i", lab.dev, "-s", lab.ip[node], "-v", str(VHID), "-p", PASSPHRASE,
            "-a", lab.vip, "-b", "1", "-k", str(advskew), "-u", up, "-d", down, "-z", "-D", "-f", "none"]
    if preempt:
        argv.append("-P")
    log = str(tmp_path / ("%s-ucarp.log" % node))
    proc = lab.start(node, argv, log=log)
    proc.log_path = log
    return proc
