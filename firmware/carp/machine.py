"""One CARP state machine per vhid: INIT, BACKUP, MASTER. No I/O, no clock.

Inputs are (now, event) with `now` in wrapping millisecond ticks (carp.clock);
outputs are an int of action bits (no list: no allocation on MicroPython)
that the event loop carries out in a fixed order, and `deadline`, the tick at
which on_timer must be called (None: no timer).

Rules are OpenBSD's (docs/protocol.md section 4) with these choices:
- advertisement interval: advbase + advskew/256 s; 0 becomes 1/256 s (4 ms).
- master down: deadratio * advbase + advskew/256 s (FreeBSD and ucarp), so a
  backup's skew adds once, not three times as in OpenBSD. With advbase 0 the
  skew is the whole interval and is multiplied: deadratio * advskew/256 s.
- a MASTER hearing an advertisement exactly as good as its own (advbase,
  advskew and demote equal) keeps mastership only if its own address is lower
  than the peer's both read as a number and read byte-reversed (ucarp compares
  byte-reversed on little-endian hosts); otherwise it steps down like the BSDs.
  With a ucarp peer we therefore never both stay master. When the readings
  disagree both step down, and the numerically higher one waits one more
  interval before its master-down timer fires, so the BSD race of equal
  timers cannot repeat forever.
- a bow-out (advbase 255, advskew 255) makes a BACKUP take over at once,
  whatever its own advbase.
- demotion is signalled both ways: the OpenBSD demote byte, and an advskew
  raised to 240 while demoted, as FreeBSD does for peers (FreeBSD, ucarp) that
  ignore the byte. Our own comparisons and interval use that raised skew.
- a MASTER that hears another master and keeps mastership answers at once
  and re-sends its gratuitous ARP/NA, at most once per interval, so clients
  that followed the other master come back (OpenBSD just keeps advertising).
  It reports a split brain (CONFLICT: a log line, never hooks) at most once
  per CONFLICT_REPORT_MS, and not while taking over from a master it
  preempted (that one's adverts until it yields are a handover).
- preempt_delay_ms: a BACKUP that could preempt waits this long, and only
  takes over if it is still the better one then.
- boot hold (boot_delay): start(hold_ms=...) keeps the machine in INIT, its
  one timer armed, until the hold is over; the last carrier change counts.
"""
from carp.compat import const
# Tie results (tiebreak.tie): who stays master when two advertise alike.
from carp.tiebreak import TIE_PEER_WINS, TIE_SPLIT_HIGHER, TIE_SPLIT_LOWER, TIE_WE_WIN  # noqa: F401
from carp.wire import BOW_OUT_TIMING

INIT = const(0)
BACKUP = const(1)
MASTER = const(2)
STATE_NAMES = ("INIT", "BACKUP", "MASTER")

# Action bits, carried out in this order by apply() below.
TAKE_VIPS = const(1)  # add the virtual addresses
SEND_ADVERT = const(2)  # send one advertisement with the current timing
ANNOUNCE = const(4)  # gratuitous ARP (and NA) for the virtual addresses
SEND_BOW_OUT = const(8)  # send one advertisement with advbase and advskew BOW_OUT_TIMING
RELEASE_VIPS = const(16)  # remove the virtual addresses
TRANSITION = const(32)  # state changed: log it, update status, run hooks
CONFLICT = const(64)  # another master was heard and we kept mastership: report it (rate limited)

DEMOTED_ADVSKEW = 240  # FreeBSD's cap: what a demoted router advertises, for peers blind to the demote byte
MIN_INTERVAL_MS = 4  # OpenBSD floors a zero interval at 1/256 s
DELAYED_ANNOUNCE = 2  # repeat the gratuitous ARP two advertisements later (for L3 switches)
# A split brain is reported once a minute per vhid (answered every interval).
CONFLICT_REPORT_MS = 60000

# Reasons for the last transition (shown in logs and status).
R_START = "start"
R_LINK_UP = "link up"
R_LINK_DOWN = "link down"
R_MASTER_DOWN = "master down"
R_PREEMPT = "preempt: master is less preferred"
R_DEMOTED_PEER = "master is more demoted"
R_SLOW_MASTER = "master advertises slower than our master-down time"
R_BOW_OUT = "master bowed out"
R_PREFERRED = "more preferred master"
R_LESS_DEMOTED_PEER = "peer is less demoted"
R_TIE = "equal master with a lower address"
R_STOP = "stopped"

