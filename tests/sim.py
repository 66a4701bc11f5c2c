"""Virtual-time simulation of CARP routers on one LAN, driving the real
carp.machine with no sockets: the whole election in milliseconds of CPU.

Time is the milliseconds since the simulation started; machines see it as
wrapping ticks that start at start_ticks, so a run that starts near the wrap
exercises tick arithmetic. Both stay small ints on every interpreter, as on
the router, where ticks come from time.ticks_ms(): a 32-bit MicroPython holds
ints below 2**30 only, and its ticks_add/ticks_diff read a bigger value (a
heap-allocated int) as garbage instead of raising.
"""
import heapq
import socket

from carp import clock, machine, tiebreak
from carp.wire import BOW_OUT_TIMING


class Router:
    def __init__(self, name, addr, advbase=1, advskew=0, preempt=False, demote=0, deadratio=3, preempt_delay_ms=0,
                 ticks=clock):
        self.name = name
        self.addr = bytes(socket.inet_pton(socket.AF_INET, addr))
        self.machine = machine.Machine(1, advbase, advskew, preempt, demote, deadratio, ticks=ticks,
                                       preempt_delay_ms=preempt_delay_ms)
        self.conflicts = []
        self.holds_vip = False
        self.alive = False
        self.link_up = True
        self.history = []  # (time, state name, reason)
        self.sent = 0
        self.announces = []
        self.last_heard = None  # the last advertisement delivered: the daemon's Vhid.last_good

    @property
    def state(self):
        return self.machine.state_name()


class Lan:
    MAX_EVENTS = 200000  # every run is bounded

    def __init__(self, *routers, delay_ms=1, start_ticks=0, ticks=clock):
        self.routers = {r.name: r for r in routers}
        self.clock = ticks
        self.time = 0
        self.start_ticks = start_ticks
        self.delay_ms = delay_ms
        self.queue = []  # (deliver at, seq, destination name, advert tuple)
        self.seq = 0
        self.blocked = set()  # (sender, receiver) pairs that do not hear each other
        self.drop_next = {}  # receiver name -> count of advertisements to lose
        self.extra_delay = {}  # (sender, receiver) -> ms

    def ticks(self, t=None):
        return self.clock.ticks_add(self.start_ticks, self.time if t is None else t)

    def _apply(self, r, actions):
        machine.apply(actions, r, self)  # in the daemon's order

    # -- the effects of action bits, on the simulated LAN ----------------
    def take_vips(self, r):
        r.holds_vip = True

    def send_advert(self, r):
        self._broadcast(r, r.machine.advbase, r.machine.advertised_skew())

    def announce(self, r):
        r.announces.append(self.time)

    def send_bow_out(self, r):
        self._broadcast(r, BOW_OUT_TIMING, BOW_OUT_TIMING)

    def release_vips(self, r):
        r.holds_vip = False

    def transition(self, r):
        r.history.append((self.time, r.state, r.machine.reason))

    def conflict(self, r):
        r.conflicts.append(self.time)

    def _broadcast(self, sender, advbase, advskew):
        if not sender.link_up:
            return
        sender.sent += 1
        for name, r in self.routers.items():
            if r is sender or (sender.name, name) in self.blocked:
                continue
            delay = self.delay_ms + self.extra_delay.get((sender.name, name), 0)
            self.seq += 1
            heapq.heappush(self.queue, (self.time + delay, self.seq, name,
                                        (advbase, advskew, sender.machine.demote, sender.addr)))

    # -- what a test does ---------------------------------------------------
    def start(self, name):
        r = self.routers[name]
        r.alive = True
        self._apply(r, r.machine.start(self.ticks(), r.link_up))

    def crash(self, name):
        """Power cut: no bow-out, no more advertisements."""
        self.routers[name].alive = False
        self.routers[name].holds_vip = False

    def stop(self, name):
        r = self.routers[name]
        self._apply(r, r.machine.stop(self.ticks()))
        r.alive = False

    def link(self, name, up):
        r = self.routers[name]
        r.link_up = up
        self._apply(r, r.machine.on_link(self.ticks(), up))

    def demote(self, name, value):
        r = self.routers[name]
        self._apply(r, r.machine.set_demote(self.ticks(), value))

    def _next_timer(self):
        best = None
        for r in self.routers.values():
            d = r.machine.deadline
            if r.alive and d is not None:
                at = self.time + max(0, self.clock.ticks_diff(d, self.ticks()))
                if best is None or at < best[0]:
                    best = (at, r)
        return best

    def run_until(self, end_ms):
        for _ in range(self.MAX_EVENTS):
            timer = self._next_timer()
            delivery = self.queue[0][0] if self.queue else None
            candidates = [t for t in (timer and timer[0], delivery) if t is not None]
            if not candidates or min(candidates) > end_ms:
                self.time = end_ms
                return
            if delivery is not None and (timer is None or delivery <= timer[0]):
                at, _, name, advert = heapq.heappop(self.queue)
                self.time = at
                r = self.routers[name]
                if not r.alive or not r.link_up:
                    continue
                if self.drop_next.get(name):
                    self.drop_next[name] -= 1
                    continue
                advbase, advskew, demote, src = advert
                tie = tiebreak.tie(r.addr, src, 0)
                repeat = advert == r.last_heard  # as the daemon's inbox flags it
                r.last_heard = advert
                self._apply(r, r.machine.on_advert(self.ticks(), machine.PeerAdvert(advbase, advskew, demote, tie,
                                                                                    repeat)))
            else:
                self.time, r = timer
                self._apply(r, r.machine.on_timer(self.ticks()))
        raise AssertionError("simulation did not settle within %d events" % self.MAX_EVENTS)

    def run_for(self, ms):
        self.run_until(self.time + ms)

    # -- what a test checks -------------------------------------------------
    def masters(self):
        return sorted(n for n, r in self.routers.items() if r.alive and r.state == "MASTER")

    def holders(self):
        return sorted(n for n, r in self.routers.items() if r.holds_vip)

    def became_master_at(self, name, after=0):
        for t, state, _ in self.routers[name].history:
            if state == "MASTER" and t >= after:
                return t
        return None
