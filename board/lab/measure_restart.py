#!/usr/bin/env python3
"""A master that crashes and is respawned, in the lab:
r1 (advskew 0, master) and r2 (advskew 100), both preempting; r1's daemon
is killed with SIGKILL (its VIP stays on lan0) and started again after
--respawn seconds, as procd does (procd waits 5 s by default). Prints, per
run, how long the VIP was on no router (pyroute2, polled every 10 ms), the
client's longest gap between ping replies (every 20 ms), and who holds
the VIP in the end. docs/local-surface.md has the results.

    python3 -m board.lab.measure_restart [--python micropython|python3] [--runs 3] [--respawn 0.5]
"""
import argparse
import os
import pathlib
import signal
import sys
import tempfile
import time

from board.lab.carplab import Lab
from board.lab.carpctl import Kernel, daemon_of, start_carp
from board.lab.demo import longest_gap_ms, reply_times


def run(interpreter, respawn, tmp):
    with Lab() as lab, Kernel(lab) as kernel:
        r1 = start_carp(lab, "r1", interpreter, 0, tmp)
        start_carp(lab, "r2", interpreter, 100, tmp)
        if kernel.wait_holders(["r1"], 8.0) is None:
            return None
        ping_log = str(tmp / "ping.log")
        lab.start("c1", ["ping", "-4", "-D", "-n", "-i", "0.02", "-W", "1", lab.vip], log=ping_log)
        time.sleep(1.5)
        killed_wall, killed = time.time(), time.monotonic()
        os.kill(daemon_of(r1), signal.SIGKILL)
        nobody = 0.0
        respawned = False
        last = killed
        while time.monotonic() - killed < respawn + 8.0:
            now = time.monotonic()
            if not respawned and now - killed >= respawn:
                r1.wait(5)
                start_carp(lab, "r1", interpreter, 0, tmp)
                respawned = True
            holders = kernel.holders()
            if not holders:
                nobody += now - last
            last = now
            time.sleep(0.01)
        gap = longest_gap_ms(reply_times(ping_log), killed_wall, time.time())
        return nobody * 1000, gap, kernel.holders()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--python", choices=("micropython", "python3"), default="micropython")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--respawn", type=float, default=0.5, help="seconds from the kill to the new start")
    args = parser.parse_args()
    interpreter = "micropython" if args.python == "micropython" else "cpython"
    for n in range(args.runs):
        with tempfile.TemporaryDirectory() as tmp:
            result = run(interpreter, args.respawn, pathlib.Path(tmp))
        if result is None:
            print("%s run %d: no master to start with" % (args.python, n + 1))
            continue
        nobody, gap, holders = result
        print("%s run %d: respawn after %.1f s: VIP on no router for %.0f ms, client's longest gap %s ms, "
              "then held by %s" % (args.python, n + 1, args.respawn, nobody,
                                   "%.0f" % gap if gap is not None else "-", "+".join(holders) or "nobody"))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
