"""The data path: advertisements in, the kernel's state out.

    Interface sockets (kernel filter: kfilter.py) -> DataPath.drain
    -> packet.Inbox.parse4/6 (reject early, count why) -> Machine.on_advert
    -> machine.apply -> DataPath.take_vips / send_advert / announce / ...
       (addresses over netlink, advertisements and ARP/NA on raw sockets)

Timers take the same way out: Machine.on_timer -> DataPath.act. The receive
and send paths allocate nothing on MicroPython: packets are read into and
sent from preallocated buffers, drops are counted in lists of small ints,
and machines answer with an int of action bits.
"""
from carp import clock, kfilter, machine, packet, rawsock, sockaddr, tiebreak, wire
from carp.report import log
from carp.wire import BOW_OUT_TIMING

AF_INET = sockaddr.AF_INET
_MASTER = machine.MASTER
ACCEPTED = packet.ACCEPTED
TIE_PEER_WINS = tiebreak.TIE_PEER_WINS

RECEIVE_BUFFER = 128  # one datagram: sockets read exactly their packet length (76 at most)


class Interface:
    """One device: its sockets and the vhids that live on it."""

    def __init__(self, link, sample_one_in):
        self.name = link.name
        self.index = link.index
        self.mac = link.mac
        self.running = link.running()
        self.sample_one_in = sample_one_in
        self.carp = rawsock.CarpSocket(link.name, link.index)
        self.arp = rawsock.ArpSocket(link.name, link.index)
        # The same filter, one packet in sample_one_in: what ends a flood pause (loop.py).
        self.carp_sample = rawsock.CarpSocket(link.name, link.index, rawsock.SMALL_QUEUE_BYTES)
        self.carp6 = None  # IPv6 sockets only when a vhid here uses IPv6
        self.carp6_fd = -1  # its fd: which socket woke the loop, without a call per wake-up
        self.carp6_sample = None
        self.carp6_send = None
        self.nd = None
        self.by_vhid = [None] * 256
        self.vhids = []

    def enable_ipv6(self):
        if self.carp6 is None:
            self.carp6_send = rawsock.Carp6Sender(self.name, self.index)
            self.nd = rawsock.NdSocket(self.name, self.index)
            self.carp6 = rawsock.Carp6Receiver(self.name, self.index)
            self.carp6_fd = self.carp6.fileno()
            self.carp6_sample = rawsock.Carp6Receiver(self.name, self.index, rawsock.SMALL_QUEUE_BYTES)

    def update_filters(self):
        """Let the kernel pass exactly the vhids (and peers) configured here now."""
        v4 = kfilter.program4([(v.vhid, v.has_peers, v.peers4) for v in self.vhids])
        self.carp.set_filter(v4)
        self.carp_sample.set_filter(kfilter.sampled(v4, self.sample_one_in))
        if self.carp6 is not None:
            v6 = kfilter.program6([(v.vhid, v.has_peers, v.peers6) for v in self.vhids])
            self.carp6.set_filter(v6)
            self.carp6_sample.set_filter(kfilter.sampled(v6, self.sample_one_in))

    def samplers(self):
        return [s for s in (self.carp_sample, self.carp6_sample) if s is not None]

    def fds(self):
        return [s.fileno() for s in (self.carp, self.carp6) if s is not None]

    def close(self):
        for s in (self.carp, self.carp_sample, self.arp, self.carp6, self.carp6_sample, self.carp6_send, self.nd):
            if s is not None:
                s.close()


