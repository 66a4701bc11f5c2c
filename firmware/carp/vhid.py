"""A running vhid: its machine, its precomputed advertisement, where it sends
it, and what it has seen (for status). No event loop here."""
import time

from carp import clock, machine, packet, rawsock, sockaddr, wire
from carp.compat import const
from carp.packet import OFF4_DESTINATION
from carp.rawsock import IP_HEADER_LEN
from carp.wire import equal_at, set_timing

AF_INET = sockaddr.AF_INET
AF_INET6 = sockaddr.AF_INET6
# Where the timing fields sit in our IPv4 packet (test_packet.py checks them)
_SKEW_AT = const(20 + 2)  # IP_HEADER_LEN + wire.OFF_ADVSKEW
_DEMOTE_AT = const(20 + 4)  # + wire.OFF_DEMOTE
_BASE_AT = const(20 + 5)  # + wire.OFF_ADVBASE


def random_counter():
    with open("/dev/urandom", "rb") as f:
        return f.read(wire.COUNTER_LEN)


class Vhid:
    def __init__(self, cfg, iface, source4, source6, counter, drop_kinds):
        self.cfg = cfg
        self.iface = iface
        self.vhid = cfg.vhid
        self.machine = machine.Machine(cfg.vhid, cfg.advbase, cfg.advskew, cfg.preempt,
                                       cfg.demote, cfg.deadratio, preempt_delay_ms=cfg.preempt_delay * 1000)
        self.demotion_reasons = []  # why its demotion group is demoted, for status
        self.source4 = source4  # packed; also our tie-break address on IPv4
        self.source6 = source6  # our link-local, the tie-break address on IPv6 (or None)
        self.counter = counter  # constant per configuration, as OpenBSD's replay cookie
        self.hmac = wire.HmacSha1(cfg.passphrase)
        self.prefixes = wire.mac_prefixes(cfg.vhid, cfg.addrs(AF_INET), cfg.addrs(AF_INET6))
        self.rx_counter = b""  # the counter of the advertisement being checked (mac_ok)
        mac = self.hmac.digest(self.prefixes[0], counter)
        self.check_us = 0  # what the last mac_ok took: the flood budget is charged that (packet.py)
        # One buffer: IPv4 header + CARP. IPv6 sends the CARP part (the kernel
        # writes that header), through a view made once.
        self.packet = bytearray(rawsock.ADVERT_PACKET_LEN)
        rawsock.ipv4_header(self.packet, source4 or bytes(4), wire.MCAST_V4)
        wire.build_advert(self.packet, rawsock.IP_HEADER_LEN, cfg.vhid, cfg.advbase, cfg.advskew,
                          cfg.demote, counter, mac)
        self.carp = memoryview(self.packet)[rawsock.IP_HEADER_LEN:]
        self.destinations = self._destinations(cfg, iface.index)
        self.dst4 = wire.MCAST_V4  # the IPv4 destination in self.packet now
        self.vmac = None  # a vmac.VirtualMac when option vmac is on
        self.out = iface  # what sends: .carp and .carp6_send (the device, or its vmac)
        # The 36 bytes of the last two advertisements accepted and of the last
        # forgery refused: a repeat gets the same verdict from one compare.
        # Two accepted ones: two senders that take turns (the master and a
        # preempting backup, the peer and a less preferred flooder) would
        # otherwise each cost an HMAC every time (300 us in carp/sha1.py).
        # last_good is always the one accepted last (Inbox._advert: a repeat
        # of it may skip the machine's judgement, Machine.on_advert). Zeros
        # never match: version 0 is dropped before these compares.
        self.last_good = bytearray(wire.HEADER_LEN)
        self.older_good = bytearray(wire.HEADER_LEN)
        self.last_forged = bytearray(wire.HEADER_LEN)
        # Unicast mode: advertisements count only from a configured peer.
        self.peers4 = [p for f, p in cfg.peers if f == AF_INET]
        self.peers6 = [p for f, p in cfg.peers if f == AF_INET6]
        self.has_peers = bool(cfg.peers)
        # Sources of the last valid advertisements, per family: a dual-stack
        # peer is known by its IPv4 address, as ucarp and the logs show it.
        self.peer4 = bytearray(4)
        self.peer6 = bytearray(16)
        self.peer_len = 0  # 4 or 16: the family of the last one
        self.rx = 0
        self.tx = 0
        self.tx_errors = 0
        self.drops = [0] * drop_kinds
        self.transitions = 0
        self.conflicts = 0  # other masters heard while master (split brains healed)
        self.last_conflict = None  # epoch seconds, for status (the machine's times are ticks)
        self.since = int(time.time())  # epoch seconds of the last transition

    @staticmethod
    def _destinations(cfg, ifindex):
        """(family, IPv4 destination to patch into our header, socket address)."""
        out = []
        if cfg.peers:
            for family, packed in cfg.peers:
                if family == AF_INET:
                    out.append((AF_INET, packed, sockaddr.inet4(packed)))
                else:
                    scope = ifindex if wire.is_link_local6(packed) else 0
                    out.append((AF_INET6, None, sockaddr.inet6(packed, scope)))
            return out
        if cfg.addrs(AF_INET):
            out.append((AF_INET, wire.MCAST_V4, sockaddr.inet4(wire.MCAST_V4)))
        if cfg.addrs(AF_INET6):
            out.append((AF_INET6, None, sockaddr.inet6(rawsock.MCAST_V6, ifindex)))
        return out

    def use_vmac(self, vm):
        """Advertisements leave from the virtual MAC, as OpenBSD sends them, so
        switches learn the port behind it (the master is the only sender)."""
        self.vmac = vm
        self.out = vm
        if vm.carp6_send is not None:
            # ff02::12 through the macvlan; a unicast link-local peer too.
            self.destinations = self._destinations(self.cfg, vm.index)

    def name(self):
        if self.cfg.name == "vhid%d" % self.vhid:  # from the command line
            return "[vhid %d]" % self.vhid
        return "[%s vhid %d]" % (self.cfg.name, self.vhid)

    def send(self, advbase, advskew):
        """Send one advertisement to every destination. No allocation."""
        if self.packet[_SKEW_AT] != advskew or self.packet[_BASE_AT] != advbase \
                or self.packet[_DEMOTE_AT] != self.machine.demote:  # else the packet is ready as it is
            set_timing(self.packet, IP_HEADER_LEN, advbase, advskew, self.machine.demote)
        destinations = self.destinations
        i = 0
        while i < len(destinations):
            self._send_to(destinations[i])
            i += 1

    def _send_to(self, destination):
        """destination: (family, IPv4 destination to patch in, socket address)."""
        try:
            if destination[0] == AF_INET:
                if destination[1] is not self.dst4:  # unicast peers: one after another
                    self._address(destination[1])
                self.out.carp.sendto(self.packet, destination[2])
            else:
                self.out.carp6_send.sendto(self.carp, destination[2])
            self.tx += 1
        except OSError:
            self.tx_errors += 1

    def _address(self, dst4):
        self.dst4 = dst4
        packet = self.packet
        packet[OFF4_DESTINATION] = dst4[0]
        packet[OFF4_DESTINATION + 1] = dst4[1]
        packet[OFF4_DESTINATION + 2] = dst4[2]
        packet[OFF4_DESTINATION + 3] = dst4[3]

    def is_peer(self, buf, off, length):
        """Is the source address at buf[off:off+length] one of our unicast
        peers? (Indexed, not iterated, and equal_at as a plain function: the
        frame stays within MicroPython's 11 words, so off the heap.)"""
        peers = self.peers4 if length == 4 else self.peers6
        i = len(peers)
        while i:
            i -= 1
            if equal_at(buf, off, peers[i], length):
                return True
        return False

    def repeat_verdict(self, header):
        """header (36 bytes), neither the last accepted advertisement nor the
        last forgery (the inbox compares those itself), repeats the one
        accepted before -> packet.ACCEPTED (it is the last accepted one
        again); else packet.UNSEEN. All three are public (they were on the
        wire), so a fast compare gives nothing away."""
        if header == self.older_good:
            self.older_good, self.last_good = self.last_good, self.older_good
            return packet.ACCEPTED
        return packet.UNSEEN

    def remember_verdict(self, header, good):
        if good:
            self.older_good, self.last_good = self.last_good, self.older_good
            self.last_good[:] = header
        else:
            self.last_forged[:] = header

    def mac_ok(self, buf, off):
        """Is the MAC of the advertisement at buf[off:] right for our key and
        addresses? (An HMAC per prefix until one matches: hashlib allocates
        on MicroPython.) Notes in check_us how long it took, in microseconds."""
        start = clock.ticks_us()
        good = self._mac_matches(buf, off)
        spent = clock.ticks_diff(clock.ticks_us(), start)
        self.check_us = spent if spent > 0 else 1
        return good

    def _mac_matches(self, buf, off):
        # At most two prefixes (wire.mac_prefixes), so no loop: a for-loop's
        # iterator would put this frame on the heap, and a heap frame that
        # hashlib allocates under costs 5 times the HMAC (the allocator
        # searches past each packet's garbage for the next frame).
        self.rx_counter = bytes(buf[off + wire.OFF_COUNTER:off + wire.OFF_COUNTER + wire.COUNTER_LEN])
        prefixes = self.prefixes
        if self._mac_is(buf, off + wire.OFF_MAC, prefixes[0]):
            return True
        return len(prefixes) > 1 and self._mac_is(buf, off + wire.OFF_MAC, prefixes[1])

    def _mac_is(self, buf, at, prefix):
        mac = self.hmac.digest(prefix, self.rx_counter)
        return wire.same_mac(buf, at, mac, wire.MAC_LEN)

    def remember_peer(self, buf, off, length):
        if length == 4:  # unrolled: this runs for every advertisement
            peer = self.peer4
            peer[0] = buf[off]
            peer[1] = buf[off + 1]
            peer[2] = buf[off + 2]
            peer[3] = buf[off + 3]
            self.peer_len = 4
            return
        peer = self.peer6
        for i in range(length):
            peer[i] = buf[off + i]
        if self.peer_len != 4:
            self.peer_len = length

    def peer_text(self):
        if self.peer_len == 4:
            return sockaddr.ip4_text(self.peer4)
        return sockaddr.ip6_text(self.peer6) if self.peer_len else None

    def source_text(self):
        if self.source4:
            return sockaddr.ip4_text(self.source4)
        return sockaddr.ip6_text(self.source6) if self.source6 else None

    def master_text(self):
        """Who is master as far as we know: us, the last peer heard, or nobody."""
        if self.machine.state == machine.MASTER:
            return self.source_text()
        if self.machine.state == machine.BACKUP:
            return self.peer_text()
        return None
