"""CARPv2 advertisements on the wire: layout, checksum, HMAC (no sockets here).

The 36-byte header (docs/protocol.md section 1), big-endian:

    0  version<<4 | type   (0x21: version 2, advertisement)
    1  vhid                 2  advskew      3  authlen (7)
    4  demote (OpenBSD)     5  advbase      6  checksum (RFC 1071, these 36 bytes)
    8  counter (8 bytes)   16  HMAC-SHA1 (20 bytes)

The MAC covers 0x02 0x01 vhid, the vhid's IPv4 addresses sorted, its IPv6
addresses sorted (link-local left out, OpenBSD's HMAC_NOV6LL), then the
counter. It does not cover advbase, advskew or demote, so with a constant
counter (OpenBSD style) our MAC is computed once per configuration and each
send only patches three bytes and the checksum.
"""
try:
    from hashlib import sha1 as _sha1
except ImportError:  # micropython-nossl
    from carp.sha1 import sha1 as _sha1

PROTO_CARP = 112
TTL = 255
HEADER_LEN = 36
VERSION = 2
TYPE_ADVERTISEMENT = 1
AUTHLEN = 7
MAX_PASSPHRASE = 19  # BSD ifconfig keeps 19 bytes (strlcpy into 20); ucarp refuses more
BOW_OUT_TIMING = 255  # advbase and advskew of a leaving master (OpenBSD bow-out)
MCAST_V4 = b"\xe0\x00\x00\x12"  # 224.0.0.18

OFF_VERSION_TYPE = 0
OFF_VHID = 1
OFF_ADVSKEW = 2
OFF_AUTHLEN = 3
OFF_DEMOTE = 4
OFF_ADVBASE = 5
OFF_CHECKSUM = 6
OFF_COUNTER = 8
OFF_MAC = 16
COUNTER_LEN = 8
MAC_LEN = 20


def checksum(buf, off, length):
    """RFC 1071 one's-complement sum of buf[off:off+length], folded and inverted.

    Over a header whose checksum field is filled in, a valid one gives 0.
    Indexing only: no allocation, all values stay below 2**30.
    """
    total = 0
    end = off + length - 1
    i = off
    while i < end:
        total += (buf[i] << 8) | buf[i + 1]
        i += 2
    if length & 1:
        total += buf[off + length - 1] << 8
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def is_link_local6(addr16):
    return addr16[0] == 0xFE and (addr16[1] & 0xC0) == 0x80


def mac_prefix(vhid, addrs4, addrs6, with_link_local=False):
    """The MAC message without the counter: 02 01 vhid, sorted v4, sorted v6.

    Addresses are packed bytes (4 or 16). Sorting the byte strings equals
    the BSDs' numeric order; duplicates are hashed once as the BSDs do.
    """
    msg = bytearray(b"\x02\x01")
    msg.append(vhid)
    for a in sorted(set(bytes(a) for a in addrs4)):
        msg.extend(a)
    for a in sorted(set(bytes(a) for a in addrs6)):
        if with_link_local or not is_link_local6(a):
            msg.extend(a)
    return bytes(msg)


def mac_prefixes(vhid, addrs4, addrs6):
    """Prefixes a received MAC may be computed over (OpenBSD accepts both the
    with- and without-link-local variants); the first is what we send."""
    first = mac_prefix(vhid, addrs4, addrs6)
    second = mac_prefix(vhid, addrs4, addrs6, with_link_local=True)
    return (first,) if second == first else (first, second)


class HmacSha1:
    """HMAC-SHA1 keyed by the passphrase bytes.

    CARP zero-pads a 20-byte key to the 64-byte block; for a passphrase of
    at most 19 bytes that is exactly standard HMAC with the raw passphrase.
    Written out because MicroPython has no hmac module.
    """

    def __init__(self, key, sha1=_sha1):
        if len(key) > 64:
            raise ValueError("key longer than the SHA-1 block")
        padded = bytes(key) + bytes(64 - len(key))
        self._sha1 = sha1
        self._inner_pad = bytes(b ^ 0x36 for b in padded)
        self._outer_pad = bytes(b ^ 0x5C for b in padded)
        # The two pad blocks hashed once, where the hash can be copied
        # (CPython, carp/sha1.py; not MicroPython's hashlib): two of the four
        # SHA-1 blocks per HMAC, half the work of carp/sha1.py's checks.
        inner = sha1(self._inner_pad)
        self._keyed = (inner, sha1(self._outer_pad)) if hasattr(inner, "copy") else None

    def digest(self, prefix, counter):
        if self._keyed is not None:
            inner = self._keyed[0].copy()
            inner.update(prefix)
            inner.update(counter)
            outer = self._keyed[1].copy()
            outer.update(inner.digest())
            return outer.digest()
        inner = self._sha1(self._inner_pad)
        inner.update(prefix)
        inner.update(counter)
        outer = self._sha1(self._outer_pad)
        outer.update(inner.digest())
        return outer.digest()


