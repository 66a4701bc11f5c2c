"""The event loop: one poll over every socket, timer and control request.

A turn (step): wait for the first of an advertisement, a link event, a ping
reply, a control request or the next deadline; hand what is readable to its
reader (advertisements: datapath.DataPath.take, or drain for a batch under
a flood); run what is due (machines:
Machine.on_timer -> machine.apply; trackers); write the status document if
something it shows changed (report.py); under a flood, pause so that packets
gather and are read in batches (pace).

Pacing under a flood of packets that pass the kernel filter (right length,
TTL and vhid: forged advertisements). A wake-up costs more than the packets
it reads, so when more than FLOOD_PACKETS arrive within FLOOD_WINDOW_MS the
loop pauses after each turn and then reads what gathered in one go, as
libpcap's block timeout does for ucarp. The pause ends at the next timer,
after FLOOD_PAUSE_MS, on a stop, reload or link event, or when a sampling
socket (the same kernel filter, passing one packet in SAMPLE_ONE_IN at
random) becomes readable: about SAMPLE_ONE_IN packets have gathered by then,
at any rate. So a slow flood is read in large batches, a fast one in batches
of about SAMPLE_ONE_IN, and the receive queue (thousands of packets) never
overflows: a live master is never missed, only handled late. While pacing,
HMACs of packets never seen before get FLOOD_HASH_US of each window (the
inbox's budget); forgeries that all differ cannot take the CPU from timers.
"""
import select

from carp import clock, machine, packet
from carp.clock import ticks_diff

FLOOD_WINDOW_MS = 100
FLOOD_PACKETS = 20  # 200/s: more than 20 vhids at 10 advertisements per second
FLOOD_PAUSE_MS = 100
# Under a flood, HMACs of packets never seen before may take this much of
# each window (a quarter of the time); past it they are dropped unverified.
# A repeat (a carp or OpenBSD master's advertisement) needs no HMAC.
FLOOD_HASH_US = FLOOD_WINDOW_MS * 1000 // 4
SAMPLE_ONE_IN = 128
DRAIN_READS = 256  # datagrams per wake-up, at most
QUIET_MS = 100000  # a window older than ticks can tell: this long (for the rate only)


