"""The event loop: sockets and timers in, machines decide, edges act.

Data path, one direction only:
    CarpSocket / Carp6Receiver (kernel filter: kfilter.py) -> Daemon.drain
    -> packet.Inbox.parse4/6 (reject early, count why) -> Machine.on_advert
    -> action bits -> Daemon.apply (address / advertisement / ARP and NA / log / status)
Timers: Daemon.run_timers -> Machine.on_timer -> Daemon.apply.
Control: a stop or reload request (launcher FIFO, or a signal on CPython)
-> Daemon.stop / Daemon.reconfigure.

The receive and send paths allocate nothing on MicroPython: packets are read
into and sent from preallocated buffers, drops are counted in lists of small
ints, and machines answer with an int of action bits.
"""
import select
import sys
import time

from carp import clock, kfilter, machine, netlink, packet, rawsock, sockaddr, status, track, vmac, wire
from carp.abi import EAGAIN
from carp.group import Group, random_counter
from carp.machine import ANNOUNCE, BOW_OUT, CONFLICT, RELEASE_VIPS, SEND_ADVERT, TAKE_VIPS, TRANSITION

AF_INET = sockaddr.AF_INET
AF_INET6 = sockaddr.AF_INET6

DROP_REASONS = packet.DROP_REASONS  # why packets were dropped; counters are indexed by these

RECEIVE_BUFFER = 128  # one datagram: sockets read exactly their packet length (76 at most)

# Pacing under a flood of packets that pass the kernel filter (right length,
# TTL and vhid: forged advertisements). A wake-up costs more than the packets
# it reads, so when more than FLOOD_PACKETS arrive within FLOOD_WINDOW_MS the
# loop pauses after each turn and then reads what gathered in one go, as
# libpcap's block timeout does for ucarp. The pause ends at the next timer,
# after FLOOD_PAUSE_MS, on a stop, reload or link event, or when a sampling
# socket (the same kernel filter, passing one packet in SAMPLE_ONE_IN at
# random) becomes readable: about SAMPLE_ONE_IN packets have gathered by then,
# at any rate. So a slow flood is read in large batches, a fast one in
# batches of about SAMPLE_ONE_IN, and the receive queue (thousands of packets)
# never overflows: a live master is never missed, only handled late.
FLOOD_WINDOW_MS = 100
FLOOD_PACKETS = 20  # 200/s: more than 20 vhids at 10 advertisements per second
FLOOD_PAUSE_MS = 100
SAMPLE_ONE_IN = 128
DRAIN_READS = 256  # datagrams per wake-up, at most


class Fatal(Exception):
    """A problem the user must fix before the daemon can run."""


def log(message):
    print("carpd" + message)
    flush = getattr(sys.stdout, "flush", None)
    if flush:
        flush()


class Interface:
    """One device: its sockets and the vhids that live on it."""

    def __init__(self, link):
        self.name = link.name
        self.index = link.index
        self.mac = link.mac
        self.running = link.running()
        self.carp = rawsock.CarpSocket(link.name, link.index)
        self.arp = rawsock.ArpSocket(link.name, link.index)
        # The same filter, one packet in SAMPLE_ONE_IN: what ends a flood pause.
        self.carp_sample = rawsock.CarpSocket(link.name, link.index, rawsock.SMALL_QUEUE_BYTES)
        self.carp6 = None  # IPv6 sockets only when a vhid here uses IPv6
        self.carp6_sample = None
        self.carp6_send = None
        self.nd = None
        self.by_vhid = [None] * 256
        self.groups = []

    def enable_ipv6(self):
        if self.carp6 is None:
            self.carp6_send = rawsock.Carp6Sender(self.name, self.index)
            self.nd = rawsock.NdSocket(self.name, self.index)
            self.carp6 = rawsock.Carp6Receiver(self.name, self.index)
            self.carp6_sample = rawsock.Carp6Receiver(self.name, self.index, rawsock.SMALL_QUEUE_BYTES)

    def update_filters(self):
        """Let the kernel pass exactly the vhids (and peers) configured here now."""
        v4 = kfilter.program4([(g.vhid, g.has_peers, g.peers4) for g in self.groups])
        self.carp.set_filter(v4)
        self.carp_sample.set_filter(kfilter.sampled(v4, SAMPLE_ONE_IN))
        if self.carp6 is not None:
            v6 = kfilter.program6([(g.vhid, g.has_peers, g.peers6) for g in self.groups])
            self.carp6.set_filter(v6)
            self.carp6_sample.set_filter(kfilter.sampled(v6, SAMPLE_ONE_IN))

    def samplers(self):
        return [s for s in (self.carp_sample, self.carp6_sample) if s is not None]

    def fds(self):
        return [s.fileno() for s in (self.carp, self.carp6) if s is not None]

    def close(self):
        for s in (self.carp, self.carp_sample, self.arp, self.carp6, self.carp6_sample, self.carp6_send, self.nd):
            if s is not None:
                s.close()


