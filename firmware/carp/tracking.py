"""Trackers against the kernel: carrier events, ping requests and replies,
and the demotion they add up to (the rules are in track.py, the effect of a
demotion or a carrier in machine.py: set_demote, on_link)."""
import select

from carp import clock, rawsock, sockaddr, track
from carp.clock import ticks_diff
from carp.packet import OFF4_SOURCE
from carp.report import log
from carp.wire import equal_at

READS = 256  # replies per wake-up, at most


class Tracking:
    def __init__(self, route, events, report, act):
        """act(vhid, actions): carry out a machine's answer (datapath.DataPath.act)."""
        self.route = route
        self.events = events
        self.report = report
        self.act = act
        self.links = []  # track.LinkTracker: a vhid's own carrier, track_interface
        self.pings = []  # track.PingTracker: track_ping
        self.trackers = []  # both, in configuration order: what demotes, what status shows
        self.carrier = {}  # vhid -> the LinkTracker of its own device
        self.icmp = None  # rawsock.IcmpSocket once a vhid tracks a ping target
        self.icmp_fd = -1

    def build(self, vhids, now, poller):
        """Trackers for the vhids as configured now (start and every reload)."""
        self.links, self.pings, self.trackers, self.carrier = [], [], [], {}
        for vhid in vhids:
            cfg = vhid.cfg
            own = track.LinkTracker(cfg.group, cfg.device, cfg.up_delay * 1000, clock)
            own.failed = not vhid.iface.running
            own.why = "%s: no carrier" % cfg.device if own.failed else None
            self.carrier[vhid] = own
            self.links.append(own)
            self.trackers.append(own)
            for name in cfg.track_interfaces:
                t = track.LinkTracker(cfg.group, name, cfg.up_delay * 1000, clock)
                link = self.route.get_link(name)
                if link is not None and link.running():
                    t.failed, t.why = False, None
                elif link is None:
                    t.why = "%s: no such device" % name
                self.links.append(t)
                self.trackers.append(t)
            for packed in cfg.track_pings:
                if self.icmp is None:
                    self.icmp = rawsock.IcmpSocket()
                    self.icmp_fd = self.icmp.fileno()
                    poller.register(self.icmp_fd, select.POLLIN)
                t = track.PingTracker(cfg.group, sockaddr.ip4_text(packed), cfg.ping_interval * 1000,
                                      cfg.ping_rise, cfg.ping_fall, clock)
                t.packed = packed
                t.destination = sockaddr.inet4(packed)
                t.start(now)
                self.pings.append(t)
                self.trackers.append(t)

    def update_demotion(self, vhids, now):
        """Each failed tracker demotes every vhid of its group by 1, on top of
        the configured demote; a master that changes advertises at once."""
        counts, reasons = track.group_demotions(self.trackers)
        for vhid in vhids:
            cfg = vhid.cfg
            value = cfg.demote + counts.get(cfg.group, 0)
            if value > 255:
                value = 255
            vhid.demotion_reasons = reasons.get(cfg.group, [])
            m = vhid.machine
            if value != m.demote:
                self.report.demotion(vhid, m.demote, value)
                self.act(vhid, m.set_demote(now, value))

    def _carrier_changed(self, tracker, now):
        """A vhid's own carrier counts as down or (after up_delay) up again."""
        for vhid, own in self.carrier.items():
            if own is tracker:
                self.act(vhid, vhid.machine.on_link(now, not tracker.failed))

    def on_link_events(self, interfaces, vhids, now):
        changes = self.events.read()
        if changes is None:  # lost events: ask the kernel for the truth
            changes = []
            for name in [i.name for i in interfaces] + [t.device for t in self.links]:
                link = self.route.get_link(name)
                changes.append((link.index if link else -1, link is not None and link.running(), name))
        changed = False
        for index, running, name in changes:
            for iface in interfaces:
                if iface.index == index and iface.running != running:
                    iface.running = running
                    log(": %s %s" % (iface.name, "carrier up" if running else "carrier down"))
            for t in self.links:
                if t.device == name and t.on_carrier(now, running):
                    changed = True
                    self._carrier_changed(t, now)
        if changed:
            self.update_demotion(vhids, now)

    def on_icmp(self, buf, vhids, now):
        changed = False
        reads = READS
        while reads:
            reads -= 1
            n = self.icmp.receive(buf)
            if not n:
                break
            if self._on_reply(buf, n):
                changed = True
        if changed:
            self.update_demotion(vhids, now)

    def _on_reply(self, buf, n):
        """A datagram of n bytes in buf -> True if it is our echo reply and a
        ping tracker recovered."""
        seq = self.icmp.reply_seq(buf, n)
        return seq >= 0 and self._replied(buf, seq)

    def _replied(self, buf, seq):
        changed = False
        pings = self.pings
        i = 0
        while i < len(pings):
            if equal_at(buf, OFF4_SOURCE, pings[i].packed, 4) and pings[i].on_reply(seq):
                changed = True
            i += 1
        return changed

    def run_due(self, vhids, now):
        """Every turn (each vhid has its own carrier tracker), so indexed
        loops and helpers: each MicroPython frame stays within 11 words, off
        the heap (test_frames.py)."""
        changed = False
        links = self.links
        i = 0
        while i < len(links):
            if self._link_due(links[i], now):
                changed = True
            i += 1
        pings = self.pings
        i = 0
        while i < len(pings):
            if self._ping_due(pings[i], now):
                changed = True
            i += 1
        if changed:
            self.update_demotion(vhids, now)

    def _link_due(self, t, now):
        """-> True if t's carrier now counts as up again."""
        if t.deadline is None or ticks_diff(now, t.deadline) < 0 or not t.on_timer(now):
            return False
        self._carrier_changed(t, now)
        return True

    def _ping_due(self, t, now):
        """Send t's next request if it is time. -> True if t failed or recovered."""
        if t.deadline is None or ticks_diff(now, t.deadline) < 0:
            return False
        changed = t.next_request(now)
        if not self.icmp.send_echo(t.destination, t.seq):
            changed = t.send_failed() or changed
        return changed

    def close(self):
        if self.icmp is not None:
            self.icmp.close()
