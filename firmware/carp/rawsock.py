"""Raw sockets for one interface: CARP over IPv4 and gratuitous ARP.

One IPPROTO_CARP socket per interface both receives (every CARP packet on
the device, IP header included) and sends. We write the IPv4 header
ourselves (IP_HDRINCL): the source is the configured address without binding
the socket to it (a bound raw socket would not see multicast), TTL 255, TOS
0x10 and DF as the BSDs send; the kernel fills in ID, length and checksum.
"""
import socket
import struct

from carp import kfilter, packet, sockaddr, wire
from carp.abi import (AF_INET, AF_INET6, AF_PACKET, IP_ADD_MEMBERSHIP, IP_HDRINCL, IP_MULTICAST_IF,
                      IP_MULTICAST_LOOP, IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_IP, IPPROTO_IPV6, IPV6_ADD_MEMBERSHIP,
                      IPV6_MULTICAST_HOPS, IPV6_MULTICAST_IF, IPV6_MULTICAST_LOOP, IPV6_UNICAST_HOPS,
                      SO_ATTACH_FILTER, SO_BINDTODEVICE, SO_RCVBUF, SO_RCVBUFFORCE, SOCK_DGRAM, SOCK_RAW,
                      SOL_SOCKET)

IP_HEADER_LEN = packet.IPV4_HEADER_LEN
ADVERT_PACKET_LEN = IP_HEADER_LEN + wire.HEADER_LEN  # 56
TOS_LOWDELAY = 0x10
FLAG_DF = 0x40

ETH_P_ARP = 0x0806
ETH_P_IP = 0x0800
ARP_FRAME_LEN = 60  # minimum Ethernet frame, padded


# Receive queue of a CARP socket: about 3,600 packets at the 832 bytes of
# truesize measured on veth (about 1 KB with common drivers). A flood pause
# (loop.py) ends when about 128 have gathered, so it never fills; the kernel
# doubles what we ask for, and charges only what is queued.
RECEIVE_QUEUE_BYTES = 3 * 1024 * 1024 // 2
# A sampling socket (loop.py's pacing) only has to become readable, and
# ping replies come a few per second.
SMALL_QUEUE_BYTES = 4096
# What a send-only socket may queue: nothing we read, so the minimum.
SEND_ONLY_QUEUE_BYTES = 256


def _bind_device(s, ifname):
    s.setsockopt(SOL_SOCKET, SO_BINDTODEVICE, ifname.encode() + b"\0")


def receive_queue(s, nbytes):
    """Size the receive queue; past rmem_max with SO_RCVBUFFORCE (we are root)."""
    try:
        s.setsockopt(SOL_SOCKET, SO_RCVBUFFORCE, nbytes)
    except OSError:
        s.setsockopt(SOL_SOCKET, SO_RCVBUF, nbytes)


def attach_filter(s, program):
    """Replace the socket's kernel filter (atomically) with a kfilter.Program."""
    code = program.encode()
    fprog = struct.pack("HP", len(program), sockaddr.address_of(code))
    s.setsockopt(SOL_SOCKET, SO_ATTACH_FILTER, fprog)


class FilteredSocket:
    """A receiving socket whose kernel filter passes datagrams of exactly
    packet_len bytes, read exactly one at a time: MicroPython's readinto
    keeps filling the buffer across datagrams (it cut and lost the one that
    crossed the end), but asked for exactly packet_len it stops after one."""

    packet_len = 0

    def _setup_receive(self, s, queue_bytes):
        s.setblocking(False)
        # read(buf, packet_len): one datagram -> its length, None when none
        # is queued (on MicroPython the socket's own method: no call in between)
        self.read = sockaddr.reader(s)
        attach_filter(s, kfilter.drop_all())
        self.discard(bytearray(self.packet_len), 10000)  # what came before the filter
        receive_queue(s, queue_bytes)

    def receive(self, buf):
        """One datagram into buf -> its length; 0 when none is queued."""
        return self.read(buf, self.packet_len) or 0

    def discard(self, buf, limit):
        """Read and drop queued datagrams, at most limit, until none is left."""
        while limit and self.receive(buf):
            limit -= 1

    def set_filter(self, program):
        attach_filter(self.sock, program)

    def fileno(self):
        return self.sock.fileno()

    def close(self):
        self.sock.close()


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
        buf[packet.OFF4_SOURCE + i] = src4[i]
        buf[packet.OFF4_DESTINATION + i] = dst4[i]