# Reasons for becoming MASTER while another master was still advertising.
_TAKEOVERS = (R_PREEMPT, R_DEMOTED_PEER, R_SLOW_MASTER)
# judge()'s answers that are no reason to change state by themselves.
_WE_LEAD = "we lead"
_SPLIT_TIE = "split tie"


class PeerAdvert:
    """What an advertisement said, for Machine.on_advert (tests, the simulation;
    the daemon hands its packet.Inbox, which has the same fields)."""

    def __init__(self, advbase, advskew, demote, tie=TIE_PEER_WINS, repeat=False):
        self.advbase = advbase
        self.advskew = advskew
        self.demote = demote
        self.tie = tie
        self.repeat = repeat  # the same advertisement as the last one on_advert was given


def apply(actions, target, effects):
    """Carry out a machine's action bits on effects, in the one order both
    the daemon (datapath.DataPath) and the simulation (tests/sim.py) use:
    addresses before the advertisement that claims them, the bow-out before
    the addresses go, the report last."""
    if actions & TAKE_VIPS:
        effects.take_vips(target)
    if actions & SEND_ADVERT:
        effects.send_advert(target)
    if actions & ANNOUNCE:
        effects.announce(target)
    if actions & SEND_BOW_OUT:
        effects.send_bow_out(target)
    if actions & RELEASE_VIPS:
        effects.release_vips(target)
    if actions & TRANSITION:
        effects.transition(target)
    if actions & CONFLICT:
        effects.conflict(target)


def interval_ms(advbase, advskew):
    ms = (advbase * 256 + advskew) * 1000 // 256
    return ms if ms > MIN_INTERVAL_MS else MIN_INTERVAL_MS


def master_down_ms(advbase, advskew, deadratio):
    if advbase == 0:
        return deadratio * interval_ms(0, advskew)
    return deadratio * advbase * 1000 + advskew * 1000 // 256


