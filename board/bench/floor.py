"""The interpreter's floor at rest: what any CARP daemon written for it must
do per advertisement, and nothing else. Runs on MicroPython and CPython.

    floor.py master|backup DEVICE INTERVAL_MS

The backup waits in poll() on a CARP socket set up as carpd's is (kernel
filter for vhid 1, exact-length reads) and reads each advertisement: one
poll and one read per wake-up, the syscalls carpd's backup makes. The
master sleeps in poll() until its next deadline and sends a prebuilt
advertisement: one poll and one sendto, as carpd's master. No state machine,
no checks, no status: the bench sets carp's idle figures against these
(the bench's idle scenario, contender "mpy-floor"), so that what carp's own
code costs is told from what the interpreter costs to wake at all.
"""
import select
import sys

from carp import kfilter, netlink, rawsock, sockaddr, wire
from carp.clock import ticks_add, ticks_diff, ticks_ms

VHID = 1
COUNTER = b"\0\0\0\0\0\0\0\1"


def ifindex(dev):
    """As carpd looks its device up: over rtnetlink."""
    route = netlink.Route()
    try:
        return route.get_link(dev).index
    finally:
        route.close()


def backup(sock, poller):
    buf = bytearray(sock.packet_len)
    while True:
        for _ in poller.ipoll(-1):
            sock.receive(buf)


def master(sock, poller, interval_ms, advskew):
    advert = bytearray(rawsock.ADVERT_PACKET_LEN)
    rawsock.ipv4_header(advert, bytes(4), wire.MCAST_V4)  # source 0: the kernel fills it in
    wire.build_advert(advert, rawsock.IP_HEADER_LEN, VHID, interval_ms // 1000, advskew, 0, COUNTER,
                      bytes(wire.MAC_LEN))
    destination = sockaddr.inet4(wire.MCAST_V4, 0)
    buf = bytearray(sock.packet_len)
    deadline = ticks_add(ticks_ms(), interval_ms)
    while True:
        left = ticks_diff(deadline, ticks_ms())
        if left > 0:
            for _ in poller.ipoll(left + 1):
                sock.receive(buf)  # a peer's advertisement: read, nothing more
            continue
        sock.sendto(advert, destination)
        deadline = ticks_add(deadline, interval_ms)


def main(argv):
    if len(argv) != 4 or argv[1] not in ("master", "backup"):
        sys.stderr.write("usage: floor.py master|backup DEVICE INTERVAL_MS\n")
        return 2
    role, dev, interval_ms = argv[1], argv[2], int(argv[3])
    sock = rawsock.CarpSocket(dev, ifindex(dev))
    sock.set_filter(kfilter.program4([(VHID, False, [])]))
    poller = select.poll()
    poller.register(sock.fileno(), select.POLLIN)
    if role == "backup":
        backup(sock, poller)
    # advbase 0 below one second: the skew carries the interval (x 1/256 s)
    master(sock, poller, interval_ms, 0 if interval_ms >= 1000 else interval_ms * 256 // 1000)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except KeyboardInterrupt:
        pass
