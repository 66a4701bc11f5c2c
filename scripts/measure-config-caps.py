#!/usr/bin/env python3
"""How long one vhid with N values of a list option takes to read and
validate (issue 13: a reload runs inside the event loop). Runs on both
interpreters:

    PYTHONPATH=firmware python3 scripts/measure-config-caps.py 16000 address
    MICROPYPATH=firmware micropython -X heapsize=64M scripts/measure-config-caps.py 16000 peer

Prints the parse and validation times and the verdict. uciconfig.load()
refuses such a file (over 64 KiB) before parsing it; this parses it anyway
to time the validation alone.
"""
import sys
import time

from carp import uci, uciconfig


def main():
    count, option = int(sys.argv[1]), sys.argv[2]
    text = "config vhid 'lan'\n\toption device 'br-lan'\n\toption vhid '1'\n"
    if option != "address":
        text += "\tlist address '192.168.1.254/24'\n"
    text += "".join("\tlist %s '10.%d.%d.%d'\n" % (option, i >> 16 & 255, i >> 8 & 255, i & 255)
                    for i in range(1, count + 1))
    started = time.time()
    sections = uci.parse(text)
    parsed = time.time()
    try:
        uciconfig.from_sections(sections)
        verdict = "accepted"
    except uciconfig.ConfigErrors as e:
        verdict = "refused: %s" % str(e).split("\n")[0][:90]
    done = time.time()
    print("%s, %d x %s: parse %.2f s, validate %.3f s, %s" % (
        sys.implementation.name, count, option, parsed - started, done - parsed, verdict))


main()