class CarpSocket(FilteredSocket):
    """IPv4 CARP of one device: receives (IP header first) and sends."""

    packet_len = packet.IPV4_PACKET_LEN

    def __init__(self, ifname, ifindex, queue_bytes=RECEIVE_QUEUE_BYTES):
        s = socket.socket(AF_INET, SOCK_RAW, wire.PROTO_CARP)
        self.sock = s
        self._setup_receive(s, queue_bytes)
        _bind_device(s, ifname)
        s.setsockopt(IPPROTO_IP, IP_HDRINCL, 1)
        s.setsockopt(IPPROTO_IP, IP_MULTICAST_IF, _mreqn(b"\0\0\0\0", ifindex))
        s.setsockopt(IPPROTO_IP, IP_MULTICAST_LOOP, 0)
        s.setsockopt(IPPROTO_IP, IP_ADD_MEMBERSHIP, _mreqn(wire.MCAST_V4, ifindex))
        self.sendto = s.sendto


class CarpSender:
    """Send-only IPv4 CARP socket on a virtual MAC device (vmac.py): the
    frames leave with that device's MAC. Carpd still receives on the parent."""

    def __init__(self, ifname, ifindex):
        s = socket.socket(AF_INET, SOCK_RAW, wire.PROTO_CARP)
        self.sock = s
        _bind_device(s, ifname)
        s.setsockopt(IPPROTO_IP, IP_HDRINCL, 1)
        s.setsockopt(IPPROTO_IP, IP_MULTICAST_IF, _mreqn(b"\0\0\0\0", ifindex))
        s.setsockopt(IPPROTO_IP, IP_MULTICAST_LOOP, 0)
        s.setsockopt(SOL_SOCKET, SO_RCVBUF, SEND_ONLY_QUEUE_BYTES)  # never read
        s.setblocking(False)
        self.sendto = s.sendto

    def close(self):
        self.sock.close()


# EtherType, then the ARP header up to the addresses: Ethernet, IPv4, 6, 4, request
_ARP_HEADER = struct.pack(">HHHBBH", ETH_P_ARP, 1, ETH_P_IP, 6, 4, 1)


def gratuitous_arp(frame, mac, ip4):
    """ARP request, broadcast, sender IP = target IP = the VIP (RFC 5227 announcement)."""
    for i in range(6):
        frame[i] = 0xFF
        frame[6 + i] = mac[i]
        frame[22 + i] = mac[i]  # sender hardware address
        frame[32 + i] = 0  # target hardware address: unknown
    for i in range(len(_ARP_HEADER)):
        frame[12 + i] = _ARP_HEADER[i]
    for i in range(4):
        frame[28 + i] = ip4[i]  # sender protocol address
        frame[38 + i] = ip4[i]  # target protocol address


class _Announcer:
    """What ArpSocket and NdSocket share: announce() sends its one frame
    (_transmit) and returns None once sent, else the OSError of one retry.

    Why the retry: a handler that binds its exception (`except OSError as
    e`) makes a frame of 14 words or more, which MicroPython puts on the heap
    for every call (test_frames.py); so the first try binds nothing, and only
    a failure pays for a second one that does."""

    def _send(self):
        try:
            self._transmit()
            return None
        except OSError:
            return self._retry()

    def _retry(self):
        try:
            self._transmit()
            return None
        except OSError as e:
            return e


class ArpSocket(_Announcer):
    def __init__(self, ifname, ifindex):
        self.sock = socket.socket(AF_PACKET, SOCK_RAW, 0)  # send only
        self.sock.bind(sockaddr.packet(ifname, ifindex))
        self._frame = bytearray(ARP_FRAME_LEN)

    def announce(self, mac, ip4):
        """A gratuitous ARP for ip4 -> None once sent, else the OSError (_Announcer)."""
        gratuitous_arp(self._frame, mac, ip4)
        return self._send()

    def _transmit(self):
        self.sock.send(self._frame)

    def close(self):
        self.sock.close()


# -- IPv6 --------------------------------------------------------------------
ETH_P_IPV6 = 0x86DD
IPV6_HEADER_LEN = packet.IPV6_HEADER_LEN
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
        s = socket.socket(AF_INET6, SOCK_RAW, wire.PROTO_CARP)
        self.sock = s
        _bind_device(s, ifname)
        _hops255(s, ifindex)
        mreq = bytearray(20)
        mreq[0:16] = MCAST_V6
        struct.pack_into("i", mreq, 16, ifindex)
        s.setsockopt(IPPROTO_IPV6, IPV6_ADD_MEMBERSHIP, bytes(mreq))
        s.setblocking(False)
        self.sendto = s.sendto
        # Never read: a raw socket still queues matching packets, so keep its queue tiny.
        s.setsockopt(SOL_SOCKET, SO_RCVBUF, SEND_ONLY_QUEUE_BYTES)

    def close(self):
        self.sock.close()


