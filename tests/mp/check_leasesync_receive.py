"""`carpd leases` receiving, on either interpreter; under MicroPython run
with a small -X heapsize. argv[1]: a scratch directory, argv[2]: a free
UDP port. Prints one result a line.

- On a fragmented heap (filled with 1 KB blocks, every other one freed:
  no 64 KB hole), recvfrom(65100) raised MemoryError and the replicator
  died (seen in the DHCP lab).
- Two datagrams queued are two datagrams: MicroPython's readinto reads on
  until its count is met.
- A stranger's datagram is taken off the queue unread."""
import gc
import os
import socket
import sys
import time

from carp import config, leasesync, wire

tmp, port = sys.argv[1], int(sys.argv[2])
try:
    os.remove(tmp + "/dhcp.leases")
except OSError:
    pass


def address(p):
    return socket.getaddrinfo("127.0.0.1", p)[0][-1]


cfg = config.VhidConfig("lan", "lo", 9, b"secret", [], lease_sync=[b"\x7f\x00\x00\x01"])
r = leasesync.Replicator(cfg, tmp + "/status.json", tmp + "/dhcp.leases", tmp, port, log=print)
r.peers["127.0.0.1"] = address(port + 1)  # its answers go nowhere
now = int(time.time())
key = wire.HmacSha1(b"secret")


def datagram(seq, ip):
    line = "%d 02:00:00:00:00:%02x %s * *\n" % (now + 600, seq, ip)
    return leasesync.pack(key, 0, 9, now, 1, seq, leasesync.parse(line)[0])


def leases():
    return sorted(leasesync.parse(open(tmp + "/dhcp.leases").read())[0])


sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
first, second = datagram(1, "10.0.0.120"), datagram(2, "10.0.0.121")
held = []
if sys.implementation.name == "micropython":
    try:
        while True:
            held.append(bytearray(1000))
    except MemoryError:
        pass
    for i in range(0, len(held), 2):
        held[i] = None
    gc.collect()
sender.sendto(first, address(port))
sender.sendto(second, address(port))
time.sleep(0.2)
r.receive()
r.receive()
held = None
gc.collect()
print("two queued, two received:", leases())
stranger = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
stranger.bind(socket.getaddrinfo("127.0.0.2", 0)[0][-1])
stranger.sendto(datagram(3, "10.0.0.122"), address(port))
sender.sendto(b"CLS1", address(port))
time.sleep(0.2)
r.receive()
r.receive()
print("from 127.0.0.1 only, whole datagrams only:", leases())
try:
    r.receive()
    print("a datagram left over")
except OSError:
    print("queue empty")
print("ALL OK")
