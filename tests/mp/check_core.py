"""Run on MicroPython: the wire codec against the ucarp captures, the
pure-Python SHA-1, the state machine in virtual time, and config errors.
Prints one line per check and 'ALL OK' at the end; exits 1 on failure.
Usage: micropython check_core.py VECTORS_DIR
"""
import socket
import sys

from carp import cli, clock, config, machine, sha1, wire
from tests import pcapfile
from tests.sim import Lan, Router

failures = []


def check(name, ok):
    print(("ok   " if ok else "FAIL ") + name)
    if not ok:
        failures.append(name)


def ip4(text):
    return bytes(socket.inet_pton(socket.AF_INET, text))


vectors = sys.argv[1]
keys = {"ucarp_single.pcap": (42, b"love", "10.77.0.252"),
        "ucarp_tie.pcap": (7, b"secret", "10.77.0.100"),
        "ucarp_bowout.pcap": (7, b"secret", "10.77.0.100")}
for name in sorted(keys):
    vhid, key, vip = keys[name]
    packets = pcapfile.carp_packets(vectors + "/" + name)
    hm = wire.HmacSha1(key)
    prefix = wire.mac_prefix(vhid, [ip4(vip)], [])
    good = [p for p in packets if wire.Advert(p.carp).checksum_ok and wire.Advert(p.carp).mac_valid(hm, prefix)]
    check("%s: %d/%d packets valid" % (name, len(good), len(packets)), len(packets) >= 3 and len(good) == len(packets))

data = b"The quick brown fox jumps over the lazy dog" * 3
import hashlib
check("pure sha1 equals hashlib sha1", sha1.sha1(data).digest() == hashlib.sha1(data).digest())

counter = b"\x01\x23\x45\x67\x89\xab\xcd\xef"
mac = wire.HmacSha1(b"love").digest(wire.mac_prefix(42, [ip4("10.77.0.252")], []), counter)
check("computed vector", mac == bytes.fromhex("a22b5f72345380d599d9aeb3d195a6696df7eb6e"))

lan = Lan(Router("r1", "10.0.0.1", 1, 0, True), Router("r2", "10.0.0.2", 1, 100, True), start_ticks=clock.ticks_add(0, -1500))
lan.start("r1")
lan.start("r2")
lan.run_for(10000)
check("election across the tick wrap", lan.masters() == ["r1"] and lan.holders() == ["r1"])
lan.stop("r1")
lan.run_for(10)
check("bow-out takeover", lan.masters() == ["r2"] and lan.routers["r2"].history[-1][2] == machine.R_BOW_OUT)

try:
    cli.build_config(cli.parse_args("-i lan0 -v 1 -p x -a 10.0.0.1 -k 300".split()))
    check("config error", False)
except config.ConfigErrors as e:
    check("config error names the option: %s" % e, str(e).startswith("-k/--advskew: '300' is not valid"))

print("ALL OK" if not failures else "FAILED: %d" % len(failures))
sys.exit(1 if failures else 0)
