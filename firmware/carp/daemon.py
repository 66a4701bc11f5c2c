"""The event loop: sockets and timers in, machines decide, edges act.

Data path, one direction only:
    CarpSocket -> Daemon.receive (reject early, count why) -> Machine.on_advert
    -> action bits -> Daemon.apply (address / advertisement / ARP / log)
Timers: Daemon.run_timers -> Machine.on_timer -> Daemon.apply.

The receive and send paths allocate nothing on MicroPython: packets are read
into and sent from preallocated buffers, drops are counted in a list of
small ints, and machines answer with an int of action bits.
"""
import select
import sys

from carp import clock, machine, netlink, rawsock, sockaddr, wire
from carp.machine import ANNOUNCE, BOW_OUT, RELEASE_VIPS, SEND_ADVERT, TAKE_VIPS, TRANSITION

# Why packets were dropped; counters are indexed by these.
DROP_SHORT = 0
DROP_TTL = 1
DROP_VERSION = 2
DROP_VHID = 3
DROP_CHECKSUM = 4
DROP_OWN = 5
DROP_HMAC = 6
DROP_REASONS = ("short", "bad_ttl", "bad_version", "unknown_vhid", "bad_checksum", "own_packet", "bad_hmac")

RECEIVE_BUFFER = 4096
CACHE_LEN = wire.COUNTER_LEN + wire.MAC_LEN


class Fatal(Exception):
    """A problem the user must fix before the daemon can run."""


def log(message):
    print("carpd" + message)
    flush = getattr(sys.stdout, "flush", None)
    if flush:
        flush()


class Interface:
    """One device: its CARP and ARP sockets and the vhids that live on it."""

    def __init__(self, link):
        self.name = link.name
        self.index = link.index
        self.mac = link.mac
        self.running = link.running()
        self.carp = rawsock.CarpSocket(link.name, link.index)
        self.arp = rawsock.ArpSocket(link.name, link.index)
        self.by_vhid = [None] * 256
        self.groups = []

    def close(self):
        self.carp.close()
        self.arp.close()


class Group:
    """A running vhid: its machine, its precomputed advertisement, its counters."""

    def __init__(self, cfg, iface, source4, counter):
        self.cfg = cfg
        self.iface = iface
        self.vhid = cfg.vhid
        self.machine = machine.Machine(cfg.vhid, cfg.advbase, cfg.advskew, cfg.preempt,
                                       cfg.demote, cfg.deadratio)
        self.source4 = source4
        self.counter = counter  # constant per configuration, as OpenBSD's replay cookie
        self.hmac = wire.HmacSha1(cfg.passphrase)
        self.prefixes = wire.mac_prefixes(cfg.vhid, cfg.addrs(sockaddr.AF_INET), cfg.addrs(sockaddr.AF_INET6))
        mac = self.hmac.digest(self.prefixes[0], counter)
        self.packet = bytearray(rawsock.ADVERT_PACKET_LEN)
        rawsock.ipv4_header(self.packet, source4, wire.MCAST_V4)
        wire.build_advert(self.packet, rawsock.IP_HEADER_LEN, cfg.vhid, cfg.advbase, cfg.advskew,
                          cfg.demote, counter, mac)
        self.destination = sockaddr.inet4(wire.MCAST_V4)
        self.accepted = bytearray(CACHE_LEN)  # counter + MAC of the last valid advertisement
        self.accepted_valid = False
        self.peer = bytearray(4)  # source of the last valid advertisement
        self.rx = 0
        self.tx = 0
        self.tx_errors = 0

    def name(self):
        return "[vhid %d]" % self.vhid

    def send(self, advbase, advskew):
        """Send one advertisement from the preallocated packet. No allocation."""
        wire.set_timing(self.packet, rawsock.IP_HEADER_LEN, advbase, advskew, self.machine.demote)
        try:
            self.iface.carp.sendto(self.packet, self.destination)
            self.tx += 1
        except OSError:
            self.tx_errors += 1

    def mac_ok(self, buf, off):
        """Is the MAC of the advertisement at buf[off:] right for our key and addresses?"""
        at = off + wire.OFF_COUNTER
        if self.accepted_valid and wire.equal_at(buf, at, self.accepted, CACHE_LEN):
            return True  # same counter and MAC as last time (OpenBSD and our peers)
        counter = bytes(buf[at:at + wire.COUNTER_LEN])
        for prefix in self.prefixes:
            digest = self.hmac.digest(prefix, counter)
            if wire.equal_at(buf, off + wire.OFF_MAC, digest, wire.MAC_LEN):
                for i in range(CACHE_LEN):
                    self.accepted[i] = buf[at + i]
                self.accepted_valid = True
                return True
        return False



def _random_counter():
    with open("/dev/urandom", "rb") as f:
        return f.read(wire.COUNTER_LEN)


