"""Loaded first by the foreign CPython in the tests (tests/foreign/python3),
never on a router: it works around two socket options that qemu-user
(bookworm-backports' 10.0) gets wrong, which a real MIPS or s390x kernel
takes as they are. Both only for a socket carpd has bound to its interface
with SO_BINDTODEVICE, and only when qemu has refused the call; everything
else reaches qemu and the kernel unchanged.

- IPPROTO_IPV6/IPV6_MULTICAST_IF: qemu has no translation and answers
  ENOPROTOOPT (7.2 too). Skipped: the socket is bound to the device, so the
  kernel sends its multicast out of that device anyway.
- IPPROTO_IP/IP_ADD_MEMBERSHIP with a struct ip_mreqn on a 64-bit target
  (s390x): qemu reads imr_ifindex as a 64-bit long, the kernel gets a wrong
  index and, with no multicast route in the lab, answers ENODEV. Retried as
  a struct ip_mreq naming the device by its IPv4 address (SIOCGIFADDR, which
  qemu translates): the same interface joins the same group.
- Netlink RTM_NEWADDR's IFA_FLAGS (a u32) on a big-endian target: qemu
  swaps the netlink header and each attribute's header, but not this
  attribute's value, so the kernel reads IFA_F_NODAD (2) as 0x02000000 and
  puts the VIP through duplicate address detection: about a second of
  "tentative" in which the new master drops the client's packets (the
  IPv6 outage seen under qemu on big-endian MIPS and s390x, not ours; see
  the IPv6 failover test). The value is swapped here, so that qemu's
  (absent) translation hands the kernel what the daemon meant.
"""
import errno
import fcntl
import socket
import struct
import sys
import weakref

_setsockopt = socket.socket.setsockopt
_device = weakref.WeakKeyDictionary()  # socket -> device it is bound to (qemu cannot read that back)
SO_BINDTODEVICE = 25  # the same on every Linux architecture
SIOCGIFADDR = 0x8915  # the same on every Linux architecture
AF_NETLINK = 16
RTM_NEWADDR = 20
IFA_FLAGS = 8
GUEST_ORDER_DIFFERS = sys.byteorder == "big"  # the lab's host is x86-64


def _ipv4_address_of(sock, device):
    ifreq = fcntl.ioctl(sock.fileno(), SIOCGIFADDR, struct.pack("16s16x", device))
    return ifreq[20:24]


def _instead_of_refused(sock, level, option, value, err):
    """What the kernel would have done without qemu in the way, or raise."""
    device = _device.get(sock)
    if device is None:
        raise err
    if (err.errno == errno.ENOPROTOOPT
            and (level, option) == (socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF)):
        return None
    if (err.errno == errno.ENODEV and not isinstance(value, int) and len(value) == 12
            and (level, option) == (socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP)):
        return _setsockopt(sock, level, option, bytes(value[0:4]) + _ipv4_address_of(sock, device))
    raise err


def _setsockopt_under_qemu(self, level, option, *value):
    try:
        result = _setsockopt(self, level, option, *value)
    except OSError as e:
        if len(value) != 1:
            raise
        return _instead_of_refused(self, level, option, value[0], e)
    if (level, option) == (socket.SOL_SOCKET, SO_BINDTODEVICE):
        _device[self] = bytes(value[0]).rstrip(b"\0")
    return result


def _ifa_flags_for_qemu(msg):
    """msg with every RTM_NEWADDR's IFA_FLAGS value byte-swapped."""
    msg = bytearray(msg)
    at = 0
    while at + 16 <= len(msg):
        length, kind = struct.unpack_from("=IH", msg, at)
        if length < 16:
            break
        if kind == RTM_NEWADDR:
            attr = at + 16 + 8  # nlmsghdr, ifaddrmsg
            while attr + 4 <= at + length:
                alen, atype = struct.unpack_from("=HH", msg, attr)
                if alen < 4:
                    break
                if atype == IFA_FLAGS and alen == 8:
                    msg[attr + 4:attr + 8] = msg[attr + 4:attr + 8][::-1]
                attr += (alen + 3) & ~3
        at += (length + 3) & ~3
    return msg


_sendto = socket.socket.sendto


def _sendto_under_qemu(self, data, *rest):
    if GUEST_ORDER_DIFFERS and self.family == AF_NETLINK:
        data = _ifa_flags_for_qemu(data)
    return _sendto(self, data, *rest)


socket.socket.setsockopt = _setsockopt_under_qemu
socket.socket.sendto = _sendto_under_qemu
