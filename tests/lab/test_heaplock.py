"""The send path and the reject path allocate nothing on MicroPython: the real
daemon runs its event loop in a lab router with the heap locked around all
its work after poll() returns (see tests/mp/heaplock_check.py for why the
poll call itself is outside), while another node sends every kind of bad
packet: those the kernel filter passes reach the daemon's reject path, the
rest must not reach it at all."""
import os
import re
import socket
import struct
import time

import pytest

from tests.tools import FIRMWARE, ROOT, command

KINDS = 6
EACH = 5


def checksum(data):
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def advert(vhid=1, version=2, counter=b"\x11" * 8, good_checksum=True):
    body = bytearray(struct.pack("!BBBBBBH", version << 4 | 1, vhid, 0, 7, 0, 1, 0) + counter + b"\x22" * 20)
    c = checksum(bytes(body))
    if not good_checksum:
        c ^= 0x0101
    struct.pack_into("!H", body, 6, c)
    return bytes(body)


def ip_packet(src, payload, ttl=255, total=None):
    total = total if total is not None else 20 + len(payload)
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0x10, total, 0, 0x4000, ttl, 112, 0,
                         socket.inet_aton(src), socket.inet_aton("224.0.0.18"))
    return (header + payload)[:total]


INJECT = r'''
import socket, sys, time
v4 = socket.socket(socket.AF_INET, socket.SOCK_RAW, 112)
v4.setsockopt(socket.SOL_SOCKET, 25, b"lan0\0")
v4.setsockopt(socket.IPPROTO_IP, socket.IP_HDRINCL, 1)
v6 = socket.socket(socket.AF_INET6, socket.SOCK_RAW, 112)
v6.setsockopt(socket.SOL_SOCKET, 25, b"lan0\0")
index = socket.if_nametoindex("lan0")
for arg in sys.argv[1:]:
    family, hops, data = arg.split(":")
    if family == "4":
        v4.sendto(bytes.fromhex(data), ("224.0.0.18", 0))
    else:
        v6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, int(hops))
        v6.sendto(bytes.fromhex(data), ("ff02::12", 0, 0, index))
    time.sleep(0.01)
'''


@pytest.mark.parametrize("vmac", [False, True], ids=["device", "vmac"])
def test_send_and_reject_paths_run_under_heap_lock(lab, tmp_path, vmac):
    log = str(tmp_path / "heaplock.log")
    env = {"MICROPYPATH": FIRMWARE}
    script = os.path.join(ROOT, "tests", "mp", "heaplock_check.py")
    proc = lab.start("r1", [command("micropython"), script, lab.dev, lab.ip["r1"], "4",
                            "%s/%d" % (lab.vip, lab.prefix), "%s/%d" % (lab.vip6, lab.prefix6)] + (["--vmac"] if vmac else []),
                     env=env, log=log)
    assert lab.wait_for(lambda: "READY" in open(log).read(), 10), open(log).read()
    own = bytes.fromhex(re.search(r"READY counter=([0-9a-f]{16})", open(log).read()).group(1))
    src = lab.ip["c1"]
    bad = [
        ip_packet(src, advert(vhid=9)),  # no such vhid
        ip_packet(src, advert(), ttl=64),  # not from this link
        ip_packet(src, advert()[:20]),  # short
        ip_packet(src, advert(good_checksum=False)),  # bad checksum
        ip_packet(src, advert(version=3)),  # FreeBSD VRRPv3
        ip_packet(src, advert(counter=own)),  # our own packet looped back
    ]
    bad6 = [  # the same over IPv6: the kernel writes the header, we choose the hop limit
        (255, advert(vhid=9)),
        (64, advert()),
        (255, advert()[:20]),
        (255, advert(good_checksum=False)),
        (255, advert(version=3)),
        (255, advert(counter=own)),
    ]
    assert len(bad) == len(bad6) == KINDS
    inject = ["4:255:" + p.hex() for p in bad for _ in range(EACH)]
    inject += ["6:%d:%s" % (hops, p.hex()) for hops, p in bad6 for _ in range(EACH)]
    lab.run("c1", [command("python3"), "-c", INJECT] + inject)
    assert proc.wait(20) == 0, open(log).read()
    out = open(log).read()
    assert "DONE" in out and "ALLOCATED" not in out, out
    # and nothing allocated with the heap unlocked either (frames over 11
    # words come from the heap, which the lock cannot see)
    turns, heap_bytes = map(int, re.search(r"turns (\d+) heap_bytes (\d+)", out).groups())
    assert turns > 10 and heap_bytes == 0, out
    drops = dict((m.group(1), int(m.group(2))) for m in re.finditer(r"drop (\w+) (\d+)", out))
    # The kernel filter (kfilter.py) keeps these from the daemon altogether:
    for reason in ("unknown_vhid", "bad_ttl", "short", "bad_version"):
        assert drops[reason] == 0, (reason, out)
    # these only user space can judge, IPv4 and IPv6 (every reason is also
    # run under heap lock without sockets: tests/mp/heaplock_receive.py)
    for reason in ("bad_checksum", "own_packet"):
        assert drops[reason] == 2 * EACH, (reason, out)
    tx = int(re.search(r"tx (\d+) tx_errors (\d+)", out).group(1))
    assert tx >= 8 and "tx_errors 0" in out and "state MASTER" in out, out