class Daemon:
    def __init__(self, configs):
        self.route = netlink.Route()
        self.events = netlink.LinkEvents()
        self.interfaces = []
        self.by_fd = {}
        self.groups = []
        self.drops = [0] * len(DROP_REASONS)
        self.rxbuf = bytearray(RECEIVE_BUFFER)
        self.stopping = False
        self.poller = select.poll()
        self.ipoll = getattr(self.poller, "ipoll", None) or self.poller.poll
        self.events_fd = self.events.fileno()
        self.poller.register(self.events_fd, select.POLLIN)
        self.stop_fds = []
        for cfg in configs:
            self._add_group(cfg)

    def _interface(self, name):
        for iface in self.interfaces:
            if iface.name == name:
                return iface
        link = self.route.get_link(name)
        if link is None:
            raise Fatal("interface %s does not exist" % name)
        iface = Interface(link)
        self.interfaces.append(iface)
        fd = iface.carp.fileno()
        self.by_fd[fd] = iface
        self.poller.register(fd, select.POLLIN)
        return iface

    def _add_group(self, cfg):
        iface = self._interface(cfg.device)
        source = cfg.source
        if source is None:
            own = [a for a, _ in self.route.addresses(sockaddr.AF_INET, iface.index)
                   if a not in cfg.addrs(sockaddr.AF_INET)]
            if not own:
                raise Fatal("%s has no IPv4 address to send from; give -s/--srcip" % iface.name)
            source = own[0]
        if iface.by_vhid[cfg.vhid] is not None:
            raise Fatal("vhid %d is configured twice on %s" % (cfg.vhid, iface.name))
        group = Group(cfg, iface, source, _random_counter())
        iface.by_vhid[cfg.vhid] = group
        iface.groups.append(group)
        self.groups.append(group)

    def watch_stop(self, fd):
        """Any event on fd (a pipe's hang-up, a signal's wake-up byte) stops the daemon."""
        self.stop_fds.append(fd)
        self.poller.register(fd, select.POLLIN)

    # -- actions ------------------------------------------------------------
    def apply(self, group, actions):
        m = group.machine
        if actions & TAKE_VIPS:
            self._vips(group, True)
        if actions & SEND_ADVERT:
            group.send(m.advbase, m.advskew)
        if actions & ANNOUNCE:
            self._announce(group)
        if actions & BOW_OUT:
            group.send(wire.BOW_OUT, wire.BOW_OUT)
        if actions & RELEASE_VIPS:
            self._vips(group, False)
        if actions & TRANSITION:
            self._transition(group)

    def _vips(self, group, add):
        for v in group.cfg.vips:
            try:
                if add:
                    self.route.add_address(v.family, v.packed, v.prefixlen, group.iface.index)
                else:
                    self.route.del_address(v.family, v.packed, v.prefixlen, group.iface.index)
            except OSError as e:
                log("%s: cannot %s %s on %s: %s" % (group.name(), "add" if add else "remove",
                                                    v.text, group.iface.name, e))

    def _announce(self, group):
        for v in group.cfg.vips:
            if v.family == sockaddr.AF_INET:
                try:
                    group.iface.arp.announce(group.iface.mac, v.packed)
                except OSError as e:
                    log("%s: gratuitous ARP for %s failed: %s" % (group.name(), v.text, e))

    def _transition(self, group):
        m = group.machine
        detail = m.reason
        if m.reason == machine.R_MASTER_DOWN:
            detail += ": no advertisement for %d ms" % m.master_down_ms()
        elif m.state == machine.BACKUP and m.previous == machine.MASTER:
            detail += " %s (advbase %d, advskew %d, demote %d)" % (
                sockaddr.ip4_text(group.peer), m.peer_advbase, m.peer_advskew, m.peer_demote)
        elif m.reason in (machine.R_PREEMPT, machine.R_BOW_OUT, machine.R_DEMOTED_PEER, machine.R_SLOW_MASTER):
            detail += " (%s)" % sockaddr.ip4_text(group.peer)
        log("%s: %s -> %s (%s)" % (group.name(), machine.STATE_NAMES[m.previous], m.state_name(), detail))

    # -- inputs -------------------------------------------------------------
    def receive(self, iface, n, now):
        """Check the IPv4 packets in rxbuf[:n]. MicroPython's readinto() may
        return several queued datagrams back to back; each IPv4 header's total
        length says where the next one starts (CPython reads one at a time)."""
        buf = self.rxbuf
        start = 0
        while n - start >= 20:
            length = (buf[start + 2] << 8) | buf[start + 3]
            if length < 20 or start + length > n:
                break  # cut short by the buffer's end
            self.receive_one(iface, start, length, now)
            start += length
        if start < n:
            self.drops[DROP_SHORT] += 1

    def receive_one(self, iface, start, length, now):
        """Check one IPv4 packet at rxbuf[start:start+length]; hand a valid
        advertisement to its machine. The reject path allocates nothing."""
        buf = self.rxbuf
        off = start + (buf[start] & 0x0F) * 4
        if start + length < off + wire.HEADER_LEN:
            self.drops[DROP_SHORT] += 1
            return
        if buf[start + 8] != wire.TTL:
            self.drops[DROP_TTL] += 1
            return
        if buf[off] >> 4 != wire.VERSION:  # version 3 is FreeBSD's VRRPv3: not ours
            self.drops[DROP_VERSION] += 1
            return
        group = iface.by_vhid[buf[off + wire.OFF_VHID]]
        if group is None:
            self.drops[DROP_VHID] += 1
            return
        if wire.checksum(buf, off, wire.HEADER_LEN) != 0:
            self.drops[DROP_CHECKSUM] += 1
            return
        if wire.equal_at(buf, off + wire.OFF_COUNTER, group.counter, wire.COUNTER_LEN):
            self.drops[DROP_OWN] += 1  # our own advertisement came back: a loop
            return
        if not group.mac_ok(buf, off):
            self.drops[DROP_HMAC] += 1
            return
        group.rx += 1
        for i in range(4):
            group.peer[i] = buf[start + 12 + i]
        actions = group.machine.on_advert(now, buf[off + wire.OFF_ADVBASE], buf[off + wire.OFF_ADVSKEW],
                                          buf[off + wire.OFF_DEMOTE], machine.tie(group.source4, buf, start + 12))
        if actions:
            self.apply(group, actions)

    def on_link_events(self, now):
        changes = self.events.read()
        if changes is None:  # lost events: ask the kernel for the truth
            changes = []
            for iface in self.interfaces:
                link = self.route.get_link(iface.name)
                changes.append((iface.index, link is not None and link.running()))
        for index, running in changes:
            for iface in self.interfaces:
                if iface.index == index and iface.running != running:
                    iface.running = running
                    log(": %s %s" % (iface.name, "carrier up" if running else "carrier down"))
                    for group in iface.groups:
                        self.apply(group, group.machine.on_link(now, running))

    def run_timers(self, now):
        for group in self.groups:
            deadline = group.machine.deadline
            if deadline is not None and clock.ticks_diff(now, deadline) >= 0:
                actions = group.machine.on_timer(now)
                if actions:
                    self.apply(group, actions)

    def poll_timeout(self, now):
        timeout = -1
        for group in self.groups:
            deadline = group.machine.deadline
            if deadline is not None:
                left = clock.ticks_diff(deadline, now)
                if left < 0:
                    left = 0
                if timeout < 0 or left < timeout:
                    timeout = left
        return timeout

    # -- life cycle ---------------------------------------------------------
    def start(self):
        now = clock.ticks_ms()
        for group in self.groups:
            # A crashed run may have left a VIP behind: we start as BACKUP, without it.
            for v in group.cfg.vips:
                try:
                    if self.route.del_address(v.family, v.packed, v.prefixlen, group.iface.index):
                        log("%s: removed %s left on %s by an earlier run" % (group.name(), v.text, group.iface.name))
                except OSError as e:
                    log("%s: cannot remove stale %s: %s" % (group.name(), v.text, e))
            log("%s: on %s from %s, advbase %d advskew %d%s, master down after %d ms" % (
                group.name(), group.iface.name, sockaddr.ip4_text(group.source4), group.cfg.advbase,
                group.cfg.advskew, " preempt" if group.cfg.preempt else "", group.machine.master_down_ms()))
            if not group.iface.running:
                log("%s: %s has no carrier, waiting in INIT" % (group.name(), group.iface.name))
            self.apply(group, group.machine.start(now, group.iface.running))

    def step(self):
        """One turn of the loop: wait for a packet, an event or the next deadline."""
        for fd, _event in self.ipoll(self.poll_timeout(clock.ticks_ms())):
            self.handle(fd)
        self.run_timers(clock.ticks_ms())

    def handle(self, fd):
        """A descriptor is readable: a packet, a link event, or the stop signal."""
        iface = self.by_fd.get(fd)
        if iface is not None:
            n = iface.carp.read_into(self.rxbuf)
            if n:
                self.receive(iface, n, clock.ticks_ms())
        elif fd == self.events_fd:
            self.on_link_events(clock.ticks_ms())
        else:
            self.stopping = True

    def stop(self):
        """Bow out as master, release the addresses, close everything."""
        now = clock.ticks_ms()
        for group in self.groups:
            self.apply(group, group.machine.stop(now))
        for iface in self.interfaces:
            iface.close()
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
    """CPython: SIGTERM/SIGINT wake the poll loop through a pipe (no work in
    the handler, nothing raised at a random place)."""
    try:
        import os
        import signal
    except ImportError:
        return
    if not hasattr(signal, "set_wakeup_fd"):
        return
    read_end, write_end = os.pipe()
    os.set_blocking(write_end, False)
    signal.set_wakeup_fd(write_end)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: None)
    daemon.watch_stop(read_end)


def _control_fd():
    """The carpd launcher passes the read end of a FIFO it holds open; its
    hang-up (launcher got SIGTERM, or died) means stop."""
    try:
        from os import getenv
    except ImportError:
        return None
    value = getenv("CARP_CONTROL_FD")
    if value is not None and value.isdigit():
        return int(value)
    return None


def run(configs):
    try:
        daemon = Daemon(configs)
    except (Fatal, OSError) as e:
        sys.stderr.write("carpd: %s\n" % e)
        return 1
    control = _control_fd()
    if control is not None:
        daemon.watch_stop(control)
    _watch_signals(daemon)
    daemon.run()
    return 0
