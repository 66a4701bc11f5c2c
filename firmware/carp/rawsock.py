"""Raw sockets for one interface: CARP over IPv4 and gratuitous ARP.

One IPPROTO_CARP socket per interface both receives (every CARP packet on
the device, IP header included) and sends. We write the IPv4 header
ourselves (IP_HDRINCL): the source is the configured address without binding
the socket to it (a bound raw socket would not see multicast), TTL 255, TOS
0x10 and DF as the BSDs send; the kernel fills in ID, length and checksum.
"""
import socket
import struct

from carp import sockaddr, wire

IP_HDRINCL = 3
IP_MULTICAST_IF = 32
IP_MULTICAST_LOOP = 34
IP_ADD_MEMBERSHIP = 35

IP_HEADER_LEN = 20
ADVERT_PACKET_LEN = IP_HEADER_LEN + wire.HEADER_LEN  # 56
TOS_LOWDELAY = 0x10
FLAG_DF = 0x40

ETH_P_ARP = 0x0806
ETH_P_IP = 0x0800
ARP_FRAME_LEN = 60  # minimum Ethernet frame, padded


def _mreqn(group4, ifindex):
    req = bytearray(12)
    req[0:4] = group4
    struct.pack_into("i", req, 8, ifindex)
    return bytes(req)


def ipv4_header(buf, src4, dst4):
    """The constant part of our IPv4 header (ID, length, checksum: kernel)."""
    buf[0] = 0x45
    buf[1] = TOS_LOWDELAY
    buf[6] = FLAG_DF
    buf[8] = wire.TTL
    buf[9] = wire.PROTO_CARP
    for i in range(4):
        buf[12 + i] = src4[i]
        buf[16 + i] = dst4[i]


class CarpSocket:
    def __init__(self, ifname, ifindex):
        s = socket.socket(sockaddr.AF_INET, sockaddr.SOCK_RAW, wire.PROTO_CARP)
        self.sock = s
        s.setsockopt(sockaddr.SOL_SOCKET, sockaddr.SO_BINDTODEVICE, ifname.encode() + b"\0")
        s.setsockopt(sockaddr.IPPROTO_IP, IP_HDRINCL, 1)
        s.setsockopt(sockaddr.IPPROTO_IP, IP_MULTICAST_IF, _mreqn(b"\0\0\0\0", ifindex))
        s.setsockopt(sockaddr.IPPROTO_IP, IP_MULTICAST_LOOP, 0)
        s.setsockopt(sockaddr.IPPROTO_IP, IP_ADD_MEMBERSHIP, _mreqn(wire.MCAST_V4, ifindex))
        s.setblocking(False)
        self.read_into = sockaddr.reader(s)
        self.sendto = s.sendto

    def fileno(self):
        return self.sock.fileno()

    def close(self):
        self.sock.close()


def gratuitous_arp(frame, mac, ip4):
    """ARP request, broadcast, sender IP = target IP = the VIP (RFC 5227 announcement)."""
    for i in range(6):
        frame[i] = 0xFF
        frame[6 + i] = mac[i]
        frame[22 + i] = mac[i]  # sender hardware address
        frame[32 + i] = 0  # target hardware address: unknown
    struct.pack_into(">HHHBBH", frame, 12, ETH_P_ARP, 1, ETH_P_IP, 6, 4, 1)
    for i in range(4):
        frame[28 + i] = ip4[i]  # sender protocol address
        frame[38 + i] = ip4[i]  # target protocol address


class ArpSocket:
    def __init__(self, ifname, ifindex):
        self.sock = socket.socket(sockaddr.AF_PACKET, sockaddr.SOCK_RAW, 0)  # send only
        self.sock.bind(sockaddr.packet(ifname, ifindex))
        self._frame = bytearray(ARP_FRAME_LEN)

    def announce(self, mac, ip4):
        gratuitous_arp(self._frame, mac, ip4)
        self.sock.send(self._frame)

    def close(self):
        self.sock.close()


