#!/usr/bin/env python3
"""How fast tracking reacts, in the lab: r1 (master, tracks its second
interface as its uplink) and r2 (backup); pull r1's uplink cable and time
until r2's kernel holds the VIP. Also a healed multicast partition: time
from unblocking until one master is left. Prints one line per run.

    python3 -m board.lab.measure_tracking [--python micropython|python3] [--runs 3]
"""
import argparse
import pathlib
import sys
import tempfile
import time

from board.lab.carplab import Lab
from board.lab.carpctl import PASSPHRASE, Kernel, start_carp_uci


def vhid(lab, skew, **extra):
    options = [("device", lab.dev), ("vhid", 1), ("password", PASSPHRASE), ("advskew", skew), ("preempt", 1),
               ("address", ["%s/%d" % (lab.vip, lab.prefix)])] + list(extra.items())
    return [("lan", options)]


def uplink_run(interpreter, tmp):
    with Lab(lans=2) as lab, Kernel(lab) as kernel:
        start_carp_uci(lab, "r1", interpreter, tmp, vhid(lab, 0, track_interface=[lab.lan(1).dev]))
        start_carp_uci(lab, "r2", interpreter, tmp, vhid(lab, 100))
        if kernel.wait_holders(["r1"], 8.0) is None:
            return None
        time.sleep(1.0)
        lab.cable("r1", False, lan=1)
        return kernel.wait_holders(["r2"], 5.0)


def partition_run(interpreter, tmp):
    with Lab() as lab, Kernel(lab) as kernel:
        lab.block_carp_multicast(True)
        start_carp_uci(lab, "r1", interpreter, tmp, vhid(lab, 0))
        start_carp_uci(lab, "r2", interpreter, tmp, vhid(lab, 100))
        if kernel.wait_holders(["r1", "r2"], 8.0) is None:
            return None
        lab.block_carp_multicast(False)
        return kernel.wait_holders(["r1"], 5.0)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--python", choices=("micropython", "python3"), default="micropython")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    interpreter = "micropython" if args.python == "micropython" else "cpython"
    for run in range(args.runs):
        with tempfile.TemporaryDirectory() as tmp:
            up = uplink_run(interpreter, pathlib.Path(tmp))
        with tempfile.TemporaryDirectory() as tmp:
            part = partition_run(interpreter, pathlib.Path(tmp))
        print("%s run %d: uplink down -> VIP on r2 after %s ms; partition healed -> one master after %s ms" % (
            args.python, run + 1, "%.0f" % (up * 1000) if up is not None else "-",
            "%.0f" % (part * 1000) if part is not None else "-"))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
