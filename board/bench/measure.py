"""What the benchmark reads off the lab: the client's probe, the wire, and
the kernel's accounting of a process tree. Nothing here asks a daemon how
it is doing; the kernel and the client say."""
import os
import re
import signal
import time

from board.lab.demo import longest_gap_ms, reply_times  # the demo reads `ping -D` the same way

PROBE_INTERVAL = "0.01"   # s between the client's echo requests
PROBE_DEADLINE = 120      # s: ping ends by itself even if we could not stop it


class Probe:
    """c1 pings the VIP every 10 ms (ping -D stamps each reply) and tcpdump
    on c1 records every protocol-112 packet (CARP and VRRP alike)."""

    def __init__(self, lab, tmp, vip):
        self.lab, self.vip = lab, vip
        self.ping_log = str(tmp / "c1-ping.log")
        self.pcap = str(tmp / "c1-adverts.pcap")
        self.dump_log = str(tmp / "c1-tcpdump.log")
        self.ping = self.dump = None

    def start(self):
        lab = self.lab
        self.dump = lab.start("c1", ["tcpdump", "-i", lab.dev, "--immediate-mode", "-n", "-U", "-w", self.pcap, "ip proto 112"],
                              log=self.dump_log)
        if not lab.wait_for(lambda: "listening on" in _read(self.dump_log), 5):
            raise RuntimeError("tcpdump did not start: " + _read(self.dump_log))
        self.ping = lab.start("c1", ["ping", "-4", "-D", "-n", "-i", PROBE_INTERVAL, "-W", "1",
                                     "-w", str(PROBE_DEADLINE), self.vip], log=self.ping_log)
        if not lab.wait_for(lambda: self.replies(), 5):
            raise RuntimeError("the client gets no reply from the VIP")

    def stop(self):
        if self.ping is not None:
            self.lab.stop(self.ping, signal.SIGINT)
        if self.dump is not None:
            self.lab.stop(self.dump, signal.SIGINT)

    def replies(self):
        return reply_times(self.ping_log) if os.path.exists(self.ping_log) else []

    def outage_ms(self, since):
        """Longest silence between replies from the last one before `since`
        on; None if no reply came after it."""
        return longest_gap_ms(self.replies(), since, float("inf"))

    def adverts(self):
        """[(time, source IPv4)] of every protocol-112 packet captured."""
        from tests.pcapfile import frames
        out = []
        for ts, frame in frames(self.pcap):
            if len(frame) >= 34 and frame[12:14] == b"\x08\x00" and frame[23] == 112:
                out.append((ts, "%d.%d.%d.%d" % tuple(frame[26:30])))
        return out

    def takeover_ms(self, old, new, since):
        """From the old master's last advertisement before the new master's
        first one (after `since`) to that first one."""
        packets = self.adverts()
        first_new = next((t for t, src in packets if src == new and t >= since), None)
        if first_new is None:
            return None
        last_old = [t for t, src in packets if src == old and t <= first_new]
        return (first_new - last_old[-1]) * 1000 if last_old else None


def _read(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def process_tree(root):
    """PIDs of root and all its descendants (keepalived's VRRP child,
    carpd's interpreter and hook worker)."""
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, ()))
    return found


class Usage:
    """CPU time (ns, from schedstat), voluntary context switches (each one a
    sleep the process woke from) and RSS of a process tree, summed over all
    its threads."""

    def __init__(self, root):
        self.root = root

    def sample(self):
        cpu_ns = wakeups = rss_kb = 0
        for pid in process_tree(self.root):
            try:
                with open("/proc/%d/status" % pid) as f:
                    status = f.read()
                rss_kb += int(re.search(r"VmRSS:\s+(\d+)", status).group(1)) if "VmRSS" in status else 0
                for tid in os.listdir("/proc/%d/task" % pid):
                    with open("/proc/%d/task/%s/schedstat" % (pid, tid)) as f:
                        cpu_ns += int(f.read().split()[0])
                    with open("/proc/%d/task/%s/status" % (pid, tid)) as f:
                        wakeups += int(re.search(r"voluntary_ctxt_switches:\s+(\d+)", f.read()).group(1))
            except (OSError, AttributeError):
                continue   # a short-lived hook process came and went
        return {"t": time.monotonic(), "cpu_ns": cpu_ns, "wakeups": wakeups, "rss_kb": rss_kb}


def tx_packets(lab, node, dev=None):
    """Packets node has sent on its LAN interface, per the kernel."""
    dev = dev or lab.dev
    return int(lab.run(node, ["cat", "/sys/class/net/%s/statistics/tx_packets" % dev]).stdout)