# -- IPv6 --------------------------------------------------------------------
IPPROTO_IPV6 = 41
IPPROTO_ICMPV6 = 58
IPV6_UNICAST_HOPS = 16
IPV6_MULTICAST_IF = 17
IPV6_MULTICAST_HOPS = 18
IPV6_MULTICAST_LOOP = 19
IPV6_ADD_MEMBERSHIP = 20
SO_ATTACH_FILTER = 26
ETH_P_IPV6 = 0x86DD
IPV6_HEADER_LEN = 40
MCAST_V6 = b"\xff\x02" + bytes(13) + b"\x12"  # ff02::12
ALL_NODES_V6 = b"\xff\x02" + bytes(13) + b"\x01"  # ff02::1


def _hops255(s, ifindex):
    s.setsockopt(IPPROTO_IPV6, IPV6_UNICAST_HOPS, wire.TTL)
    s.setsockopt(IPPROTO_IPV6, IPV6_MULTICAST_HOPS, wire.TTL)
    s.setsockopt(IPPROTO_IPV6, IPV6_MULTICAST_IF, ifindex)
    s.setsockopt(IPPROTO_IPV6, IPV6_MULTICAST_LOOP, 0)


class Carp6Sender:
    """Raw IPv6 socket for advertisements: the kernel writes the header (hop
    limit 255 by socket option, link-local source for ff02::12), we send the
    36 CARP bytes. It also joins ff02::12 so MLD-snooping switches forward
    the group to us."""

    def __init__(self, ifname, ifindex):
        s = socket.socket(sockaddr.AF_INET6, sockaddr.SOCK_RAW, wire.PROTO_CARP)
        self.sock = s
        s.setsockopt(sockaddr.SOL_SOCKET, sockaddr.SO_BINDTODEVICE, ifname.encode() + b"\0")
        _hops255(s, ifindex)
        mreq = bytearray(20)
        mreq[0:16] = MCAST_V6
        struct.pack_into("i", mreq, 16, ifindex)
        s.setsockopt(IPPROTO_IPV6, IPV6_ADD_MEMBERSHIP, bytes(mreq))
        s.setblocking(False)
        self.sendto = s.sendto
        # Never read: a raw socket still queues matching packets, so keep its buffer tiny.
        s.setsockopt(sockaddr.SOL_SOCKET, 8, 256)  # SO_RCVBUF

    def close(self):
        self.sock.close()


# Classic BPF, run by the kernel on every IPv6 packet of the device: keep
# protocol 112 (no extension headers before CARP), drop what we send
# ourselves. Offsets are from the IPv6 header (SOCK_DGRAM packet socket).
_BPF_LDB_ABS = 0x30
_BPF_JEQ_K = 0x15
_BPF_RET_K = 0x06
_SKF_AD_PKTTYPE = 0xFFFFF004  # SKF_AD_OFF + SKF_AD_PKTTYPE
_PACKET_OUTGOING = 4
_CARP6_FILTER = (
    (_BPF_LDB_ABS, 0, 0, _SKF_AD_PKTTYPE),
    (_BPF_JEQ_K, 3, 0, _PACKET_OUTGOING),  # ours -> drop
    (_BPF_LDB_ABS, 0, 0, 6),  # next header
    (_BPF_JEQ_K, 0, 1, wire.PROTO_CARP),
    (_BPF_RET_K, 0, 0, 0xFFFF),  # accept
    (_BPF_RET_K, 0, 0, 0),  # drop
)


class Carp6Receiver:
    """IPv6 CARP packets of one device, IPv6 header included.

    A raw IPv6 socket hides the hop limit (it needs recvmsg, which
    MicroPython lacks), so read the packets at the link layer instead,
    with a kernel filter so that only CARP reaches Python."""

    def __init__(self, ifname, ifindex):
        s = socket.socket(sockaddr.AF_PACKET, 2, 0)  # SOCK_DGRAM: no Ethernet header; no protocol yet
        self.sock = s
        program = bytearray(8 * len(_CARP6_FILTER))
        for i, (code, jt, jf, k) in enumerate(_CARP6_FILTER):
            struct.pack_into("HBBI", program, 8 * i, code, jt, jf, k)
        fprog = struct.pack("HP", len(_CARP6_FILTER), sockaddr.address_of(program))
        s.setsockopt(sockaddr.SOL_SOCKET, SO_ATTACH_FILTER, fprog)
        # Bind (and so start receiving) only once the filter is in place.
        s.bind(sockaddr.packet(ifname, ifindex, ETH_P_IPV6))
        s.setblocking(False)
        self.read_into = sockaddr.reader(s)

    def fileno(self):
        return self.sock.fileno()

    def close(self):
        self.sock.close()