class Machine:
    def __init__(self, vhid, advbase=1, advskew=0, preempt=False, demote=0, deadratio=3, ticks=None,
                 preempt_delay_ms=0):
        if ticks is None:
            from carp import clock as ticks
        self._ticks_add = ticks.ticks_add
        self._ticks_diff = ticks.ticks_diff
        self.vhid = vhid
        self.advbase = advbase
        self.advskew = advskew
        self.preempt = preempt
        self.demote = demote
        self.deadratio = deadratio
        self.down_ms = master_down_ms(advbase, advskew, deadratio)  # none of these changes while we run
        self.preempt_delay_ms = preempt_delay_ms
        self.preempt_since = None  # when we first could have preempted
        self.conflict_quiet_until = None  # ticks: no answer to another master before (an interval after the last)
        self.conflict_reported_at = None  # ticks: when we last reported a split brain (CONFLICT)
        self.took_over_at = None  # ticks: when we preempted a master that was still advertising
        self.state = INIT
        self.previous = INIT
        self.reason = R_START
        self.deadline = None  # ticks; set by _setrun() only
        self.held = False  # in INIT until the boot hold ends (start's hold_ms)
        self.hold_ms = 0
        self.link_up = False
        self.announce_countdown = 0
        # A BACKUP following the last advertisement's master (no preempt wait
        # pending), or a MASTER leading it without a tie-break: the same
        # advertisement again means the same (on_advert).
        self.settled = False
        # What the last accepted advertisement said (status, reasons).
        self.peer_advbase = 0
        self.peer_advskew = 0
        self.peer_demote = 0
        self._timing()  # skew_out, every_ms: what we advertise, how often

    # -- derived timing ---------------------------------------------------
    def _timing(self):
        """What we advertise and how often: on a change of demote, not per advertisement."""
        self.skew_out = DEMOTED_ADVSKEW if self.demote and self.advskew < DEMOTED_ADVSKEW else self.advskew
        self.every_ms = interval_ms(self.advbase, self.skew_out)

    def advertised_skew(self):
        return self.skew_out

    def interval_ms(self):
        return self.every_ms

    def master_down_ms(self):
        return self.down_ms

    def state_name(self):
        return STATE_NAMES[self.state]

    # -- transitions --------------------------------------------------------
    def _enter(self, state, reason):
        self.previous = self.state
        self.state = state
        self.reason = reason
        self.settled = False
        return TRANSITION

    def _setrun(self, now, extra_ms=0):
        """Arm the one timer for the state we are in (OpenBSD's carp_setrun):
        a MASTER's next advertisement, a BACKUP's master-down time; in INIT
        the end of a boot hold, else none."""
        if self.state == MASTER:
            self.deadline = self._ticks_add(now, self.every_ms + extra_ms)
        elif self.state == BACKUP:
            self.deadline = self._ticks_add(now, self.down_ms + extra_ms)
        elif self.held:
            self.deadline = self._ticks_add(now, self.hold_ms)
        else:
            self.deadline = None

    def _become_backup(self, now, reason, extra_ms=0):
        actions = RELEASE_VIPS if self.state == MASTER else 0
        actions |= self._enter(BACKUP, reason)
        self._setrun(now, extra_ms)
        return actions

    def _become_master(self, now, reason):
        self.preempt_since = None
        # From a live master: its advertisements until it hears us are expected.
        self.took_over_at = now if reason in _TAKEOVERS else None
        self.announce_countdown = DELAYED_ANNOUNCE
        actions = TAKE_VIPS | SEND_ADVERT | ANNOUNCE | self._enter(MASTER, reason)
        self._setrun(now)
        return actions

    def _leave(self, now, reason):
        """To INIT, releasing the addresses a MASTER held."""
        actions = RELEASE_VIPS if self.state == MASTER else 0
        actions |= self._enter(INIT, reason)
        self._setrun(now)
        return actions

    def start(self, now, link_up, hold_ms=0):
        """INIT -> BACKUP when the link is up; with hold_ms (boot_delay), that much later."""
        self.link_up = link_up
        if self.state != INIT:
            return 0
        if hold_ms > 0:
            self.held = True
            self.hold_ms = hold_ms
            self._setrun(now)
            return 0
        return self._become_backup(now, R_START) if link_up else 0

    def on_link(self, now, up):
        self.link_up = up
        if self.held:
            return 0  # the end of the hold looks at the carrier then
        if up:
            return self._become_backup(now, R_LINK_UP) if self.state == INIT else 0
        return self._leave(now, R_LINK_DOWN) if self.state != INIT else 0

    def stop(self, now):
        """Clean shutdown: a MASTER bows out so a backup takes over at once."""
        self.held = False
        if self.state == INIT:
            self._setrun(now)
            return 0
        return (SEND_BOW_OUT if self.state == MASTER else 0) | self._leave(now, R_STOP)

    def set_demote(self, now, demote):
        """Change our demotion; a MASTER advertises at once so peers see it."""
        if demote == self.demote:
            return 0
        self.demote = demote
        self._timing()
        self.settled = False  # judge() compares demotions
        if self.state == MASTER:
            self._setrun(now)
            return SEND_ADVERT
        return 0

    def on_timer(self, now):
        if self.deadline is None or self._ticks_diff(now, self.deadline) < 0:
            return 0
        if self.state == BACKUP:
            return self._become_master(now, R_MASTER_DOWN)
        if self.state == MASTER:
            self._setrun(now)
            if self.took_over_at is not None and not self._handover(now):
                self.took_over_at = None  # long past: no tick wrap-around can revive it
            actions = SEND_ADVERT
            if self.announce_countdown > 0:
                self.announce_countdown -= 1
                if self.announce_countdown == 0:
                    actions |= ANNOUNCE
            return actions
        if self.held and self.link_up:  # the boot hold is over
            self.held = False
            return self._become_backup(now, R_START)
        self.held = False
        self._setrun(now)
        return 0

    def needs_tie(self, advbase, advskew, demote):
        """Would on_advert look at the tie-break (an address compare) for this?"""
        return self.state == MASTER and demote == self.demote \
            and advbase * 256 + advskew == self.advbase * 256 + self.skew_out

    def judge(self, advbase, advskew, demote, tie=TIE_PEER_WINS):
        """What a valid advertisement means to us in our state, nothing
        changed: a reason to change state (R_*), _WE_LEAD (we stay master
        over another one), _SPLIT_TIE, or None (a master leaving while we are
        master; the master we follow, as a BACKUP)."""
        theirs = advbase * 256 + advskew
        ours = self.advbase * 256 + self.skew_out
        leaving = advbase == BOW_OUT_TIMING and advskew == BOW_OUT_TIMING
        if self.state == MASTER:
            if leaving:
                return None
            if demote < self.demote:
                return R_LESS_DEMOTED_PEER
            if demote == self.demote:
                if theirs < ours:
                    return R_PREFERRED
                if theirs == ours and tie == TIE_PEER_WINS:
                    return R_TIE
                if theirs == ours and tie != TIE_WE_WIN:
                    return _SPLIT_TIE
            return _WE_LEAD
        if leaving:
            return R_BOW_OUT
        if demote > self.demote:
            return R_DEMOTED_PEER
        if self.preempt and theirs > ours and demote == self.demote:
            return R_PREEMPT
        return R_SLOW_MASTER if self._too_slow(theirs) else None

    def _too_slow(self, theirs):
        """A master whose interval is beyond our master-down time."""
        return self.advbase != 0 and self.deadratio * self.advbase * 256 < theirs

    def on_advert(self, now, advert):
        """A valid advertisement for our vhid (MAC checked by the caller):
        judge() says what it means, the state reacts. advert (a PeerAdvert or
        the daemon's packet.Inbox): advbase, advskew, demote, tie (TIE_*, only
        read when needs_tie()) and repeat. Settled, a repeat means the same: the
        master a backup follows (its timer restarts), or one a master leads and
        has answered this interval (a flood of it: nothing to do)."""
        if advert.repeat and self.settled:
            if self.state == BACKUP:
                self._setrun(now)
                return 0
            if self._ticks_diff(now, self.conflict_quiet_until) < 0:
                return 0
        self.settled = False
        if self.state == INIT:
            return 0
        self.peer_advbase = advert.advbase
        self.peer_advskew = advert.advskew
        self.peer_demote = advert.demote
        reason = self.judge(advert.advbase, advert.advskew, advert.demote, advert.tie)
        if self.state == MASTER:
            if reason is None:
                return 0  # another master leaving: nothing to resolve
            if reason is _WE_LEAD:
                self.settled = advert.tie == TIE_PEER_WINS  # not a tie-break: addresses do not matter
                return self._conflict(now)
            if reason is _SPLIT_TIE:
                return self._split_tie(now, advert.tie)
            return self._yield(now, reason)
        if reason is R_PREEMPT:
            if not self._preempt_waited(now):
                reason = R_SLOW_MASTER if self._too_slow(advert.advbase * 256 + advert.advskew) else None
        else:
            self.preempt_since = None
            self.settled = True  # unless we take over now (_enter)
        if reason is not None:
            return self._become_master(now, reason)
        self._setrun(now)  # the master we follow: its master-down time starts again
        return 0

    def _split_tie(self, now, tie):
        """Both yield, with no last advertisement (it would undo the wait that breaks the race)."""
        return self._become_backup(now, R_TIE, self.interval_ms() if tie == TIE_SPLIT_HIGHER else 0)

    def _yield(self, now, reason):
        """One last advertisement (as ucarp): the winner may not have heard us,
        and must learn that clients may still follow us, to re-announce."""
        return SEND_ADVERT | self._become_backup(now, reason)

    def _preempt_waited(self, now):
        """Has a master worse than us been so for preempt_delay_ms?"""
        if self.preempt_delay_ms <= 0:
            return True
        if self.preempt_since is None:
            self.preempt_since = now
            return False
        return self._ticks_diff(now, self.preempt_since) >= self.preempt_delay_ms

    def _conflict(self, now):
        """Another master that should yield to us: answer and re-announce our
        VIPs at once, once per interval (a flood cannot make us send more)."""
        quiet = self.conflict_quiet_until
        if quiet is not None and self._ticks_diff(now, quiet) < 0:
            return 0  # under a flood, every packet ends here: one compare
        self._setrun(now)
        self.conflict_quiet_until = self.deadline  # now + our interval
        self.announce_countdown = DELAYED_ANNOUNCE
        reported = self.conflict_reported_at  # a handover is no split brain; and once a minute at most
        if self._handover(now) or (reported is not None and 0 <= self._ticks_diff(now, reported) < CONFLICT_REPORT_MS):
            return SEND_ADVERT | ANNOUNCE
        self.conflict_reported_at = now
        return SEND_ADVERT | ANNOUNCE | CONFLICT

    def _handover(self, now):
        """Still taking over from a master we preempted (one master-down time)?"""
        return self.took_over_at is not None and self._ticks_diff(now, self.took_over_at) < self.master_down_ms()
