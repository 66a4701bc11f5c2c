"""Linux ABI numbers: from the interpreter's own modules where they have
them, else from one small table per CPU family, chosen at run time.

Most socket numbers are the same on every Linux CPU, but MIPS (ath79,
ramips, lantiq: the most common OpenWrt routers) renumbered some of them:
SOCK_DGRAM is 1 (SOCK_STREAM is 2), SOL_SOCKET is 0xffff, SO_RCVBUF 0x1002,
and many errnos (EADDRNOTAVAIL is 126). Nothing else in firmware/carp may
spell such a number: tests/unit/test_abi.py fails on a literal socket type,
level or option elsewhere.
"""
import socket

try:
    import errno
except ImportError:  # MicroPython before 1.20
    import uerrno as errno

# MIPS is the one Linux ABI with SOCK_DGRAM 1 (arch/mips/include/uapi/asm/socket.h);
# MicroPython's socket module has SOCK_DGRAM but not SO_RCVBUF, so this picks the table.
MIPS = socket.SOCK_DGRAM == 1

AF_INET = socket.AF_INET
AF_INET6 = socket.AF_INET6
AF_NETLINK = 16  # linux/socket.h, the same on every CPU
AF_PACKET = 17
SOCK_DGRAM = socket.SOCK_DGRAM
SOCK_RAW = getattr(socket, "SOCK_RAW", 3)  # 3 on MIPS too
SOL_SOCKET = socket.SOL_SOCKET
MSG_PEEK = getattr(socket, "MSG_PEEK", 2)  # linux/socket.h, the same on every CPU; not in MicroPython

# (generic, MIPS): asm-generic/socket.h and arch/mips/include/uapi/asm/socket.h
_SOCKET_OPTIONS = {
    "SO_RCVBUF": (8, 0x1002),
    "SO_RCVBUFFORCE": (33, 33),
    "SO_BINDTODEVICE": (25, 25),
    "SO_ATTACH_FILTER": (26, 26),
}
# (generic, MIPS): asm-generic/errno*.h and arch/mips/include/uapi/asm/errno.h
_ERRNOS = {
    "EAGAIN": (11, 11),
    "ENODEV": (19, 19),
    "EADDRNOTAVAIL": (99, 126),
    "ETIMEDOUT": (110, 145),
    "EOPNOTSUPP": (95, 122),
}


def _pick(module, name, table):
    value = getattr(module, name, None)
    if value is None:
        value = table[name][1 if MIPS else 0]
    return value


SO_RCVBUF = _pick(socket, "SO_RCVBUF", _SOCKET_OPTIONS)
SO_RCVBUFFORCE = _pick(socket, "SO_RCVBUFFORCE", _SOCKET_OPTIONS)
SO_BINDTODEVICE = _pick(socket, "SO_BINDTODEVICE", _SOCKET_OPTIONS)
SO_ATTACH_FILTER = _pick(socket, "SO_ATTACH_FILTER", _SOCKET_OPTIONS)

EAGAIN = _pick(errno, "EAGAIN", _ERRNOS)
ENODEV = _pick(errno, "ENODEV", _ERRNOS)
EADDRNOTAVAIL = _pick(errno, "EADDRNOTAVAIL", _ERRNOS)
ETIMEDOUT = _pick(errno, "ETIMEDOUT", _ERRNOS)
EOPNOTSUPP = _pick(errno, "EOPNOTSUPP", _ERRNOS)

# Protocol levels and IP options: linux/in.h and linux/in6.h, one value on every CPU.
IPPROTO_IP = 0
IPPROTO_ICMP = 1
IPPROTO_IPV6 = 41
IPPROTO_ICMPV6 = 58
IP_HDRINCL = 3
IP_MULTICAST_IF = 32
IP_MULTICAST_LOOP = 34
IP_ADD_MEMBERSHIP = 35
IPV6_UNICAST_HOPS = 16
IPV6_MULTICAST_IF = 17
IPV6_MULTICAST_HOPS = 18
IPV6_MULTICAST_LOOP = 19
IPV6_ADD_MEMBERSHIP = 20
NETLINK_ROUTE = 0
