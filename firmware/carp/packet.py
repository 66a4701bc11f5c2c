"""One received datagram -> one verdict: accepted, or the reason it was dropped.

Pure: bytes in, a small int out, no sockets and no allocation on the reject
path (the heap-lock test runs it). The checks run cheapest first and mirror
the kernel filter (kfilter.py) up to the vhid and source tests, so a packet
that reaches the daemon although the filter should have dropped it is still
counted under the same reason:

    IPv4   exactly 20 + 36 bytes, no IP options, total length 56, TTL 255
    IPv6   exactly 40 + 36 bytes, payload length 36, next header 112, hop limit 255
    CARP   version 2, type 1, authlen 7, a vhid configured on this device,
           from a configured peer when the vhid has unicast peers,
           then checksum, not our own, HMAC (the only costly step, last;
           under a flood only within hash_budget_us, else "unverified")

What the daemon reads is one datagram: the socket's read is exactly as long
as the only length the kernel filter lets through (see rawsock.py), so a
datagram is never cut or merged with the next one.

A flood repeats itself, and so does a live master (OpenBSD and we send a
constant counter): 36 bytes identical to the last advertisement a vhid
accepted, or to the last forgery it refused, get the same verdict again from
one compare, without the checksum loop or an HMAC. A repeat of the last
accepted one is flagged (Inbox.repeat): while nothing changed on our side,
the machine then only restarts its master-down timer (Machine.on_advert).
"""
from carp import wire

try:
    from micropython import const
except ImportError:  # CPython
    def const(value):
        return value

# Constants the parse reads (MicroPython compiles a const() name used in
# this module as its value: no global or module-attribute lookup per packet).
# The wire's values are spelled out here for that reason; test_packet.py
# checks them against wire.py.
_TTL = const(255)
_PROTO_CARP = const(112)
_HEADER_LEN = const(36)
_VERSION = const(2)
_AUTHLEN = const(7)
_OFF_VHID = const(1)
_OFF_AUTHLEN = const(3)
_OFF_DEMOTE = const(4)
_OFF_ADVBASE = const(5)
_OFF_ADVSKEW = const(2)
_OFF_COUNTER = const(8)
_COUNTER_LEN = const(8)

ACCEPTED = const(-1)

# Drop reasons: counters are indexed by these. The first seven keep their
# names from earlier releases (status documents, LuCI, scripts read them).
DROP_SHORT = const(0)
DROP_TTL = const(1)
DROP_VERSION = const(2)
DROP_VHID = const(3)
DROP_CHECKSUM = const(4)
DROP_OWN = const(5)
DROP_HMAC = const(6)
DROP_LENGTH = const(7)
DROP_TRAILING = const(8)
DROP_TYPE = const(9)
DROP_AUTHLEN = const(10)
DROP_PEER = const(11)
DROP_UNVERIFIED = const(12)
DROP_REASONS = ("short", "bad_ttl", "bad_version", "unknown_vhid", "bad_checksum", "own_packet", "bad_hmac",
                "bad_length", "trailing_bytes", "bad_type", "bad_authlen", "unknown_peer", "unverified")

# Inbox.hash_budget_us while nothing floods us: every new advertisement is checked.
UNLIMITED_US = const(1 << 28)

IPV4_HEADER_LEN = const(20)
IPV6_HEADER_LEN = const(40)
IPV4_PACKET_LEN = const(IPV4_HEADER_LEN + _HEADER_LEN)  # 56
IPV6_PACKET_LEN = const(IPV6_HEADER_LEN + _HEADER_LEN)  # 76
VERSION_IHL = const(0x45)  # IPv4 without options: no CARP implementation sends any
VERSION_TYPE = const(0x21)  # version 2, type 1 (advertisement)

# Where the fields sit in an IPv4 or IPv6 packet
OFF4_TOTAL_LENGTH = const(2)
OFF4_TTL = const(8)
OFF4_SOURCE = const(12)
OFF4_DESTINATION = const(16)
OFF6_PAYLOAD_LENGTH = const(4)
OFF6_NEXT_HEADER = const(6)
OFF6_HOP_LIMIT = const(7)
OFF6_SOURCE = const(8)


