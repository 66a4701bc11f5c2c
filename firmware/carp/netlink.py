"""rtnetlink: look up links, follow carrier changes, add and remove addresses.

Plain NETLINK_ROUTE messages packed with struct, so it runs on MicroPython
(no pyroute2, no `ip` subprocess). Host byte order throughout, as netlink is.
"""
import select
import socket
import struct

from carp import sockaddr
from carp.abi import AF_INET6, AF_NETLINK, EADDRNOTAVAIL, ENODEV, ETIMEDOUT, NETLINK_ROUTE, SOCK_RAW

RTMGRP_LINK = 1

NLMSG_ERROR = 2
NLMSG_DONE = 3
RTM_NEWLINK = 16
RTM_DELLINK = 17
RTM_GETLINK = 18
RTM_NEWADDR = 20
RTM_DELADDR = 21
RTM_GETADDR = 22

NLM_F_REQUEST = 0x1
NLM_F_ACK = 0x4
NLM_F_REPLACE = 0x100
NLM_F_CREATE = 0x400
NLM_F_DUMP = 0x300

IFLA_ADDRESS = 1
IFLA_IFNAME = 3
IFA_ADDRESS = 1
IFA_LOCAL = 2
IFA_FLAGS = 8
IFA_F_NODAD = 0x02

IFF_UP = 0x1
IFF_RUNNING = 0x40  # operationally up: carrier present

HDR = "IHHII"  # nlmsghdr: len, type, flags, seq, pid
HDR_LEN = 16
IFINFOMSG = "BBHiII"  # family, pad, type, index, flags, change
IFINFOMSG_LEN = 16
IFADDRMSG = "BBBBi"  # family, prefixlen, flags, scope, index
IFADDRMSG_LEN = 8

REQUEST_TIMEOUT_MS = 1000


class NetlinkError(OSError):
    pass


def _align(n):
    return (n + 3) & ~3


def _attr(kind, payload):
    out = bytearray(_align(4 + len(payload)))
    struct.pack_into("HH", out, 0, 4 + len(payload), kind)
    out[4:4 + len(payload)] = payload
    return out


def attrs(buf, off, end):
    """Yield (type, start, length) of the rtattrs in buf[off:end]."""
    while off + 4 <= end:
        length, kind = struct.unpack_from("HH", buf, off)
        if length < 4:
            return
        yield kind & 0x3FFF, off + 4, length - 4
        off += _align(length)


def messages(buf, n):
    """Yield (type, flags, seq, start, length) of each netlink message in buf[:n]."""
    off = 0
    while off + HDR_LEN <= n:
        length, kind, flags, seq, _pid = struct.unpack_from(HDR, buf, off)
        if length < HDR_LEN or off + length > n:
            return
        yield kind, flags, seq, off, length
        off += _align(length)


def link_running(flags):
    return (flags & (IFF_UP | IFF_RUNNING)) == (IFF_UP | IFF_RUNNING)


class Link:
    def __init__(self, name, index, flags, mac):
        self.name = name
        self.index = index
        self.flags = flags
        self.mac = mac

    def running(self):
        return link_running(self.flags)


def parse_link(buf, off, length):
    """A RTM_NEWLINK message at buf[off:off+length] -> Link."""
    _fam, _pad, _type, index, flags, _change = struct.unpack_from(IFINFOMSG, buf, off + HDR_LEN)
    name, mac = None, None
    for kind, start, size in attrs(buf, off + HDR_LEN + IFINFOMSG_LEN, off + length):
        if kind == IFLA_IFNAME:
            name = bytes(buf[start:start + size]).rstrip(b"\0").decode()
        elif kind == IFLA_ADDRESS:
            mac = bytes(buf[start:start + size])
    return Link(name, index, flags, mac)


