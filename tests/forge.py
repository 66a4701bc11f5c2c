"""Received CARP datagrams built independently of firmware/carp (struct,
hashlib and hmac only), as the receive path sees them: IPv4 from the raw
socket (IP header first), IPv6 from the link-layer socket (IPv6 header
first, possibly followed by more bytes)."""
import hashlib
import hmac
import socket
import struct

PASSPHRASE = b"lab-secret"


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def carp(vhid=1, advskew=0, advbase=1, demote=0, counter=b"\x11" * 8, key=PASSPHRASE, vips4=(), vips6=(),
         version_type=0x21, authlen=7, good_checksum=True, good_mac=True):
    """36 bytes; the MAC over 02 01 vhid, sorted IPv4 then IPv6 VIPs, counter."""
    msg = bytes([2, 1, vhid]) + b"".join(sorted(socket.inet_aton(a) for a in vips4)) \
        + b"".join(sorted(socket.inet_pton(socket.AF_INET6, a) for a in vips6)) + counter
    mac = hmac.new(key, msg, hashlib.sha1).digest()
    if not good_mac:
        mac = bytes(b ^ 0x55 for b in mac)
    body = bytearray(struct.pack("!BBBBBBH", version_type, vhid, advskew, authlen, demote, advbase, 0) + counter + mac)
    c = checksum(bytes(body))
    struct.pack_into("!H", body, 6, c ^ (0 if good_checksum else 0x0101))
    return bytes(body)


def ipv4(src, payload, ttl=255, dst="224.0.0.18", total=None, version_ihl=0x45, options=b""):
    total = total if total is not None else 20 + len(options) + len(payload)
    header = bytearray(struct.pack("!BBHHHBBH4s4s", version_ihl, 0x10, total, 0, 0x4000, ttl, 112, 0,
                                   socket.inet_aton(src), socket.inet_aton(dst)) + options)
    struct.pack_into("!H", header, 10, checksum(bytes(header)))  # so a real kernel takes it from the wire
    return bytes(header) + payload


def ipv6(src, payload, hop_limit=255, dst="ff02::12", payload_length=None, next_header=112):
    length = len(payload) if payload_length is None else payload_length
    header = struct.pack("!IHBB16s16s", 6 << 28, length, next_header, hop_limit,
                         socket.inet_pton(socket.AF_INET6, src), socket.inet_pton(socket.AF_INET6, dst))
    return header + payload