class Carp6Receiver(FilteredSocket):
    """IPv6 CARP packets of one device, IPv6 header included.

    A raw IPv6 socket hides the hop limit (it needs recvmsg, which
    MicroPython lacks), so read the packets at the link layer instead, with
    a kernel filter (kfilter.program6) so that only CARP reaches Python."""

    packet_len = packet.IPV6_PACKET_LEN

    def __init__(self, ifname, ifindex, queue_bytes=RECEIVE_QUEUE_BYTES):
        s = socket.socket(AF_PACKET, SOCK_DGRAM, 0)  # no Ethernet header; no protocol yet
        self.sock = s
        self._setup_receive(s, queue_bytes)
        # Bind (and so start receiving) only once the filter is in place.
        s.bind(sockaddr.packet(ifname, ifindex, ETH_P_IPV6))


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


class NdSocket(_Announcer):
    """Sends unsolicited neighbour advertisements to ff02::1 with hop limit 255."""

    def __init__(self, ifname, ifindex):
        s = socket.socket(AF_INET6, SOCK_RAW, IPPROTO_ICMPV6)
        self.sock = s
        _bind_device(s, ifname)
        _hops255(s, ifindex)
        s.setsockopt(SOL_SOCKET, SO_RCVBUF, SEND_ONLY_QUEUE_BYTES)  # never read
        self._packet = bytearray(32)
        self._all_nodes = sockaddr.inet6(ALL_NODES_V6, ifindex)

    def announce(self, mac, ip6, router=True):
        """An unsolicited NA for ip6 -> None once sent, else the OSError (_Announcer)."""
        neighbour_advertisement(self._packet, ip6, mac, router)
        return self._send()

    def _transmit(self):
        self.sock.sendto(self._packet, self._all_nodes)

    def close(self):
        self.sock.close()


# -- ICMP echo, for ping tracking -------------------------------------------------
ICMP_ECHO_REPLY = 0
ICMP_ECHO_REQUEST = 8
ECHO_LEN = 16  # 8-byte header and 8 bytes of payload
ECHO_REPLY_LEN = IP_HEADER_LEN + ECHO_LEN


def echo_reply_filter(ident):
    """Our echo replies only: every ICMP packet of the host reaches a raw ICMP socket."""
    prog = kfilter.Program()
    prog.require(kfilter.LD_W_LEN, 0, ECHO_REPLY_LEN)
    prog.require(kfilter.LD_B_ABS, 0, packet.VERSION_IHL)
    prog.require(kfilter.LD_B_ABS, IP_HEADER_LEN, ICMP_ECHO_REPLY)
    prog.require(kfilter.LD_H_ABS, IP_HEADER_LEN + 4, ident)
    prog.emit(kfilter.RET_K, k=kfilter.KEEP)
    return prog


class IcmpSocket(FilteredSocket):
    """Echo requests to ping targets, and the replies (matched by our id)."""

    packet_len = ECHO_REPLY_LEN

    def __init__(self):
        s = socket.socket(AF_INET, SOCK_RAW, IPPROTO_ICMP)
        self.sock = s
        self._setup_receive(s, SMALL_QUEUE_BYTES)
        with open("/dev/urandom", "rb") as f:
            r = f.read(2)
        self.ident = (r[0] << 8) | r[1]
        self.set_filter(echo_reply_filter(self.ident))
        self._request = bytearray(ECHO_LEN)
        self._request[8:16] = b"carp-trk"

    def send_echo(self, destination, seq):
        """destination: a sockaddr.inet4() address. -> False if it could not
        be sent (no route)."""
        self._fill(seq)
        return self._send(destination)

    def _send(self, destination):
        try:
            self.sock.sendto(self._request, destination)
        except OSError:
            return False
        return True

    def _fill(self, seq):
        r = self._request
        r[0] = ICMP_ECHO_REQUEST
        r[1] = r[2] = r[3] = 0
        r[4] = self.ident >> 8
        r[5] = self.ident & 0xFF
        r[6] = seq >> 8
        r[7] = seq & 0xFF
        total = wire.checksum(r, 0, ECHO_LEN)
        r[2] = total >> 8
        r[3] = total & 0xFF

    def reply_seq(self, buf, n):
        """The sequence number of our echo reply in buf[:n], or -1."""
        if n != ECHO_REPLY_LEN or buf[0] != packet.VERSION_IHL or buf[IP_HEADER_LEN] != ICMP_ECHO_REPLY \
                or ((buf[IP_HEADER_LEN + 4] << 8) | buf[IP_HEADER_LEN + 5]) != self.ident:
            return -1
        return (buf[IP_HEADER_LEN + 6] << 8) | buf[IP_HEADER_LEN + 7]