class Daemon:
    DROP_REASONS = DROP_REASONS

    def __init__(self, configs, settings=None, reload_config=None):
        """configs: [VhidConfig]; settings: config.Globals (status file and
        interval); reload_config: a function returning (Globals, [VhidConfig])
        anew, or None when there is nothing to re-read (command line)."""
        self.route = netlink.Route()
        self.events = netlink.LinkEvents()
        self.interfaces = []
        self.by_fd = {}
        self.groups = []
        self.drops = [0] * len(DROP_REASONS)
        self.inbox = packet.Inbox(RECEIVE_BUFFER)
        self.rxbuf = self.inbox.buf
        self.window_start = clock.ticks_ms()
        self.window_packets = 0
        self.packets_per_s = 0  # in the last full window, for status
        self.flooded = False
        self.floods = 0  # windows spent pacing, for status
        self.stopping = False
        self.reload_config = reload_config
        self.poller = select.poll()
        self.ipoll = getattr(self.poller, "ipoll", None) or self.poller.poll
        self.events_fd = self.events.fileno()
        self.poller.register(self.events_fd, select.POLLIN)
        # What ends a flood pause early: stop/reload requests and link events,
        # not packets. (A poll, not a sleep: MicroPython's sleep_ms may spin.)
        self.pause_poller = select.poll()
        self.pause_poller.register(self.events_fd, select.POLLIN)
        self.pause_poll = getattr(self.pause_poller, "ipoll", None) or self.pause_poller.poll
        self.samplers = []  # every interface's sampling sockets (see SAMPLE_ONE_IN)
        self.control = {}  # fd -> function reading one control request
        self.status_path = status.location() if settings else None  # never from UCI (status.py)
        # The status document has no timer of its own: it is written when
        # something it shows changes (a transition, demotion, tracker, a new
        # drop reason, a reload), when asked (control request "status"), and
        # for the counters at most every status_interval, on a wake-up that
        # happens anyway (an advertisement sent or received).
        self.status_interval_ms = (settings.status_interval if settings else 60) * 1000
        self.status_written = clock.ticks_ms()  # ticks of the last write
        self.status_writes = 0  # the document's "sequence": `carp status` waits for it to move
        self.status_wanted = False  # write at the end of this turn
        self.hooks = None  # a hooks.HookPipe when the launcher started the worker
        self.settings = settings
        self.trackers = []  # track.LinkTracker / PingTracker, rebuilt on reload
        self.carrier = {}  # group -> the LinkTracker of its own device's carrier
        self.icmp = None  # rawsock.IcmpSocket once a vhid tracks a ping target
        self.icmp_fd = -1
        self.boot_delay_ms = (settings.boot_delay if settings else 0) * 1000
        self.boot_deadline = None
        for cfg in configs:
            if cfg.enabled:
                self._add_group(cfg)

    # -- building -------------------------------------------------------------
    def _interface(self, name):
        for iface in self.interfaces:
            if iface.name == name:
                return iface
        link = self.route.get_link(name)
        if link is None:
            raise Fatal("interface %s does not exist" % name)
        iface = Interface(link)
        self.interfaces.append(iface)
        self._register(iface, iface.carp, iface.carp_sample)
        return iface

    def _register(self, iface, sock, sampler):
        self.by_fd[sock.fileno()] = iface
        self.poller.register(sock.fileno(), select.POLLIN)
        self.samplers.append(sampler)
        self.pause_poller.register(sampler.fileno(), select.POLLIN)

    def _own_addresses(self, iface, family, cfg):
        vips = cfg.addrs(family)
        return [(a, plen) for a, plen in self.route.addresses(family, iface.index) if a not in vips]

    def _add_group(self, cfg):
        iface = self._interface(cfg.device)
        if iface.by_vhid[cfg.vhid] is not None:
            raise Fatal("vhid %d is configured twice on %s" % (cfg.vhid, iface.name))
        source4 = cfg.source
        if source4 is None:
            own = self._own_addresses(iface, AF_INET, cfg)
            source4 = own[0][0] if own else None
        uses_v6 = any(v.family == AF_INET6 for v in cfg.vips) or any(f == AF_INET6 for f, _ in cfg.peers)
        uses_v4 = any(v.family == AF_INET for v in cfg.vips) or any(f == AF_INET for f, _ in cfg.peers)
        if uses_v4 and source4 is None:
            raise Fatal("%s has no IPv4 address to send from; set a source address" % iface.name)
        source6 = None
        if uses_v6:
            if iface.carp6 is None:
                iface.enable_ipv6()
                self._register(iface, iface.carp6, iface.carp6_sample)
            link_local = [a for a, _ in self._own_addresses(iface, AF_INET6, cfg) if wire.is_link_local6(a)]
            source6 = link_local[0] if link_local else None
        group = Group(cfg, iface, source4, source6, random_counter(), len(DROP_REASONS))
        if cfg.vmac:
            try:
                group.use_vmac(vmac.VirtualMac(self.route, iface, cfg.vhid, uses_v6))
            except vmac.MacvlanMissing as e:
                where = "--vmac" if cfg.name == "vhid%d" % cfg.vhid else "carp.%s.vmac" % cfg.name
                raise Fatal("%s: %s" % (where, e))
        iface.by_vhid[cfg.vhid] = group
        iface.groups.append(group)
        self.groups.append(group)
        iface.update_filters()
        return group

    def _remove_group(self, group):
        iface = group.iface
        if group.vmac is not None:
            group.vmac.remove()
        iface.by_vhid[group.vhid] = None
        iface.groups.remove(group)
        self.groups.remove(group)
        if iface.groups:
            iface.update_filters()
        else:
            for fd in iface.fds():
                self.poller.unregister(fd)
                del self.by_fd[fd]
            for sampler in iface.samplers():
                self.pause_poller.unregister(sampler.fileno())
                self.samplers.remove(sampler)
            iface.close()
            self.interfaces.remove(iface)

    def watch_control(self, fd, read_request):
        """read_request(fd) -> 'stop', 'reload' or None (nothing to do)."""
        self.control[fd] = read_request
        self.poller.register(fd, select.POLLIN)
        self.pause_poller.register(fd, select.POLLIN)

    # -- actions ------------------------------------------------------------
    def apply(self, group, actions):
        m = group.machine
        if actions & TAKE_VIPS:
            self._vips(group, True)
        if actions & SEND_ADVERT:
            group.send(m.advbase, m.advertised_skew())
        if actions & ANNOUNCE:
            self._announce(group)
        if actions & BOW_OUT:
            group.send(wire.BOW_OUT, wire.BOW_OUT)
        if actions & RELEASE_VIPS:
            self._vips(group, False)
        if actions & TRANSITION:
            self._transition(group)
        if actions & CONFLICT:
            self._conflict(group)

    def _conflict(self, group):
        """Report a split brain; the machine rate-limits it. No hooks: nothing
        changed here, and MASTER hooks restart services."""
        group.conflicts += 1
        group.last_conflict = int(time.time())
        m = group.machine
        log("%s: split brain: %s was master too (advbase %d, advskew %d, demote %d); we stay master "
            "and re-announce (reported at most once a minute)" % (
                group.name(), group.peer_text(), m.peer_advbase, m.peer_advskew, m.peer_demote))
        self.write_status()

    def _vips(self, group, add):
        vm = group.vmac
        index, name = (vm.index, vm.name) if vm is not None else (group.iface.index, group.iface.name)
        if vm is not None and add:
            self._vmac_up(group, True)
        for v in group.cfg.vips:
            try:
                if add:
                    self.route.add_address(v.family, v.packed, v.prefixlen, index)
                else:
                    self.route.del_address(v.family, v.packed, v.prefixlen, index)
            except OSError as e:
                log("%s: cannot %s %s on %s: %s" % (group.name(), "add" if add else "remove", v.text, name, e))
        if vm is not None and not add:
            self._vmac_up(group, False)

    def _vmac_up(self, group, up):
        """Up only as master: a down macvlan answers nothing and sends nothing."""
        try:
            group.vmac.set_up(up)
        except OSError as e:
            log("%s: cannot set %s %s: %s" % (group.name(), group.vmac.name, "up" if up else "down", e))

    def _announce(self, group):
        sender = group.vmac or group.iface
        for v in group.cfg.vips:
            try:
                if v.family == AF_INET:
                    sender.arp.announce(sender.mac, v.packed)
                else:
                    sender.nd.announce(sender.mac, v.packed)
            except OSError as e:
                log("%s: announcing %s failed: %s" % (group.name(), v.text, e))

    def _transition(self, group):
        m = group.machine
        group.transitions += 1
        group.since = int(time.time())
        detail = m.reason
        peer = group.peer_text()
        if m.reason == machine.R_MASTER_DOWN:
            detail += ": no advertisement for %d ms" % m.master_down_ms()
        elif m.state == machine.BACKUP and m.previous == machine.MASTER:
            detail += " %s (advbase %d, advskew %d, demote %d)" % (
                peer, m.peer_advbase, m.peer_advskew, m.peer_demote)
        elif m.reason in (machine.R_PREEMPT, machine.R_BOW_OUT, machine.R_DEMOTED_PEER, machine.R_SLOW_MASTER):
            detail += " (%s)" % peer
        log("%s: %s -> %s (%s)" % (group.name(), machine.STATE_NAMES[m.previous], m.state_name(), detail))
        self.run_hooks(group, "STOP" if m.reason == machine.R_STOP else m.state_name(), detail)
        self.write_status()

    def run_hooks(self, group, action, reason):
        """Queue `hotplug-call carp` for this transition (never waits)."""
        if self.hooks is None:
            return
        cfg = group.cfg
        settings = self.settings
        sent = self.hooks.send({
            "ACTION": action, "PREVIOUS": machine.STATE_NAMES[group.machine.previous],
            "VHID": cfg.vhid, "INSTANCE": cfg.name, "INTERFACE": cfg.interface or "",
            "DEVICE": cfg.device, "VIPS": " ".join(v.text for v in cfg.vips), "REASON": reason,
            "PEER": group.peer_text() or "",
            "VMAC": group.vmac.text if group.vmac is not None else "",
            "VMAC_DEVICE": group.vmac.name if group.vmac is not None else "",
            "CARP_DNSMASQ": 1 if cfg.dnsmasq else 0, "CARP_WAN": " ".join(cfg.wan),
            "CARP_CONNTRACKD": 1 if cfg.conntrackd else 0,
            "CARP_USER_SCRIPT": 1 if settings is not None and settings.user_script else 0,
            "TIMEOUT": settings.hook_timeout if settings is not None else 30,
        })
        if not sent:
            log("%s: hook for %s dropped: the hook worker is behind or gone" % (group.name(), action))

    # -- status -------------------------------------------------------------
    def write_status(self):
        self.status_wanted = False
        self.status_written = clock.ticks_ms()
        if self.status_path is None:
            return
        self.status_writes += 1
        try:
            status.write(self.status_path, status.document(self))
        except (OSError, ValueError) as e:
            log(": cannot write %s: %s" % (self.status_path, e))

    # -- inputs -------------------------------------------------------------
    def drain(self, iface, sock, v6):
        """Read the socket until it is empty (bounded), one datagram and one
        verdict at a time. (A flag, not a bound method, picks the family: no
        allocation.)"""
        inbox = self.inbox
        buf = inbox.buf
        read = sock.read
        length = sock.packet_len
        by_vhid = iface.by_vhid
        drops = self.drops
        count = 0
        # At rest one read per wake-up: the read that would only say "empty"
        # is a syscall too (poll() comes back at once if more are queued).
        for _ in range(DRAIN_READS if self.flooded else 1):
            try:
                n = read(buf, length)
            except OSError as e:
                if e.args and e.args[0] == EAGAIN:  # empty (CPython)
                    break
                raise
            if not n:  # empty (MicroPython)
                break
            count += 1
            verdict = inbox.parse6(n, by_vhid) if v6 else inbox.parse4(n, by_vhid)
            if verdict == packet.ACCEPTED:
                self.on_advert(inbox, clock.ticks_ms())
            else:
                drops[verdict] += 1
                if drops[verdict] == 1:
                    self.status_wanted = True  # a new kind of drop shows at once
                if inbox.vhid is not None:
                    inbox.vhid.drops[verdict] += 1
        self.window_packets += count
        if self.window_packets > FLOOD_PACKETS:
            self.flooded = True  # at once: a flood's first window is read in batches too

    def on_advert(self, received, now):
        """A valid advertisement: its machine decides."""
        group = received.vhid
        buf = self.rxbuf
        off = received.carp
        group.rx += 1
        group.remember_peer(buf, received.source, received.source_len)
        m = group.machine
        advbase = buf[off + wire.OFF_ADVBASE]
        advskew = buf[off + wire.OFF_ADVSKEW]
        demote = buf[off + wire.OFF_DEMOTE]
        ours = group.source4 if received.source_len == 4 else group.source6
        tie = machine.TIE_PEER_WINS
        if ours is not None and m.needs_tie(advbase, advskew, demote):
            tie = machine.tie(ours, buf, received.source)
        actions = m.on_advert(now, advbase, advskew, demote, tie)
        if actions:
            self.apply(group, actions)

    def on_link_events(self, now):
        changes = self.events.read()
        if changes is None:  # lost events: ask the kernel for the truth
            changes = []
            names = [i.name for i in self.interfaces] + [t.device for t in self.trackers
                                                          if isinstance(t, track.LinkTracker)]
            for name in names:
                link = self.route.get_link(name)
                changes.append((link.index if link else -1, link is not None and link.running(), name))
        changed = False
        for index, running, name in changes:
            for iface in self.interfaces:
                if iface.index == index and iface.running != running:
                    iface.running = running
                    log(": %s %s" % (iface.name, "carrier up" if running else "carrier down"))
            for t in self.trackers:
                if isinstance(t, track.LinkTracker) and t.device == name and t.on_carrier(now, running):
                    changed = True
                    self._carrier_changed(t, now)
        if changed:
            self.update_demotion(now)

    def _carrier_changed(self, tracker, now):
        """A vhid's own carrier counts as down or (after up_delay) up again."""
        for group, own in self.carrier.items():
            if own is tracker:
                self.apply(group, group.machine.on_link(now, not tracker.failed))

    # -- tracking and demotion ------------------------------------------------
    def _build_trackers(self, now):
        self.trackers = []
        self.carrier = {}
        for group in self.groups:
            cfg = group.cfg
            own = track.LinkTracker(cfg.group, cfg.device, cfg.up_delay * 1000, clock)
            own.failed = not group.iface.running
            own.why = "%s: no carrier" % cfg.device if own.failed else None
            self.carrier[group] = own
            self.trackers.append(own)
            for name in cfg.track_interfaces:
                t = track.LinkTracker(cfg.group, name, cfg.up_delay * 1000, clock)
                link = self.route.get_link(name)
                if link is not None and link.running():
                    t.failed, t.why = False, None
                elif link is None:
                    t.why = "%s: no such device" % name
                self.trackers.append(t)
            for packed in cfg.track_pings:
                if self.icmp is None:
                    self.icmp = rawsock.IcmpSocket()
                    self.icmp_fd = self.icmp.fileno()
                    self.poller.register(self.icmp_fd, select.POLLIN)
                t = track.PingTracker(cfg.group, sockaddr.ip4_text(packed), cfg.ping_interval * 1000,
                                      cfg.ping_rise, cfg.ping_fall, clock)
                t.packed = packed
                t.destination = sockaddr.inet4(packed)
                t.start(now)
                self.trackers.append(t)

    def update_demotion(self, now):
        """Each failed tracker demotes every vhid of its group by 1, on top of
        the configured demote; a master that changes advertises at once."""
        counts, reasons = track.group_demotions(self.trackers)
        for group in self.groups:
            cfg = group.cfg
            value = cfg.demote + counts.get(cfg.group, 0)
            if value > 255:
                value = 255
            group.demotion_reasons = reasons.get(cfg.group, [])
            m = group.machine
            if value != m.demote:
                log("%s: demotion %d -> %d%s" % (group.name(), m.demote, value,
                                                  (" (" + "; ".join(group.demotion_reasons) + ")")
                                                  if group.demotion_reasons else ""))
                self.apply(group, m.set_demote(now, value))
                self.write_status()

    def on_icmp(self, now):
        buf = self.rxbuf
        changed = False
        for _ in range(DRAIN_READS):
            try:
                n = self.icmp.read_into(buf)
            except OSError as e:
                if e.args and e.args[0] == EAGAIN:
                    break
                raise
            if not n:
                break
            seq = self.icmp.reply_seq(buf, n)
            if seq < 0:
                continue
            for t in self.trackers:
                if isinstance(t, track.PingTracker) and wire.equal_at(buf, packet.OFF4_SOURCE, t.packed, 4) \
                        and t.on_reply(seq):
                    changed = True
        if changed:
            self.update_demotion(now)

    def _run_trackers(self, now):
        changed = False
        for t in self.trackers:
            if t.deadline is None or clock.ticks_diff(now, t.deadline) < 0:
                continue
            if isinstance(t, track.PingTracker):
                seq, c = t.next_request(now)
                try:
                    self.icmp.send_echo(t.destination, seq)
                except OSError:
                    c = t.send_failed() or c
            else:
                c = t.on_timer(now)
                if c:
                    self._carrier_changed(t, now)
            changed = changed or c
        if changed:
            self.update_demotion(now)

    def run_timers(self, now):
        if self.boot_deadline is not None and clock.ticks_diff(now, self.boot_deadline) >= 0:
            self.boot_deadline = None
            for group in self.groups:
                self._start_group(group, now)
        if self.trackers:
            self._run_trackers(now)
        for group in self.groups:
            deadline = group.machine.deadline
            if deadline is not None and clock.ticks_diff(now, deadline) >= 0:
                actions = group.machine.on_timer(now)
                if actions:
                    self.apply(group, actions)

    def poll_timeout(self, now):
        """Milliseconds to the next deadline (-1: none). One more than the
        difference: poll() may return within the last millisecond tick, and
        a turn that finds nothing due is a wasted wake-up."""
        timeout = -1
        if self.boot_deadline is not None:
            left = clock.ticks_diff(self.boot_deadline, now)
            timeout = 0 if left < 0 else (left if timeout < 0 or left < timeout else timeout)
        for t in self.trackers:
            if t.deadline is not None:
                left = clock.ticks_diff(t.deadline, now)
                if left < 0:
                    left = 0
                if timeout < 0 or left < timeout:
                    timeout = left
        for group in self.groups:
            deadline = group.machine.deadline
            if deadline is not None:
                left = clock.ticks_diff(deadline, now)
                if left < 0:
                    left = 0
                if timeout < 0 or left < timeout:
                    timeout = left
        return timeout + 1 if timeout > 0 else timeout

    # -- life cycle ---------------------------------------------------------
    def _start_group(self, group, now):
        # A crashed run may have left a VIP behind: we start as BACKUP, without it.
        for v in group.cfg.vips:
            try:
                if self.route.del_address(v.family, v.packed, v.prefixlen, group.iface.index):
                    log("%s: removed %s left on %s by an earlier run" % (group.name(), v.text, group.iface.name))
            except OSError as e:
                log("%s: cannot remove stale %s: %s" % (group.name(), v.text, e))
        m = group.machine
        log("%s: on %s from %s, advbase %d advskew %d%s, master down after %d ms" % (
            group.name(), group.iface.name, group.source_text(), m.advbase, m.advskew,
            " preempt" if m.preempt else "", m.master_down_ms()))
        if not group.iface.running:
            log("%s: %s has no carrier, waiting in INIT" % (group.name(), group.iface.name))
        self.apply(group, m.start(now, group.iface.running))

    def start(self):
        now = clock.ticks_ms()
        self._build_trackers(now)
        self.update_demotion(now)  # so the first advertisement carries it
        if self.boot_delay_ms > 0:
            self.boot_deadline = clock.ticks_add(now, self.boot_delay_ms)
            log(": waiting %d s before taking part (boot_delay)" % (self.boot_delay_ms // 1000))
        else:
            for group in self.groups:
                self._start_group(group, now)
        self.write_status()

    def step(self):
        """One turn of the loop: wait for a packet, an event or the next deadline."""
        for fd, _event in self.ipoll(self.poll_timeout(clock.ticks_ms())):
            self.handle(fd)
        now = clock.ticks_ms()
        self.run_timers(now)
        if self.status_wanted or (self.status_path is not None
                                  and clock.ticks_diff(now, self.status_written) >= self.status_interval_ms):
            self.write_status()
        self.pace(now)

    def pace(self, now):
        """Under a flood, let packets gather before the next turn."""
        elapsed = clock.ticks_diff(now, self.window_start)
        if elapsed >= FLOOD_WINDOW_MS:
            self.packets_per_s = self.window_packets * 1000 // elapsed
            self.flooded = self.window_packets > FLOOD_PACKETS
            if self.flooded:
                self.floods += 1
            self.window_packets = 0
            self.window_start = now
        if self.flooded:
            pause = self.poll_timeout(now)
            if pause < 0 or pause > FLOOD_PAUSE_MS:
                pause = FLOOD_PAUSE_MS
            if pause:
                for sampler in self.samplers:
                    self.discard(sampler)
                self.pause_poll(pause)

    def discard(self, sock):
        """Empty a sampling socket: only its becoming readable matters."""
        buf = self.inbox.buf
        for _ in range(DRAIN_READS):
            try:
                if not sock.read_into(buf):
                    return
            except OSError as e:
                if e.args and e.args[0] == EAGAIN:
                    return
                raise

    def handle(self, fd):
        """A descriptor is readable: a packet, a link event, or a control request."""
        iface = self.by_fd.get(fd)
        if iface is not None:
            if fd == iface.carp.fileno():
                self.drain(iface, iface.carp, False)
            else:
                self.drain(iface, iface.carp6, True)
        elif fd == self.events_fd:
            self.on_link_events(clock.ticks_ms())
        elif fd == self.icmp_fd:
            self.on_icmp(clock.ticks_ms())
        else:
            request = self.control[fd](fd)
            if request == "stop":
                self.stopping = True
            elif request == "reload":
                self.reload()
            elif request == "status":
                self.status_wanted = True

    def reload(self):
        if self.reload_config is None:
            log(": reload: nothing to re-read (configured on the command line)")
            return
        try:
            settings, configs = self.reload_config()
        except (ValueError, OSError) as e:  # config errors: keep running as we are
            log(": reload refused, keeping the running configuration:\n%s" % e)
            return
        try:
            self.reconfigure(settings, configs)
        except (Fatal, OSError) as e:
            log(": reload failed: %s" % e)

    def reconfigure(self, settings, configs):
        """Apply a new configuration: unchanged vhids keep their state and
        VIPs without a transition; changed ones restart; removed ones bow out
        and release; new ones start."""
        now = clock.ticks_ms()
        wanted = dict(((c.device, c.vhid), c) for c in configs if c.enabled)
        kept = removed = 0
        for group in list(self.groups):
            new = wanted.get((group.cfg.device, group.vhid))
            if new is not None and new.key() == group.cfg.key():
                group.cfg = new  # same meaning; the section name may have changed
                del wanted[(new.device, new.vhid)]
                kept += 1
                continue
            self.apply(group, group.machine.stop(now))
            self._remove_group(group)
            removed += 1
        for cfg in configs:
            if (cfg.device, cfg.vhid) in wanted:
                self._start_group(self._add_group(cfg), now)
        if settings is not None:
            self.settings = settings
            self.status_interval_ms = settings.status_interval * 1000
        self._build_trackers(now)
        self.update_demotion(now)
        log(": reloaded: %d kept, %d stopped, %d started" % (kept, removed, len(wanted)))
        self.write_status()

    def stop(self):
        """Bow out as master, release the addresses, close everything."""
        now = clock.ticks_ms()
        for group in self.groups:
            actions = group.machine.stop(now)
            self.apply(group, actions)
            if not actions & TRANSITION:  # already in INIT: hooks still hear of the stop
                self.run_hooks(group, "STOP", machine.R_STOP)
        self.write_status()
        if self.hooks is not None:
            self.hooks.close()  # the worker runs what is queued, then exits
        for group in self.groups:
            if group.vmac is not None:
                group.vmac.remove()
        for iface in self.interfaces:
            iface.close()
        if self.icmp is not None:
            self.icmp.close()
        self.events.close()
        self.route.close()
        counts = ", ".join("%s %d" % (DROP_REASONS[i], c) for i, c in enumerate(self.drops) if c)
        log(": stopped%s" % ("; dropped: " + counts if counts else ""))

    def run(self):
        self.start()
        try:
            while not self.stopping:
                self.step()
        except KeyboardInterrupt:  # MicroPython turns SIGINT into this
            pass
        self.stop()


def _watch_signals(daemon):
    """CPython: SIGTERM/SIGINT (stop) and SIGHUP (reload) wake the poll loop
    through a pipe; nothing runs inside the handler."""
    try:
        import os
        import signal
    except ImportError:
        return
    if not hasattr(signal, "set_wakeup_fd"):
        return
    read_end, write_end = os.pipe()
    os.set_blocking(write_end, False)
    os.set_blocking(read_end, False)
    signal.set_wakeup_fd(write_end)
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGUSR1):
        signal.signal(sig, lambda *_: None)

    def read_request(fd):
        try:
            data = os.read(fd, 64)
        except OSError:
            return None
        if any(b not in (signal.SIGHUP, signal.SIGUSR1) for b in data):
            return "stop"
        if signal.SIGHUP in data:
            return "reload"
        return "status" if data else None

    daemon.watch_control(read_end, read_request)


def _read_launcher_request(fd):
    """One line from the carpd launcher's FIFO: 'reload' (SIGHUP), 'status'
    (SIGUSR1: `carp status` wants a fresh document); end of file: stop (the
    launcher got SIGTERM, or died)."""
    line = sys.stdin.readline()
    if not line:
        return "stop"
    line = line.strip()
    return line if line in ("reload", "status") else None


def _fd_from_env(name):
    """A file descriptor number the launcher passed in the environment."""
    try:
        from os import getenv
    except ImportError:
        return None
    value = getenv(name)
    if value is not None and value.isdigit():
        return int(value)
    return None


def run(configs, settings=None, reload_config=None):
    try:
        daemon = Daemon(configs, settings, reload_config)
    except (Fatal, OSError) as e:
        sys.stderr.write("carpd: %s\n" % e)
        return 1
    control = _fd_from_env("CARP_CONTROL_FD")
    if control is not None:
        daemon.watch_control(control, _read_launcher_request)
    hook_fd = _fd_from_env("CARP_HOOK_FD")
    if hook_fd is not None:
        from carp import hooks
        daemon.hooks = hooks.HookPipe(hook_fd)
    _watch_signals(daemon)
    daemon.run()
    return 0
