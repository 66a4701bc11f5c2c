"""Minimal libpcap reader for tests: Ethernet frames -> IPv4 CARP payloads."""
import struct

LINKTYPE_ETHERNET = 1


def frames(path):
    """Yield (timestamp seconds, frame bytes) from a classic pcap file."""
    with open(path, "rb") as f:
        data = f.read()
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        order = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        order = ">"
    else:
        raise ValueError("%s: not a pcap file" % path)
    nano = magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
    linktype = struct.unpack_from(order + "I", data, 20)[0]
    if linktype != LINKTYPE_ETHERNET:
        raise ValueError("%s: link type %d, expected Ethernet" % (path, linktype))
    off = 24
    while off + 16 <= len(data):
        sec, frac, caplen, _wirelen = struct.unpack_from(order + "IIII", data, off)
        off += 16
        yield sec + frac / (1e9 if nano else 1e6), data[off:off + caplen]
        off += caplen


class CarpPacket:
    def __init__(self, ts, frame):
        self.ts = ts
        self.eth_src = frame[6:12]
        ip = frame[14:]
        ihl = (ip[0] & 0x0F) * 4
        self.ip_header = ip[:ihl]
        self.tos = ip[1]
        self.df = bool(ip[6] & 0x40)
        self.ttl = ip[8]
        self.src = ip[12:16]
        self.dst = ip[16:20]
        self.total_length = struct.unpack_from(">H", ip, 2)[0]
        self.carp = ip[ihl:self.total_length]


def carp_packets(path):
    """Every IPv4 protocol-112 packet in the capture, in order."""
    out = []
    for ts, frame in frames(path):
        if len(frame) >= 34 and frame[12:14] == b"\x08\x00" and frame[14 + 9] == 112:
            out.append(CarpPacket(ts, frame))
    return out


def arp_frames(path):
    return [(ts, frame) for ts, frame in frames(path) if frame[12:14] == b"\x08\x06"]
