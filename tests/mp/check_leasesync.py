"""Merge and datagram of carpd leases, printed one result a line: run under
MicroPython and CPython, the two outputs must be identical (expiry times
are epoch seconds beyond 2**30, big integers on 32-bit MicroPython)."""
from carp import leasesync, wire

NOW = 1800000000
FILE = ("%d 02:00:00:00:01:01 10.0.0.120 laptop 01:02:00:00:00:01:01\n"
        "%d 02:00:00:00:01:02 10.0.0.121 * *\n"
        "0 02:00:00:00:01:03 10.0.0.122 printer *\n"
        "duid 00:01:00:01:2c:7e\n") % (NOW + 100, NOW + 50)
PEER = ("%d 02:00:00:00:01:02 10.0.0.121 * *\n"
        "%d 02:00:00:00:01:04 10.0.0.120 * *\n"
        "%d 02:00:00:00:01:05 10.0.0.125 phone *\n") % (NOW + 500, NOW + 90, NOW - 1)

ours, others = leasesync.parse(FILE)
theirs, _ = leasesync.parse(PEER)
print(leasesync.render(ours, others), end="")
merged, learned = leasesync.merge(ours, theirs, NOW)
print(leasesync.render(merged, others), end="")
print("learned", learned, "lacks", leasesync.lacks(theirs, merged))
key = wire.HmacSha1(b"secret")
data = leasesync.pack(key, leasesync.SERVING, 9, NOW, 0x0123456789ABCDEF, 7, merged)
print(len(data), "".join("%02x" % b for b in data[-20:]))
flags, nonce, seq, got = leasesync.unpack(key, 9, data, NOW + 5)
print(flags, nonce, seq, leasesync.render(got, []), end="")
print("forged", leasesync.unpack(wire.HmacSha1(b"other"), 9, data, NOW))
print("ALL OK")