class DataPath:
    DROP_REASONS = packet.DROP_REASONS

    def __init__(self, route, report):
        self.route = route
        self.report = report
        self.drops = [0] * len(packet.DROP_REASONS)  # by packet.DROP_REASONS
        self.inbox = packet.Inbox(RECEIVE_BUFFER)

    # -- in -------------------------------------------------------------------
    def drain(self, iface, v6, reads):
        """Read one of iface's sockets, at most `reads` datagrams (it stops
        when empty), one datagram and one verdict at a time. -> datagrams
        read. (A flag, not a bound method, picks the family: no allocation.)

        This and the methods it calls keep their MicroPython frames within 11
        words (test_frames.py): a larger frame is allocated on the heap for
        every call, hence the small methods."""
        count = 0
        while count < reads and self.take(iface, v6):
            count += 1
        return count

    def take(self, iface, v6):
        """One datagram and its verdict -> False when none was queued."""
        inbox = self.inbox
        sock = iface.carp6 if v6 else iface.carp
        n = sock.read(inbox.buf, sock.packet_len)  # FilteredSocket.receive, a call fewer
        if not n:
            return False
        verdict = inbox.parse6(n, iface.by_vhid) if v6 else inbox.parse4(n, iface.by_vhid)
        if verdict == ACCEPTED:
            self.on_advert(inbox)
            return True
        self.drops[verdict] += 1  # counted inline: a flood's every packet comes here
        if self.drops[verdict] == 1:
            self.report.wanted = True  # a new kind of drop shows at once
        if inbox.vhid is not None:
            inbox.vhid.drops[verdict] += 1
        return True

    def on_advert(self, inbox):
        """A valid advertisement (the inbox after ACCEPTED): its machine decides."""
        vhid = inbox.vhid
        vhid.rx += 1
        if not inbox.repeat or inbox.source_len != vhid.peer_len:  # a repeat comes from the peer we know
            vhid.remember_peer(inbox.buf, inbox.source, inbox.source_len)
        m = vhid.machine
        if inbox.repeat and m.settled:
            inbox.tie = TIE_PEER_WINS  # settled on it without a tie-break (Machine.on_advert)
        else:
            inbox.tie = self._tie(vhid, inbox) if m.state == _MASTER else TIE_PEER_WINS
        actions = m.on_advert(clock.ticks_ms(), inbox)
        if actions:  # as act(), a call fewer on every advertisement
            machine.apply(actions, vhid, self)

    def _tie(self, vhid, inbox):
        """Our address against the sender's: only a master looks at it, and
        only for an advertisement exactly as good as its own (needs_tie)."""
        ours = vhid.source4 if inbox.source_len == 4 else vhid.source6
        if ours is None or not vhid.machine.needs_tie(inbox.advbase, inbox.advskew, inbox.demote):
            return TIE_PEER_WINS
        return tiebreak.tie(ours, inbox.buf, inbox.source)

    # -- out ------------------------------------------------------------------
    def act(self, vhid, actions):
        """Carry out a machine's answer (machine.apply calls the methods below)."""
        if actions:
            machine.apply(actions, vhid, self)

    def take_vips(self, vhid):
        vm = vhid.vmac
        if vm is not None:
            self._vmac_up(vhid, True)
        self._vips(vhid, True)

    def send_advert(self, vhid):
        m = vhid.machine
        vhid.send(m.advbase, m.skew_out)

    def announce(self, vhid):
        vips = vhid.cfg.vips
        i = 0
        while i < len(vips):
            self._announce(vhid, vips[i])
            i += 1

    def _announce(self, vhid, vip):
        sender = vhid.vmac or vhid.iface
        error = (sender.arp if vip.family == AF_INET else sender.nd).announce(sender.mac, vip.packed)
        if error is not None:
            self._announce_failed(vhid, vip, error)

    def _announce_failed(self, vhid, vip, error):
        log("%s: announcing %s failed: %s" % (vhid.name(), vip.text, error))

    def send_bow_out(self, vhid):
        vhid.send(BOW_OUT_TIMING, BOW_OUT_TIMING)

    def release_vips(self, vhid):
        self._vips(vhid, False)
        if vhid.vmac is not None:
            self._vmac_up(vhid, False)

    def transition(self, vhid):
        self.report.transition(vhid)

    def conflict(self, vhid):
        self.report.conflict(vhid)

    def _vips(self, vhid, add):
        vm = vhid.vmac
        index, name = (vm.index, vm.name) if vm is not None else (vhid.iface.index, vhid.iface.name)
        for v in vhid.cfg.vips:
            try:
                if add:
                    self.route.add_address(v.family, v.packed, v.prefixlen, index)
                else:
                    self.route.del_address(v.family, v.packed, v.prefixlen, index)
            except OSError as e:
                log("%s: cannot %s %s on %s: %s" % (vhid.name(), "add" if add else "remove", v.text, name, e))

    def _vmac_up(self, vhid, up):
        """Up only as master: a down macvlan answers nothing and sends nothing."""
        try:
            vhid.vmac.set_up(up)
        except OSError as e:
            log("%s: cannot set %s %s: %s" % (vhid.name(), vhid.vmac.name, "up" if up else "down", e))

    def clear_stale(self, vhid):
        """A crashed run may have left a VIP behind: we start as BACKUP, without it."""
        for v in vhid.cfg.vips:
            try:
                if self.route.del_address(v.family, v.packed, v.prefixlen, vhid.iface.index):
                    log("%s: removed %s left on %s by an earlier run" % (vhid.name(), v.text, vhid.iface.name))
            except OSError as e:
                log("%s: cannot remove stale %s: %s" % (vhid.name(), v.text, e))
