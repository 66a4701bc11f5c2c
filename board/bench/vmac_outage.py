"""The client's outage with and without the virtual MAC (option vmac), on a
cable pull and a bow-out (SIGTERM), with the gratuitous ARP of the takeover
reaching the client or dropped at the switch. carp on MicroPython only: the
question is what the option buys, not how the daemons compare."""
import signal
import tempfile
import time
from pathlib import Path

from board.lab.carplab import Lab
from board.lab.carpctl import Kernel
from board.bench.measure import Probe

EVENTS = ("link", "stop")
# Without vmac and without gratuitous ARP the client waits for its neighbour
# entry to go stale (15..45 s, then 5 s of probes): report "more than" this.
GIVE_UP = 20.0
ELECTION_TIMEOUT = 12.0


def outage_run(contender, event, vmac, garp, tmp):
    """-> outage in ms, or None when no reply came within GIVE_UP s."""
    with Lab() as lab, Kernel(lab) as kernel:
        if not garp:
            lab.block_gratuitous_arp(True, [lab.vip])
        r1 = contender.start(lab, "r1", tmp, vmac=vmac)
        r2 = contender.start(lab, "r2", tmp, vmac=vmac)
        if kernel.wait_holders(["r1"], ELECTION_TIMEOUT) is None:
            raise RuntimeError("r1 never became master\n" + r1.log_text()[-2000:] + r2.log_text()[-2000:])
        time.sleep(1.0)
        probe = Probe(lab, tmp, lab.vip)
        try:
            probe.start()
            time.sleep(0.5)
            t_event = time.time()
            if event == "stop":
                lab.stop(r1.proc, signal.SIGTERM, timeout=5)
            else:
                lab.cable("r1", False)
            lab.wait_for(lambda: any(t > t_event + 0.05 for t in probe.replies()) and "r2" in kernel.holders(),
                         GIVE_UP, interval=0.05)
            time.sleep(0.3)
        finally:
            probe.stop()
        replies = [t for t in probe.replies() if t > t_event]
        return probe.outage_ms(t_event) if replies else None


def session(contender, runs, tmp_dir, say):
    """{"link"|"stop": {"vmac"|"no-vmac": {"garp"|"no-garp": [ms or None]}}}"""
    out = {}
    for event in EVENTS:
        for vmac in (True, False):
            for garp in (True, False):
                cell = out.setdefault(event, {}).setdefault("vmac" if vmac else "no-vmac", {}).setdefault(
                    "garp" if garp else "no-garp", [])
                for i in range(runs):
                    ms = outage_run(contender, event, vmac, garp, Path(tempfile.mkdtemp(dir=str(tmp_dir))))
                    cell.append(ms)
                    say("vmac %s %s %s run %d: client outage %s" % (
                        event, "on" if vmac else "off", "garp" if garp else "no garp", i + 1,
                        "%.0f ms" % ms if ms is not None else "> %d s" % GIVE_UP))
    return out


def markdown(result):
    if not result:
        return ""
    label = {"link": "cable pull", "stop": "bow-out (SIGTERM)"}
    lines = ["", "Client outage with the virtual MAC (carp-mpy, median ms; `>%d s`: no reply by then):" % GIVE_UP, "",
             "| event | vmac, gratuitous ARP | vmac, ARP dropped | no vmac, gratuitous ARP | no vmac, ARP dropped |",
             "|---|---|---|---|---|"]
    for event in EVENTS:
        by = result.get(event)
        if not by:
            continue
        cells = []
        for v in ("vmac", "no-vmac"):
            for g in ("garp", "no-garp"):
                values = by[v][g]
                if any(x is None for x in values) or not values:
                    cells.append(">%d s" % GIVE_UP)
                else:
                    values = sorted(values)
                    cells.append("%.0f" % values[len(values) // 2])
        lines.append("| %s | %s |" % (label[event], " | ".join(cells)))
    return "\n".join(lines) + "\n"
