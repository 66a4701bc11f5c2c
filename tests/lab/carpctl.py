"""Running carpd, ucarp and probes in the lab, and checking the outcome with
pyroute2 (an independent view of the kernel, not our own netlink code)."""
import os
import socket
import time

from pyroute2 import NetNS

from tools import CARPD, INTERPRETERS

PASSPHRASE = "lab-secret"
VHID = 1


def start_carp(lab, node, interpreter, advskew, tmp_path, extra=(), vhid=VHID, passphrase=PASSPHRASE):
    """carpd through its launcher, as procd runs it; log in tmp_path/<node>.log."""
    argv = [CARPD, "-i", lab.dev, "-s", lab.ip[node], "-v", str(vhid), "-p", passphrase,
            "-a", "%s/%d" % (lab.vip, lab.prefix), "-b", "1", "-k", str(advskew), "-P"] + list(extra)
    log = str(tmp_path / ("%s-carp.log" % node))
    proc = lab.start(node, argv, env={"CARP_PYTHON": INTERPRETERS[interpreter]()}, log=log)
    proc.log_path = log
    return proc


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

    def addresses(self, node):
        return [a.get_attr("IFA_ADDRESS") for a in self.handles[node].get_addr(family=socket.AF_INET)]

    def holders(self, addr=None):
        addr = addr or self.lab.vip
        return [n for n in ("r1", "r2") if n in self.handles and addr in self.addresses(n)]

    def neighbour_mac(self, node, addr):
        for n in self.handles[node].get_neighbours(family=socket.AF_INET):
            if n.get_attr("NDA_DST") == addr:
                return n.get_attr("NDA_LLADDR")
        return None

    def wait_holders(self, expected, timeout):
        """Poll until exactly `expected` hold the VIP; -> seconds it took, or None."""
        start = time.monotonic()
        if self.lab.wait_for(lambda: self.holders() == expected, timeout, interval=0.01):
            return time.monotonic() - start
        return None

    def steady_holders(self, expected, seconds):
        """True if exactly `expected` hold the VIP at every sample for `seconds`."""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if self.holders() != expected:
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