def neighbour_advertisement(buf, target16, mac, router):
    """Unsolicited NA (RFC 4861 7.2.6): Override set, target link-layer option.
    The kernel fills in the ICMPv6 checksum."""
    buf[0] = 136  # type: neighbour advertisement
    buf[1] = 0
    buf[2] = buf[3] = 0
    buf[4] = 0xA0 if router else 0x20  # Router, Override
    buf[5] = buf[6] = buf[7] = 0
    for i in range(16):
        buf[8 + i] = target16[i]
    buf[24] = 2  # option: target link-layer address
    buf[25] = 1  # length in units of 8 bytes
    for i in range(6):
        buf[26 + i] = mac[i]


class NdSocket:
    """Sends unsolicited neighbour advertisements to ff02::1 with hop limit 255."""

    def __init__(self, ifname, ifindex):
        s = socket.socket(sockaddr.AF_INET6, sockaddr.SOCK_RAW, IPPROTO_ICMPV6)
        self.sock = s
        s.setsockopt(sockaddr.SOL_SOCKET, sockaddr.SO_BINDTODEVICE, ifname.encode() + b"\0")
        _hops255(s, ifindex)
        s.setsockopt(sockaddr.SOL_SOCKET, 8, 256)  # SO_RCVBUF: never read
        self._packet = bytearray(32)
        self._all_nodes = sockaddr.inet6(ALL_NODES_V6, ifindex)

    def announce(self, mac, ip6, router=True):
        neighbour_advertisement(self._packet, ip6, mac, router)
        self.sock.sendto(self._packet, self._all_nodes)

    def close(self):
        self.sock.close()


# -- ICMP echo, for ping tracking -------------------------------------------------
IPPROTO_ICMP = 1
ICMP_ECHO_REPLY = 0
ICMP_ECHO_REQUEST = 8
ECHO_LEN = 16  # 8-byte header and 8 bytes of payload


class IcmpSocket:
    """Echo requests to ping targets, and the replies (raw ICMP: every ICMP
    packet of the host arrives here, so replies are matched by our id)."""

    def __init__(self):
        s = socket.socket(sockaddr.AF_INET, sockaddr.SOCK_RAW, IPPROTO_ICMP)
        self.sock = s
        s.setblocking(False)
        self.read_into = sockaddr.reader(s)
        with open("/dev/urandom", "rb") as f:
            r = f.read(2)
        self.ident = (r[0] << 8) | r[1]
        self._request = bytearray(ECHO_LEN)
        self._request[8:16] = b"carp-trk"

    def fileno(self):
        return self.sock.fileno()

    def send_echo(self, destination, seq):
        """destination: a sockaddr.inet4() address. Raises OSError if unroutable."""
        r = self._request
        r[0] = ICMP_ECHO_REQUEST
        r[1] = 0
        r[2] = r[3] = 0
        struct.pack_into(">HH", r, 4, self.ident, seq)
        total = wire.checksum(r, 0, ECHO_LEN)
        r[2] = total >> 8
        r[3] = total & 0xFF
        self.sock.sendto(r, destination)

    def replies(self, buf, n):
        """Yield (source packed, seq) of our echo replies in buf[:n] (IPv4 packets)."""
        start = 0
        while n - start >= 20:
            length = (buf[start + 2] << 8) | buf[start + 3]
            if length < 20 or start + length > n:
                return
            off = start + (buf[start] & 0x0F) * 4
            if off + 8 <= start + length and buf[off] == ICMP_ECHO_REPLY \
                    and ((buf[off + 4] << 8) | buf[off + 5]) == self.ident:
                yield bytes(buf[start + 12:start + 16]), (buf[off + 6] << 8) | buf[off + 7]
            start += length

    def close(self):
        self.sock.close()
