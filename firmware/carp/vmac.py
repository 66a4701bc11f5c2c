"""Virtual MAC (`option vmac`): the VIPs of a vhid live on a macvlan whose MAC
is 00:00:5e:00:01:<vhid>, as OpenBSD's carp(4) answers, so a failover needs
no ARP/ND update in clients or switches.

The macvlan is up (answering, sending advertisements, gratuitous ARP and
unsolicited NA) only while MASTER; as BACKUP it is down, so it neither answers
ARP/ND for the VIPs nor sends a frame from the virtual MAC, and a down macvlan
is not in the parent's receive filter either. carpd keeps receiving on the
parent.

Sysctls, on the macvlan:
- arp_ignore=1: it answers only for the addresses on itself (the VIPs), not
  for the router's other addresses with the virtual MAC;
- rp_filter=0, accept_local=1: replies routed via the parent and our own VIPs
  as sources are not dropped as martians (keepalived sets the same);
- IPv6 accept_dad=0: the link-local address derived from the virtual MAC is
  the same on both routers; only the master has it up, and it must be usable
  at once, not after a second of duplicate detection.
and two on the parent, as keepalived's documentation asks, since Linux treats
every address as the host's, on every device (the weak host model):
- arp_ignore=1: else the parent answers ARP for the VIP with its own MAC as
  well, and the client keeps whichever reply came first;
- arp_announce=2: else the parent's own ARP requests (to reach a client that
  pinged the VIP) carry the VIP as sender with the parent's MAC, and the
  client, being asked, learns the VIP at the parent's MAC (seen in the lab).
Both are put back when the last macvlan on that parent goes.
"""
from carp import rawsock
from carp.abi import EOPNOTSUPP

PREFIX = b"\x00\x00\x5e\x00\x01"
KIND = b"macvlan"  # the kernel's link type (a test asks for one no kernel has)


def mac_of(vhid):
    return PREFIX + bytes((vhid,))


def mac_text(mac):
    return ":".join("%02x" % b for b in mac)


def device_name(parent_index, vhid):
    """At most 15 bytes (IFNAMSIZ), unique per parent and vhid, and the same
    for every run, so a crashed run's device is found and removed."""
    return "vmac%d.%d" % (parent_index, vhid)


def _sysctl(path, value):
    try:
        with open(path) as f:
            old = f.read().strip()
        with open(path, "w") as f:
            f.write(value)
        return old
    except OSError:
        return None  # no IPv6 in this kernel, or a read-only /proc/sys


class MacvlanMissing(Exception):
    pass


# parent device name -> [macvlans on it, [(sysctl path, value before)]]
_parents = {}
PARENT_SYSCTLS = (("arp_ignore", "1"), ("arp_announce", "2"))


def _hold_parent(name):
    entry = _parents.get(name)
    if entry is None:
        saved = []
        for key, value in PARENT_SYSCTLS:
            path = "/proc/sys/net/ipv4/conf/%s/%s" % (name, key)
            old = _sysctl(path, value)
            if old is not None and old != value:
                saved.append((path, old))
        entry = _parents[name] = [0, saved]
    entry[0] += 1


def _release_parent(name):
    entry = _parents.get(name)
    if entry is None:
        return
    entry[0] -= 1
    if entry[0] <= 0:
        del _parents[name]
        for path, old in entry[1]:
            _sysctl(path, old)


class VirtualMac:
    def __init__(self, route, parent, vhid, ipv6):
        self.route = route
        self.parent = parent
        self.mac = mac_of(vhid)
        self.text = mac_text(self.mac)
        self.name = device_name(parent.index, vhid)
        self.up = False
        leftover = route.get_link(self.name)
        if leftover is not None:  # from a run that crashed
            route.del_link(leftover.index)
        try:
            route.add_macvlan(self.name, parent.index, self.mac, KIND)
        except OSError as e:
            # A kernel without the link type answers EOPNOTSUPP (rtnl_newlink).
            if e.args[0] == EOPNOTSUPP:
                raise MacvlanMissing("this kernel has no macvlan devices: install kmod-macvlan "
                                     "(opkg install kmod-macvlan) or set vmac '0'")
            raise MacvlanMissing("cannot create the virtual MAC device %s on %s: %s" % (self.name, parent.name, e))
        link = route.get_link(self.name)
        self.index = link.index
        conf = "/proc/sys/net/ipv4/conf/%s/" % self.name
        _sysctl(conf + "arp_ignore", "1")
        _sysctl(conf + "rp_filter", "0")
        _sysctl(conf + "accept_local", "1")
        _sysctl("/proc/sys/net/ipv6/conf/%s/accept_dad" % self.name, "0")
        _hold_parent(parent.name)
        self.carp = rawsock.CarpSender(self.name, self.index)
        self.carp6_send = rawsock.Carp6Sender(self.name, self.index) if ipv6 else None
        self.nd = rawsock.NdSocket(self.name, self.index) if ipv6 else None
        self.arp = rawsock.ArpSocket(self.name, self.index)

    def set_up(self, up):
        if up != self.up:
            self.route.set_up(self.index, up)
            self.up = up

    def remove(self):
        for s in (self.carp, self.carp6_send, self.nd, self.arp):
            if s is not None:
                s.close()
        try:
            self.route.del_link(self.index)
        except OSError:
            pass
        _release_parent(self.parent.name)