class Loop:
    def __init__(self, events_fd, vhids, interfaces, datapath, tracking, report, write_status, reload):
        """vhids and interfaces: the daemon's lists (changed in place on a
        reload); write_status(): write the document now; reload(): re-read
        the configuration and apply it."""
        self.vhids = vhids
        self.interfaces = interfaces
        self.datapath = datapath
        self.tracking = tracking
        self.report = report
        self.write_status = write_status
        self.reload = reload
        self.stopping = False
        self.by_fd = {}  # a CARP socket's fd -> its Interface
        self.control = {}  # fd -> function reading one control request
        self.samplers = []  # every interface's sampling sockets (see SAMPLE_ONE_IN)
        self.poller = select.poll()
        self.ipoll = getattr(self.poller, "ipoll", None) or self.poller.poll
        self.events_fd = events_fd
        self.poller.register(events_fd, select.POLLIN)
        # What ends a flood pause early: stop/reload requests and link events,
        # not packets. (A poll, not a sleep: MicroPython's sleep_ms may spin.)
        self.pause_poller = select.poll()
        self.pause_poller.register(events_fd, select.POLLIN)
        self.pause_poll = getattr(self.pause_poller, "ipoll", None) or self.pause_poller.poll
        self.window_start = clock.ticks_ms()
        self.window_packets = 0
        self.packets_per_s = 0  # in the last full window, for status
        self.flooded = False
        self.floods = 0  # windows spent pacing, for status
        self.tracker_deadline = None  # the trackers' nearest, noted by poll_timeout (step calls it first)

    # -- what is watched ------------------------------------------------------
    def watch(self, iface, sock, sampler):
        """A CARP socket of iface, and its sampling twin."""
        self.by_fd[sock.fileno()] = iface
        self.poller.register(sock.fileno(), select.POLLIN)
        self.samplers.append(sampler)
        self.pause_poller.register(sampler.fileno(), select.POLLIN)

    def forget(self, iface):
        for fd in iface.fds():
            self.poller.unregister(fd)
            del self.by_fd[fd]
        for sampler in iface.samplers():
            self.pause_poller.unregister(sampler.fileno())
            self.samplers.remove(sampler)

    def watch_control(self, fd, read_request):
        """read_request(fd) -> 'stop', 'reload', 'status' or None (nothing to do)."""
        self.control[fd] = read_request
        self.poller.register(fd, select.POLLIN)
        self.pause_poller.register(fd, select.POLLIN)

    def load(self):
        """(packets per second, windows spent pacing), for status. At rest a
        window stays open for FLOOD_PACKETS + 1 packets: once it has been
        open a second, the rate is its own so far."""
        elapsed = ticks_diff(clock.ticks_ms(), self.window_start)
        if not self.flooded and elapsed >= 1000:
            return self.window_packets * 1000 // elapsed, self.floods
        return self.packets_per_s, self.floods

    # -- one turn -------------------------------------------------------------
    def run(self):
        try:
            while not self.stopping:
                self.step()
        except KeyboardInterrupt:  # MicroPython turns SIGINT into this
            pass

    def step(self):
        """Wait for a packet, an event or the next deadline, and act on it."""
        for fd, _event in self.ipoll(self.poll_timeout(clock.ticks_ms())):
            self.handle(fd)
        now = clock.ticks_ms()
        self.run_timers(now)
        if self.report.wanted or (self.report.next_write is not None
                                  and ticks_diff(now, self.report.next_write) >= 0):
            self.write_status()
        if self.flooded:
            self.pace(now)

    def handle(self, fd):
        """A descriptor is readable: a packet, a link event, a ping reply, or a control request."""
        iface = self.by_fd.get(fd)
        if iface is not None:
            # At rest one read per wake-up: the read that would only say
            # "empty" is a syscall too (poll() comes back at once if more
            # are queued).
            if self.flooded:
                self.window_packets += self.datapath.drain(iface, fd == iface.carp6_fd, DRAIN_READS)
            elif self.datapath.take(iface, fd == iface.carp6_fd):
                self.window_packets += 1
                if self.window_packets > FLOOD_PACKETS:
                    self._next_window(clock.ticks_ms())  # a flood's first window is read in batches too
        elif fd == self.events_fd:
            self.on_link_events(clock.ticks_ms())
        elif fd == self.tracking.icmp_fd:
            self.tracking.on_icmp(self.datapath.inbox.buf, self.vhids, clock.ticks_ms())
        else:
            request = self.control[fd](fd)
            if request == "stop":
                self.stopping = True
            elif request == "reload":
                self.reload()
            elif request == "status":
                self.report.wanted = True

    def on_link_events(self, now):
        self.tracking.on_link_events(self.interfaces, self.vhids, now)

    def run_timers(self, now):
        """What is due: trackers (only when poll_timeout saw one due, which
        is rare: a carrier's up_delay, a ping interval), then each vhid's
        machine. Deadlines are checked here, so that nothing is called for
        a vhid that has nothing due."""
        due = self.tracker_deadline
        if due is not None and ticks_diff(now, due) >= 0:
            self.tracking.run_due(self.vhids, now)
        vhids = self.vhids
        i = 0
        while i < len(vhids):
            due = vhids[i].machine.deadline
            if due is not None and ticks_diff(now, due) >= 0:
                self._fire(vhids[i], now)
            i += 1

    def _fire(self, vhid, now):
        actions = vhid.machine.on_timer(now)
        if actions:  # as DataPath.act, a call fewer
            machine.apply(actions, vhid, self.datapath)

    def poll_timeout(self, now):
        """Milliseconds to the next deadline (-1: none). One more than the
        difference: poll() may return within the last millisecond tick, and
        a turn that finds nothing due is a wasted wake-up. Also notes the
        trackers' nearest deadline for run_timers. (Indexed loops, inline:
        few calls, and a frame within MicroPython's 11 words.)"""
        due = None
        items = self.tracking.trackers
        i = len(items)
        while i:
            i -= 1
            deadline = items[i].deadline
            if deadline is not None and (due is None or ticks_diff(deadline, due) < 0):
                due = deadline
        self.tracker_deadline = due
        items = self.vhids
        i = len(items)
        while i:
            i -= 1
            deadline = items[i].machine.deadline
            if deadline is not None and (due is None or ticks_diff(deadline, due) < 0):
                due = deadline
        if due is None:
            return -1
        due = ticks_diff(due, now)
        return due + 1 if due > 0 else 0

    # -- flood pacing -----------------------------------------------------------
    def pace(self, now):
        """Under a flood, let packets gather before the next turn."""
        if ticks_diff(now, self.window_start) >= FLOOD_WINDOW_MS:
            self._next_window(now)
        if self.flooded:
            self._pause(now)

    def _next_window(self, now):
        """Close the window: flooded if more than FLOOD_PACKETS came within
        FLOOD_WINDOW_MS. At rest a window closes only every FLOOD_PACKETS + 1
        packets (handle), so a turn does no flood bookkeeping at all."""
        elapsed = ticks_diff(now, self.window_start)
        if elapsed < 0:  # opened beyond the ticks' half period: days of quiet
            elapsed = QUIET_MS
        packets = self.window_packets
        self.packets_per_s = packets * 1000 // (elapsed if elapsed > 0 else 1)
        # (No product with elapsed: it may be days, past a 31-bit small int.)
        self.flooded = packets > FLOOD_PACKETS and elapsed < packets * FLOOD_WINDOW_MS // FLOOD_PACKETS
        self.datapath.inbox.hash_budget_us = FLOOD_HASH_US if self.flooded else packet.UNLIMITED_US
        if self.flooded:
            self.floods += 1
        self.window_packets = 0
        self.window_start = now

    def _pause(self, now):
        pause = self.poll_timeout(now)
        if pause < 0 or pause > FLOOD_PAUSE_MS:
            pause = FLOOD_PAUSE_MS
        if pause:
            samplers = self.samplers
            i = len(samplers)
            while i:
                i -= 1
                samplers[i].discard(self.datapath.inbox.buf, DRAIN_READS)  # only its becoming readable matters
            self.pause_poll(pause)