class Route:
    """Request/acknowledge channel to the kernel (one request at a time)."""

    def __init__(self):
        self.sock = socket.socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE)
        self.sock.bind(sockaddr.netlink(0))
        # Non-blocking: MicroPython's readinto() keeps reading until the buffer
        # is full unless the socket would block; poll() says when to read.
        self.sock.setblocking(False)
        self._kernel = sockaddr.netlink(0)
        self._read = sockaddr.reader(self.sock)
        # 8 KB holds the kernel's dump batches (it sizes them to what we
        # read with, from one page up) and any single link message.
        self._buf = bytearray(8192)
        self._seq = 1
        self._poll = select.poll()
        self._poll.register(self.sock.fileno(), select.POLLIN)

    def close(self):
        self.sock.close()

    def _request(self, kind, flags, body, on_message=None):
        """Send one request; collect replies until its ACK or DONE; raise on error."""
        self._seq = (self._seq + 1) & 0x7FFFFFFF
        seq = self._seq
        msg = bytearray(HDR_LEN) + body
        struct.pack_into(HDR, msg, 0, len(msg), kind, NLM_F_REQUEST | flags, seq, 0)
        self.sock.sendto(msg, self._kernel)
        for _ in range(1000):  # bounded: a dump of a few hundred links at most
            if not self._poll.poll(REQUEST_TIMEOUT_MS):
                raise NetlinkError(ETIMEDOUT, "netlink: no answer from the kernel")
            n = self._read(self._buf) or 0
            for mkind, _mflags, mseq, off, length in messages(self._buf, n):
                if mseq != seq:
                    continue
                if mkind == NLMSG_ERROR:
                    err = struct.unpack_from("i", self._buf, off + HDR_LEN)[0]
                    if err:
                        raise NetlinkError(-err, "netlink error %d" % -err)
                    return
                if mkind == NLMSG_DONE:
                    return
                if on_message is not None:
                    on_message(self._buf, mkind, off, length)
        raise NetlinkError(ETIMEDOUT, "netlink: reply too long")

    def get_link(self, name):
        body = bytearray(IFINFOMSG_LEN)
        body += _attr(IFLA_IFNAME, name.encode() + b"\0")
        found = []

        def take(buf, kind, off, length):
            if kind == RTM_NEWLINK:
                found.append(parse_link(buf, off, length))

        try:
            self._request(RTM_GETLINK, NLM_F_ACK, body, take)
        except NetlinkError as e:
            if e.args[0] == ENODEV:
                return None
            raise
        return found[0] if found else None

    def addresses(self, family, index):
        """Addresses (packed bytes, prefixlen) of one family on one link, kernel order."""
        body = bytearray(IFADDRMSG_LEN)
        struct.pack_into(IFADDRMSG, body, 0, family, 0, 0, 0, 0)
        found = []

        def take(buf, kind, off, length):
            if kind != RTM_NEWADDR:
                return
            _fam, plen, _fl, _scope, ifindex = struct.unpack_from(IFADDRMSG, buf, off + HDR_LEN)
            if ifindex != index:
                return
            local = address = None
            for akind, start, size in attrs(buf, off + HDR_LEN + IFADDRMSG_LEN, off + length):
                if akind == IFA_LOCAL:
                    local = bytes(buf[start:start + size])
                elif akind == IFA_ADDRESS:
                    address = bytes(buf[start:start + size])
            found.append((local or address, plen))

        self._request(RTM_GETADDR, NLM_F_DUMP, body, take)
        return found

    def _address_request(self, kind, flags, family, packed, prefixlen, index):
        body = bytearray(IFADDRMSG_LEN)
        struct.pack_into(IFADDRMSG, body, 0, family, prefixlen, 0, 0, index)
        body += _attr(IFA_LOCAL, packed)
        body += _attr(IFA_ADDRESS, packed)
        if family == AF_INET6:
            body += _attr(IFA_FLAGS, struct.pack("I", IFA_F_NODAD))
        self._request(kind, NLM_F_ACK | flags, body)

    def add_address(self, family, packed, prefixlen, index):
        """Add (or refresh) an address; idempotent."""
        self._address_request(RTM_NEWADDR, NLM_F_CREATE | NLM_F_REPLACE, family, packed, prefixlen, index)

    def del_address(self, family, packed, prefixlen, index):
        """Remove an address; True if it was there."""
        try:
            self._address_request(RTM_DELADDR, 0, family, packed, prefixlen, index)
        except NetlinkError as e:
            if e.args[0] == EADDRNOTAVAIL:
                return False
            raise
        return True


class LinkEvents:
    """Kernel notifications of link changes (carrier, admin state, removal)."""

    def __init__(self):
        self.sock = socket.socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE)
        self.sock.bind(sockaddr.netlink(RTMGRP_LINK))
        self.sock.setblocking(False)
        self._read = sockaddr.reader(self.sock)
        self._buf = bytearray(8192)  # link notifications are 1-3 KB each

    def fileno(self):
        return self.sock.fileno()

    def close(self):
        self.sock.close()

    def read(self):
        """[(index, running, name)] from one datagram; None if the socket
        overflowed (then the caller must re-read every link it cares about)."""
        try:
            n = self._read(self._buf)
        except OSError:  # ENOBUFS: events were lost
            return None
        if not n:
            return []
        changes = []
        end = 0
        for kind, _flags, _seq, off, length in messages(self._buf, n):
            end = off + _align(length)
            if kind == RTM_NEWLINK or kind == RTM_DELLINK:
                link = parse_link(self._buf, off, length)
                changes.append((link.index, kind == RTM_NEWLINK and link.running(), link.name))
        if end < n:  # MicroPython's readinto filled the buffer across datagrams and cut the last
            return None
        return changes
