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
