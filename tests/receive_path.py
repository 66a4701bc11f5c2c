"""The receive path without sockets: real Vhid objects on a stand-in
device, packet.Inbox.parse4/6 for the verdict, the kernel filters (kfilter.py)
run by tests/bpf.py, and the vhid's Machine for what an accepted
advertisement does. Shared by tests/unit/test_packet.py and the fuzzer
(tests/fuzz_receive.py, `make fuzz`)."""
import socket

from tests import bpf
from tests import forge
from carp import cli, kfilter, machine, packet
from carp.vhid import Vhid

SOURCE4 = "10.9.0.1"  # ours
PEER4 = "10.9.0.2"
STRANGER4 = "10.9.0.66"
LINK_LOCAL = "fe80::1"
PEER6 = "fe80::2"
STRANGER6 = "fe80::66"
VIP4 = "10.9.0.254"
VIP6 = "fd09::254"
COUNTER = b"\x42" * 8  # ours: an advertisement carrying it is our own, looped back

# After these reasons the kernel filter has nothing to say (checksum, HMAC,
# loop, the flood's HMAC budget).
USER_SPACE_ONLY = (packet.DROP_CHECKSUM, packet.DROP_OWN, packet.DROP_HMAC, packet.DROP_UNVERIFIED)


class Device:
    """What a Vhid needs of its interface."""
    index = 7
    name = "lan0"


def group(vhid, peers=(), passphrase=forge.PASSPHRASE.decode()):
    argv = ["-i", "lan0", "-v", str(vhid), "-p", passphrase, "-a", "%s/24" % VIP4, "-a", "%s/64" % VIP6]
    for p in peers:
        argv += ["--peer", p]
    cfg = cli.build_config(cli.parse_args(argv))
    return Vhid(cfg, Device(), socket.inet_aton(SOURCE4), socket.inet_pton(socket.AF_INET6, LINK_LOCAL),
                 COUNTER, len(packet.DROP_REASONS))


class Receiver:
    """vhid 1 multicast, vhid 2 unicast with one peer per family."""

    def __init__(self):
        self.groups = [group(1), group(2, peers=(PEER4, PEER6))]
        self.by_vhid = [None] * 256
        for g in self.groups:
            self.by_vhid[g.vhid] = g
        self.filter4 = kfilter.program4([(g.vhid, g.has_peers, g.peers4) for g in self.groups]).encode()
        self.filter6 = kfilter.program6([(g.vhid, g.has_peers, g.peers6) for g in self.groups]).encode()
        self.inbox = packet.Inbox(1024)
        self.buf = self.inbox.buf
        self.counts = [0] * len(packet.DROP_REASONS)
        self.accepted = 0

    def verdict(self, family, datagram):
        """-> (parse verdict, bytes the kernel filter keeps)."""
        datagram = datagram[:len(self.buf)]  # as a read of that size would
        n = len(datagram)
        self.buf[:n] = datagram
        parse = self.inbox.parse4 if family == 4 else self.inbox.parse6
        verdict = parse(n, self.by_vhid)
        kept = bpf.run(self.filter4 if family == 4 else self.filter6, datagram)
        return verdict, kept

    def receive(self, family, datagram, now):
        """What the daemon does with one datagram that reached it; returns
        (verdict, machine actions)."""
        verdict, _ = self.verdict(family, datagram)
        if verdict != packet.ACCEPTED:
            self.counts[verdict] += 1
            return verdict, 0
        self.accepted += 1
        self.inbox.tie = machine.TIE_PEER_WINS
        actions = self.inbox.vhid.machine.on_advert(now, self.inbox)
        return verdict, actions


def valid(family, vhid=1, source=None, **carp):
    """A valid advertisement for the Receiver's vhid 1 (or 2, from its peer)."""
    c = forge.carp(vhid=vhid, vips4=[VIP4], vips6=[VIP6], **carp)
    if family == 4:
        return forge.ipv4(source or (PEER4 if vhid == 2 else STRANGER4), c)
    return forge.ipv6(source or (PEER6 if vhid == 2 else STRANGER6), c)
