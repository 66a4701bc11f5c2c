"""What a router watches besides its CARP peers, and how that demotes it.

Every tracked thing (a vhid's own carrier, another interface such as the
WAN, a ping target) belongs to the demotion group of the vhid that tracks
it. Each failed thing adds 1 to the group's demotion, and every vhid of the
group adds the group's demotion to its own: the LAN, guest and IoT vhids of
a router fail over together (OpenBSD's interface-group demotion). No I/O and
no clock here: tracking.py feeds carrier changes, timer ticks and ping
replies, and asks for deadlines. What every tracker has: group, failed, why,
what (for status) and deadline (None: no timer).
"""


class LinkTracker:
    """A carrier that must be up. A carrier that comes back counts only once
    it has stayed up for up_delay_ms (flap damping): a bouncing cable keeps
    the router demoted instead of bouncing mastership."""

    def __init__(self, group, device, up_delay_ms, ticks):
        self.group = group
        self.device = device
        self.what = "carrier " + device  # for status
        self.up_delay_ms = up_delay_ms
        self._ticks_add = ticks.ticks_add
        self._ticks_diff = ticks.ticks_diff
        self.failed = True  # until the kernel says the carrier is up
        self.deadline = None  # when a carrier that came back starts to count
        self.why = "%s: no carrier" % device

    def on_carrier(self, now, running):
        """-> True if `failed` changed."""
        if not running:
            self.deadline = None
            if self.failed:
                return False
            self.failed = True
            self.why = "%s: no carrier" % self.device
            return True
        if not self.failed:
            return False
        if self.up_delay_ms <= 0:
            return self._recover()
        if self.deadline is None:
            self.deadline = self._ticks_add(now, self.up_delay_ms)
        return False

    def on_timer(self, now):
        if self.deadline is not None and self._ticks_diff(now, self.deadline) >= 0:
            return self._recover()
        return False

    def _recover(self):
        self.deadline = None
        self.failed = False
        self.why = None
        return True


class PingTracker:
    """ICMP echo to a target every interval; `fall` misses in a row make it
    failed, `rise` replies in a row make it good again (hysteresis). It starts
    good, so a router does not demote itself at boot before trying."""

    def __init__(self, group, target_text, interval_ms, rise, fall, ticks):
        self.group = group
        self.target = target_text
        self.what = "ping " + target_text  # for status
        self.interval_ms = interval_ms
        self.rise = rise
        self.fall = fall
        self._ticks_add = ticks.ticks_add
        self._ticks_diff = ticks.ticks_diff
        self.failed = False
        self.why = None
        self.seq = 0
        self.waiting = False  # the last request is unanswered
        self.replies = 0  # in a row
        self.misses = 0  # in a row
        self.deadline = None

    def start(self, now):
        self.deadline = now

    def next_request(self, now):
        """Time for a new request: count the previous one as missed if it got
        no answer. -> True if `failed` changed; the sequence number to send
        is then self.seq (not a tuple: nothing allocated per request)."""
        changed = False
        if self.waiting:
            changed = self._miss()
        self.seq = (self.seq + 1) & 0xFFFF
        self.waiting = True
        self.deadline = self._ticks_add(now, self.interval_ms)
        return changed

    def send_failed(self):
        """The request could not even be sent (no route): a miss now."""
        self.waiting = False
        return self._miss()

    def on_reply(self, seq):
        """-> True if `failed` changed."""
        if not self.waiting or seq != self.seq:
            return False  # late or foreign
        self.waiting = False
        self.misses = 0
        self.replies += 1
        if self.failed and self.replies >= self.rise:
            self.failed = False
            self.why = None
            return True
        return False

    def _miss(self):
        self.replies = 0
        self.misses += 1
        if not self.failed and self.misses >= self.fall:
            self.failed = True
            self.why = "ping %s: %d missed in a row" % (self.target, self.misses)
            return True
        return False


def group_demotions(trackers):
    """{group: number of failed trackers}, and {group: [why, ...]}."""
    counts = {}
    reasons = {}
    for t in trackers:
        if t.failed:
            counts[t.group] = counts.get(t.group, 0) + 1
            reasons.setdefault(t.group, []).append(t.why)
    return counts, reasons
