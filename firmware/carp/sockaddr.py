"""Socket addresses for both interpreters.

MicroPython's unix port takes raw `struct sockaddr` bytes where CPython takes
tuples. Everything that binds or sends builds its address here, once, so the
send path reuses a preallocated object.
"""
import socket
import struct
import sys

from carp.abi import AF_INET, AF_INET6, AF_NETLINK, AF_PACKET

MICROPYTHON = sys.implementation.name == "micropython"


def ip4_text(packed):
    return "%d.%d.%d.%d" % (packed[0], packed[1], packed[2], packed[3])


def inet4(packed, port=0):
    """Destination for sendto (or bind) on an AF_INET socket."""
    if MICROPYTHON:
        sa = bytearray(16)
        struct.pack_into("H", sa, 0, AF_INET)  # sa_family is host order
        struct.pack_into(">H", sa, 2, port)
        sa[4:8] = packed
        return bytes(sa)
    return (ip4_text(packed), port)


def ip6_text(packed):
    return socket.inet_ntop(AF_INET6, bytes(packed))


def inet6(packed, scope_id=0):
    """Destination for sendto on an AF_INET6 socket (scope: the ifindex for link-local)."""
    if MICROPYTHON:
        sa = bytearray(28)
        struct.pack_into("H", sa, 0, AF_INET6)
        sa[8:24] = packed
        struct.pack_into("I", sa, 24, scope_id)
        return bytes(sa)
    return (ip6_text(packed), 0, 0, scope_id)


def ip_text(packed):
    return ip4_text(packed) if len(packed) == 4 else ip6_text(packed)


def address_of(buf):
    """Memory address of a bytearray, for the one kernel API that wants a
    pointer inside an option (the socket filter program)."""
    if MICROPYTHON:
        import uctypes
        return uctypes.addressof(buf)
    import ctypes
    return ctypes.addressof(ctypes.c_char.from_buffer(buf))


def netlink(groups=0):
    if MICROPYTHON:
        sa = bytearray(12)
        struct.pack_into("HHII", sa, 0, AF_NETLINK, 0, 0, groups)
        return bytes(sa)
    return (0, groups)


def packet(ifname, ifindex, protocol=0):
    """Link-layer address to bind an AF_PACKET socket to one interface."""
    if MICROPYTHON:
        sa = bytearray(20)
        struct.pack_into("H", sa, 0, AF_PACKET)
        struct.pack_into(">H", sa, 2, protocol)
        struct.pack_into("i", sa, 4, ifindex)
        return bytes(sa)
    return (ifname, protocol)


def reader(sock):
    """read(buf, n): one datagram into buf -> its length, or None when none
    is queued on the non-blocking sock. MicroPython's readinto does exactly
    that, natively: nothing between the loop and the socket, no try block."""
    recv_into = getattr(sock, "recv_into", None)
    if recv_into is None:
        return sock.readinto

    def read(buf, n=0):  # CPython: recv_into raises BlockingIOError instead (n=0: all buf)
        try:
            return recv_into(buf, n)
        except BlockingIOError:
            return None
    return read


def parse_ip(text):
    """'a.b.c.d' or an IPv6 address -> (family, packed bytes); ValueError if neither."""
    for family in (AF_INET, AF_INET6):
        try:
            return family, bytes(socket.inet_pton(family, text))
        except (OSError, ValueError):
            pass
    raise ValueError(text)
