"""Pure-Python SHA-1 for MicroPython builds without hashlib.sha1 (micropython-nossl).

Only used when hashlib has no sha1; slow, but advertisements with a
known (peer counter, MAC) pair are accepted from a cache without hashing.
"""
import struct

_MASK = 0xFFFFFFFF


def _rol(x, n):
    return ((x << n) | (x >> (32 - n))) & _MASK


class sha1:
    digest_size = 20
    block_size = 64

    def __init__(self, data=b""):
        self._h = [0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0]
        self._pending = b""
        self._length = 0
        if data:
            self.update(data)

    def copy(self):
        """The hash so far, to go on from separately (HMAC's pad blocks)."""
        other = sha1()
        other._h = list(self._h)
        other._pending = self._pending
        other._length = self._length
        return other

    def update(self, data):
        data = self._pending + bytes(data)
        self._length += len(data) - len(self._pending)
        whole = len(data) & ~63
        for off in range(0, whole, 64):
            self._block(data, off)
        self._pending = data[whole:]

    def _block(self, data, off):
        w = list(struct.unpack(">16I", data[off:off + 64]))
        for i in range(16, 80):
            w.append(_rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1))
        a, b, c, d, e = self._h
        for i in range(80):
            if i < 20:
                f = (b & c) | (~b & d)
                k = 0x5A827999
            elif i < 40:
                f = b ^ c ^ d
                k = 0x6ED9EBA1
            elif i < 60:
                f = (b & c) | (b & d) | (c & d)
                k = 0x8F1BBCDC
            else:
                f = b ^ c ^ d
                k = 0xCA62C1D6
            t = (_rol(a, 5) + (f & _MASK) + e + k + w[i]) & _MASK
            e, d, c, b, a = d, c, _rol(b, 30), a, t
        h = self._h
        h[0] = (h[0] + a) & _MASK
        h[1] = (h[1] + b) & _MASK
        h[2] = (h[2] + c) & _MASK
        h[3] = (h[3] + d) & _MASK
        h[4] = (h[4] + e) & _MASK

    def digest(self):
        saved = (list(self._h), self._pending, self._length)
        bits = self._length * 8
        tail = self._pending + b"\x80" + bytes((55 - self._length) % 64) + struct.pack(">Q", bits)
        for off in range(0, len(tail), 64):
            self._block(tail, off)
        out = struct.pack(">5I", *self._h)
        self._h, self._pending, self._length = saved
        return out