class Inbox:
    """The receive buffer and what the last parse found in it.

    After ACCEPTED: vhid (the vhid.Vhid it is for), carp (offset of its
    CARP header), source and source_len (offset and length of the IP source
    address), what the header says: advbase, advskew, demote, and repeat:
    the same 36 bytes as the advertisement that vhid accepted last; tie is
    the datapath's to set (machine.TIE_*), so that the inbox is the
    advertisement Machine.on_advert reads. After a drop, vhid is the Vhid it
    was for once known, else None. Made once; parsing allocates nothing.

    Every method here keeps its MicroPython frame within 11 words (locals,
    value stack, try blocks): a larger frame is allocated on the heap on
    every call (tests/mpyframes.py, test_frames.py)."""

    def __init__(self, size=128):
        self.buf = bytearray(size)
        view = memoryview(self.buf)
        # The CARP header where each family's packet puts it, for whole-header
        # compares (memcmp, no allocation) against a vhid's last verdicts.
        self.carp4 = view[IPV4_HEADER_LEN:IPV4_PACKET_LEN]
        self.carp6 = view[IPV6_HEADER_LEN:IPV6_PACKET_LEN]
        self.vhid = None
        self.carp = 0
        self.source = 0
        self.source_len = 0
        self.advbase = 0
        self.advskew = 0
        self.demote = 0
        self.tie = 0
        self.repeat = False  # the same 36 bytes as the vhid's last accepted advertisement
        # Microseconds of HMAC still allowed (loop.py: a share of each flood
        # window): a flood of forgeries that all differ cannot take the CPU.
        self.hash_budget_us = UNLIMITED_US

    def parse4(self, n, by_vhid):
        """The IPv4 datagram in buf[:n] -> ACCEPTED or a DROP_ reason."""
        self.vhid = None
        buf = self.buf
        if n < IPV4_PACKET_LEN:
            return DROP_SHORT
        if buf[0] != VERSION_IHL or ((buf[OFF4_TOTAL_LENGTH] << 8) | buf[OFF4_TOTAL_LENGTH + 1]) != IPV4_PACKET_LEN:
            return DROP_LENGTH
        if n != IPV4_PACKET_LEN:
            return DROP_TRAILING
        if buf[OFF4_TTL] != _TTL:
            return DROP_TTL
        self.source = OFF4_SOURCE
        self.source_len = 4
        return self._advert(IPV4_HEADER_LEN, self.carp4, by_vhid)

    def parse6(self, n, by_vhid):
        """The IPv6 datagram in buf[:n] (from a link-layer socket, so it may
        carry bytes after the payload) -> ACCEPTED or a DROP_ reason. One
        frame is one packet: what follows the payload is never read as another."""
        self.vhid = None
        buf = self.buf
        if n < IPV6_PACKET_LEN:
            return DROP_SHORT
        if ((buf[OFF6_PAYLOAD_LENGTH] << 8) | buf[OFF6_PAYLOAD_LENGTH + 1]) != _HEADER_LEN \
                or buf[OFF6_NEXT_HEADER] != _PROTO_CARP:
            return DROP_LENGTH
        if n != IPV6_PACKET_LEN:
            return DROP_TRAILING
        if buf[OFF6_HOP_LIMIT] != _TTL:
            return DROP_TTL
        self.source = OFF6_SOURCE
        self.source_len = 16
        return self._advert(IPV6_HEADER_LEN, self.carp6, by_vhid)

    def _advert(self, off, header, by_vhid):
        """The CARP checks both families share, cheapest first. header: a
        view of the 36 CARP bytes at buf[off:]."""
        buf = self.buf
        if buf[off] >> 4 != _VERSION:  # version 3 is FreeBSD's VRRPv3: not ours
            return DROP_VERSION
        if buf[off] != VERSION_TYPE:
            return DROP_TYPE
        if buf[off + _OFF_AUTHLEN] != _AUTHLEN:
            return DROP_AUTHLEN
        vhid = by_vhid[buf[off + _OFF_VHID]]
        if vhid is None:
            return DROP_VHID
        self.vhid = vhid
        self.carp = off
        if vhid.has_peers and not self._from_peer(vhid):
            return DROP_PEER
        if header == vhid.last_good:  # the live master, again (a call fewer than repeat_verdict)
            self.repeat = True
            verdict = ACCEPTED
        else:
            self.repeat = False
            if header == vhid.last_forged:  # a flood repeating itself
                return DROP_HMAC
            verdict = vhid.repeat_verdict(header)
            if verdict == UNSEEN:
                verdict = self._first_sight(vhid, header)
        if verdict == ACCEPTED:
            self.advbase = buf[off + _OFF_ADVBASE]
            self.advskew = buf[off + _OFF_ADVSKEW]
            self.demote = buf[off + _OFF_DEMOTE]
        return verdict

    def _from_peer(self, vhid):
        return vhid.is_peer(self.buf, self.source, self.source_len)

    def _first_sight(self, vhid, header):
        """Not the same 36 bytes as a last verdict: checksum, own, HMAC."""
        off = self.carp
        if wire.checksum(self.buf, off, _HEADER_LEN) != 0:
            return DROP_CHECKSUM
        if wire.equal_at(self.buf, off + _OFF_COUNTER, vhid.counter, _COUNTER_LEN):
            return DROP_OWN  # our own advertisement came back: a loop
        if self.hash_budget_us <= 0:
            return DROP_UNVERIFIED
        good = vhid.mac_ok(self.buf, off)
        self.hash_budget_us -= vhid.check_us  # what that check took
        vhid.remember_verdict(header, good)
        return ACCEPTED if good else DROP_HMAC


UNSEEN = const(-2)  # repeat_verdict: not the same 36 bytes as a last verdict
