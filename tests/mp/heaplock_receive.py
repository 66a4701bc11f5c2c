"""Run on MicroPython: packet.Inbox.parse4/6 and the machine reject and accept
every kind of datagram with the heap locked (any allocation raises
MemoryError). No sockets: the lab's heaplock_check.py covers the daemon's
loop around it. A forged or valid advertisement costs one HMAC the first
time (hashlib allocates); its repeats, the flood case, must not.
Prints 'ALL OK' at the end; exits 1 on failure."""
import micropython
import socket
import struct
import sys

from carp import cli, machine, packet, wire
from carp.vhid import Vhid

failures = []
VIP4 = "10.9.0.254"
COUNTER = b"\x42" * 8


class Device:
    index = 7
    name = "lan0"


def group(vhid, peers=()):
    argv = ["-i", "lan0", "-v", str(vhid), "-p", "lab-secret", "-a", VIP4 + "/24", "-a", "fd09::254/64"]
    for p in peers:
        argv += ["--peer", p]
    cfg = cli.build_config(cli.parse_args(argv))
    return Vhid(cfg, Device(), socket.inet_pton(socket.AF_INET, "10.9.0.1"),
                 socket.inet_pton(socket.AF_INET6, "fe80::1"), COUNTER, len(packet.DROP_REASONS))


groups = [group(1), group(2, peers=("10.9.0.2", "fe80::2"))]
by_vhid = [None] * 256
for g in groups:
    by_vhid[g.vhid] = g
    g.machine.start(0, True)
key = wire.HmacSha1(b"lab-secret")


def carp(vhid=1, version_type=0x21, authlen=7, counter=b"\x11" * 8, good_checksum=True, good_mac=True):
    buf = bytearray(36)
    mac = key.digest(groups[0].prefixes[0], counter)
    if not good_mac:
        mac = bytes(b ^ 0x55 for b in mac)
    wire.build_advert(buf, 0, vhid, 1, 0, 0, counter, mac)
    buf[0] = version_type
    buf[3] = authlen
    buf[6] = buf[7] = 0
    c = wire.checksum(buf, 0, 36) ^ (0 if good_checksum else 0x0101)
    struct.pack_into(">H", buf, 6, c)
    return bytes(buf)


def v4(payload, ttl=255, total=None, ihl=0x45, src="10.9.0.66"):
    total = 20 + len(payload) if total is None else total
    h = bytearray(20)
    h[0] = ihl
    struct.pack_into(">H", h, 2, total)
    h[8] = ttl
    h[9] = 112
    h[12:16] = socket.inet_pton(socket.AF_INET, src)
    return bytes(h) + payload


def v6(payload, hops=255, src="fe80::66"):
    h = bytearray(40)
    h[0] = 0x60
    struct.pack_into(">H", h, 4, len(payload))
    h[6] = 112
    h[7] = hops
    h[8:24] = socket.inet_pton(socket.AF_INET6, src)
    return bytes(h) + payload


cases = [
    (4, v4(carp())[:40], "short"), (4, v4(carp(), ihl=0x46), "bad_length"),
    (4, v4(carp() + b"\0\0\0\0", total=56), "trailing_bytes"), (4, v4(carp(), ttl=1), "bad_ttl"),
    (4, v4(carp(version_type=0x31)), "bad_version"), (4, v4(carp(version_type=0x2F)), "bad_type"),
    (4, v4(carp(authlen=0)), "bad_authlen"), (4, v4(carp(vhid=9)), "unknown_vhid"),
    (4, v4(carp(vhid=2)), "unknown_peer"), (4, v4(carp(good_checksum=False)), "bad_checksum"),
    (4, v4(carp(counter=COUNTER)), "own_packet"), (4, v4(carp(good_mac=False)), "bad_hmac"),
    (4, v4(carp()), "accepted"),
    (6, v6(carp())[:50], "short"), (6, v6(carp()) + b"\0" * 8, "trailing_bytes"),
    (6, v6(carp(), hops=1) + v6(carp()), "trailing_bytes"), (6, v6(carp(), hops=1), "bad_ttl"),
    (6, v6(carp(vhid=9)), "unknown_vhid"), (6, v6(carp(vhid=2)), "unknown_peer"),
    (6, v6(carp(good_mac=False)), "bad_hmac"), (6, v6(carp()), "accepted"),
    (4, v4(carp(counter=b"\x22" * 8, good_mac=False)), "unverified"),  # the flood's HMAC budget spent
]
inbox = packet.Inbox(160)
buf = inbox.buf
for family, datagram, expected in cases:
    n = len(datagram)
    buf[:n] = datagram
    inbox.hash_budget_us = 0 if expected == "unverified" else packet.UNLIMITED_US
    parse = inbox.parse4 if family == 4 else inbox.parse6
    parse(n, by_vhid)  # first sight: an HMAC may be computed
    error = None
    micropython.heap_lock()
    try:
        verdict = parse(n, by_vhid)
        if verdict == packet.ACCEPTED:
            inbox.tie = machine.TIE_PEER_WINS
            inbox.vhid.machine.on_advert(1000, inbox)
    except MemoryError as e:
        verdict = e
    micropython.heap_unlock()
    # Unlocked, mem_total sees what the lock cannot: a frame over 11 words
    # comes from the heap (and from the C stack when the heap is locked).
    before = micropython.mem_total()
    again = parse(n, by_vhid)
    if again == packet.ACCEPTED:
        inbox.vhid.machine.on_advert(1000, inbox)
    if micropython.mem_total() != before and not isinstance(verdict, MemoryError):
        verdict = MemoryError("%d bytes with the heap unlocked" % (micropython.mem_total() - before))
    name = "accepted" if verdict == packet.ACCEPTED else (
        packet.DROP_REASONS[verdict] if isinstance(verdict, int) else "ALLOCATED")
    ok = name == expected
    print(("ok   " if ok else "FAIL ") + "IPv%d %s -> %s" % (family, expected, name))
    if not ok:
        failures.append(expected)
print("ALL OK" if not failures else "FAILED: %d" % len(failures))
sys.exit(1 if failures else 0)
