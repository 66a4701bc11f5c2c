#!/usr/bin/env python3
"""Sends one kind of advertisement at a fixed rate from the node it runs
in, for the flood benchmarks (run inside c1's namespace by bench.py):

    flood.py DEV SRC VIP KIND RATE SECONDS PASSPHRASE

KIND (the protocol comes first, then what the packet is):
    carp-other    valid CARP advertisement for vhid 2 (not ours)
    carp-lesser   valid CARP advertisement for vhid 1, advskew 200: a less
                  preferred sender than the master under test
    carp-badhmac  CARP advertisement for vhid 1, advskew 0, wrong HMAC
    carp-varied   the same, with a different wrong HMAC in each packet (no
                  two alike within VARIANTS): no verdict can be remembered
    vrrp2-* vrrp3-*  the same for VRRP (keepalived): other vrid 2, lesser
                  priority 50, and for "badhmac" a wrong checksum (VRRP has
                  no HMAC, so the checksum is its integrity check; "varied":
                  a different wrong checksum in each packet)
    junk-big      4,050-byte protocol-112 datagrams of random content to
                  224.0.0.18, TTL 255 (what a host without the password can
                  send: the kernel fragments and reassembles them)

Frames are built once, independently of firmware/carp (hashlib/hmac and
struct only), and written to an AF_PACKET socket, so the sender costs
almost nothing per packet. Prints the number sent and the seconds taken.
The loop is bounded by SECONDS."""
import hashlib
import hmac
import random
import socket
import struct
import sys
import time

CARP_MAC = bytes.fromhex("01005e000012")  # 224.0.0.18
PROTO = 112


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return (~total) & 0xFFFF


def carp(vhid, advskew, vip, passphrase, good_hmac):
    counter = bytes.fromhex("0123456789abcdef")
    # HMAC-SHA1 keyed by the passphrase over version, type, vhid, the VIPs
    # and the counter (docs/protocol.md).
    mac = hmac.new(passphrase.encode(), bytes([2, 1, vhid]) + socket.inet_aton(vip) + counter, hashlib.sha1).digest()
    if not good_hmac:
        mac = bytes(b ^ 0x55 for b in mac)
    body = struct.pack("!BBBBBBH", 0x21, vhid, advskew, 7, 0, 1, 0) + counter + mac
    return body[:6] + struct.pack("!H", checksum(body)) + body[8:]


def vrrp(version, vrid, priority, vip, src, good_checksum):
    if version == 2:
        body = struct.pack("!BBBBBBH", 0x21, vrid, priority, 1, 0, 1, 0) + socket.inet_aton(vip) + b"\0" * 8
        cks = checksum(body)
    else:
        body = struct.pack("!BBBBHH", 0x31, vrid, priority, 1, 10, 0) + socket.inet_aton(vip)
        pseudo = socket.inet_aton(src) + socket.inet_aton("224.0.0.18") + struct.pack("!BBH", 0, PROTO, len(body))
        cks = checksum(pseudo + body)
    if not good_checksum:
        cks ^= 0x5555
    return body[:6] + struct.pack("!H", cks) + body[8:]


def ip_frame(src_mac, src, payload):
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0xC0, 20 + len(payload), 0, 0, 255, PROTO, 0,
                         socket.inet_aton(src), socket.inet_aton("224.0.0.18"))
    header = header[:10] + struct.pack("!H", checksum(header)) + header[12:]
    return CARP_MAC + src_mac + b"\x08\x00" + header + payload


VARIANTS = 4096


def varied(payload, index):
    """The bad packet made different in its integrity field (CARP: the last
    two bytes of the MAC, with the checksum made right again; VRRP: the
    checksum itself, never the right one)."""
    body = bytearray(payload)
    if body[0] == 0x21 and len(body) == 36:
        body[34] ^= index >> 8
        body[35] ^= index & 0xFF
        body[6:8] = b"\0\0"
        body[6:8] = struct.pack("!H", checksum(bytes(body)))
    else:
        cks = struct.unpack("!H", body[6:8])[0] ^ (index + 1)
        if cks == struct.unpack("!H", payload[6:8])[0] ^ 0x5555:  # the right one
            cks ^= 0x8000
        body[6:8] = struct.pack("!H", cks)
    return bytes(body)


def payloads(kind, src, vip, passphrase):
    """Every packet the flood cycles through (one, except for "varied")."""
    proto, what = kind.split("-", 1)
    if what == "varied":
        bad = payload(proto + "-badhmac", src, vip, passphrase)
        return [varied(bad, i) for i in range(VARIANTS)]
    return [payload(kind, src, vip, passphrase)]


def payload(kind, src, vip, passphrase):
    proto, what = kind.split("-", 1)
    if what not in ("other", "lesser", "badhmac"):
        raise SystemExit("flood: unknown kind %r" % kind)
    if proto == "carp":
        return carp(2 if what == "other" else 1, 200 if what == "lesser" else 0, vip, passphrase,
                    what != "badhmac")
    if proto in ("vrrp2", "vrrp3"):
        return vrrp(int(proto[-1]), 2 if what == "other" else 1, 50 if what == "lesser" else 250, vip, src,
                    what != "badhmac")
    raise SystemExit("flood: unknown protocol in %r" % kind)


JUNK_DATAGRAM = 4050
IP_MTU_DISCOVER = 10  # linux/in.h; this tool runs on the test host
IP_PMTUDISC_DONT = 0


def junk_sender(dev, src):
    """A raw IPv4 socket: the kernel writes the header and fragments."""
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, PROTO)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, dev.encode())
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(src))
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 255)
    s.setsockopt(socket.IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DONT)
    junk = bytes(random.Random(112).randrange(256) for _ in range(JUNK_DATAGRAM - 20))
    return lambda: s.sendto(junk, ("224.0.0.18", 0))


def main(argv):
    dev, src, vip, kind, rate, seconds, passphrase = argv
    rate, seconds = int(rate), float(seconds)
    if kind == "junk-big":
        send = junk_sender(dev, src)
    else:
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
        s.bind((dev, 0))
        with open("/sys/class/net/%s/address" % dev) as f:
            src_mac = bytes.fromhex(f.read().strip().replace(":", ""))
        frames = [ip_frame(src_mac, src, p) for p in payloads(kind, src, vip, passphrase)]
        send = lambda: s.send(frames[sent % len(frames)])  # noqa: E731
    total = int(rate * seconds)
    sent = 0
    start = time.monotonic()
    deadline = start + seconds + 5
    # Paced in 1 ms steps: each step sends what the schedule owes by then.
    while sent < total:
        now = time.monotonic()
        if now > deadline:
            break
        due = min(total, int((now - start) * rate) + 1)
        while sent < due:
            send()
            sent += 1
        time.sleep(0.001)
    print(sent, "%.3f" % (time.monotonic() - start))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