def equal_at(buf, off, ref, length):
    """buf[off:off+length] == ref[:length], without slicing."""
    for i in range(length):
        if buf[off + i] != ref[i]:
            return False
    return True


def same_mac(buf, off, ref, length):
    """equal_at in constant time: how many leading bytes of a forged MAC are
    right must not show in how long the answer takes."""
    diff = 0
    i = 0
    while i < length:  # not for/range: its iterator would put the frame on the heap
        diff |= buf[off + i] ^ ref[i]
        i += 1
    return diff == 0


def build_advert(buf, off, vhid, advbase, advskew, demote, counter, mac):
    """Write a complete advertisement into buf at off (buf is preallocated)."""
    buf[off + OFF_VERSION_TYPE] = (VERSION << 4) | TYPE_ADVERTISEMENT
    buf[off + OFF_VHID] = vhid
    buf[off + OFF_AUTHLEN] = AUTHLEN
    buf[off + OFF_ADVSKEW] = advskew
    buf[off + OFF_DEMOTE] = demote
    buf[off + OFF_ADVBASE] = advbase
    for i in range(COUNTER_LEN):
        buf[off + OFF_COUNTER + i] = counter[i]
    for i in range(MAC_LEN):
        buf[off + OFF_MAC + i] = mac[i]
    buf[off + OFF_CHECKSUM] = 0
    buf[off + OFF_CHECKSUM + 1] = 0
    total = checksum(buf, off, HEADER_LEN)
    buf[off + OFF_CHECKSUM] = total >> 8
    buf[off + OFF_CHECKSUM + 1] = total & 0xFF


def set_timing(buf, off, advbase, advskew, demote):
    """Patch the fields the MAC does not cover in an advertisement that
    build_advert wrote, and update its checksum for the two 16-bit words they
    sit in (RFC 1624: HC' = ~(~HC + ~m + m')) instead of summing all 36
    bytes again: this runs for every advertisement sent. No allocation."""
    total = ~((buf[off + OFF_CHECKSUM] << 8) | buf[off + OFF_CHECKSUM + 1]) & 0xFFFF
    total += ~((buf[off + OFF_ADVSKEW] << 8) | buf[off + OFF_AUTHLEN]) & 0xFFFF  # advskew, authlen
    total += ~((buf[off + OFF_DEMOTE] << 8) | buf[off + OFF_ADVBASE]) & 0xFFFF  # demote, advbase
    buf[off + OFF_ADVSKEW] = advskew
    buf[off + OFF_DEMOTE] = demote
    buf[off + OFF_ADVBASE] = advbase
    total += ((advskew << 8) | buf[off + OFF_AUTHLEN]) + ((demote << 8) | advbase)
    total = (total & 0xFFFF) + (total >> 16)
    total = ~((total & 0xFFFF) + (total >> 16)) & 0xFFFF
    buf[off + OFF_CHECKSUM] = total >> 8
    buf[off + OFF_CHECKSUM + 1] = total & 0xFF


class Advert:
    """A decoded advertisement, for tests and tools (the daemon reads fields
    straight from its receive buffer instead)."""

    def __init__(self, data, off=0):
        self.version = data[off] >> 4
        self.type = data[off] & 0x0F
        self.vhid = data[off + OFF_VHID]
        self.advskew = data[off + OFF_ADVSKEW]
        self.authlen = data[off + OFF_AUTHLEN]
        self.demote = data[off + OFF_DEMOTE]
        self.advbase = data[off + OFF_ADVBASE]
        self.checksum_ok = checksum(data, off, HEADER_LEN) == 0
        self.counter = bytes(data[off + OFF_COUNTER:off + OFF_COUNTER + COUNTER_LEN])
        self.mac = bytes(data[off + OFF_MAC:off + OFF_MAC + MAC_LEN])

    def mac_valid(self, hmac, prefix):
        return hmac.digest(prefix, self.counter) == self.mac
