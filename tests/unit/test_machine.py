"""The CARP state machine in virtual time: elections, preemption, demotion,
bow-out, sub-second timing and failures, with no sockets."""
import pytest
from hypothesis import given, settings, strategies as st

from carp import clock, machine, tiebreak
from tests.sim import Lan, Router


def pair(preempt=True, skew1=0, skew2=100, advbase=1, **kw):
    return Lan(Router("r1", "10.0.0.1", advbase, skew1, preempt),
               Router("r2", "10.0.0.2", advbase, skew2, preempt), **kw)


def test_timing_formulas():
    assert machine.interval_ms(1, 0) == 1000
    assert machine.interval_ms(1, 100) == 1390
    assert machine.interval_ms(0, 0) == 4  # OpenBSD floors at 1/256 s
    assert machine.interval_ms(0, 20) == 78
    assert machine.master_down_ms(1, 0, 3) == 3000
    assert machine.master_down_ms(1, 100, 3) == 3390  # skew added once, as FreeBSD and ucarp
    assert machine.master_down_ms(0, 40, 3) == 3 * 156
    assert machine.master_down_ms(2, 0, 5) == 10000


def test_cold_start_elects_the_least_skewed_router_once():
    lan = pair()
    lan.start("r1")
    lan.start("r2")
    lan.run_for(2999)
    assert lan.masters() == [] and lan.holders() == []
    lan.run_for(10)
    assert lan.masters() == ["r1"] and lan.holders() == ["r1"]
    lan.run_for(60000)
    assert lan.masters() == ["r1"] and lan.holders() == ["r1"]
    assert [s for _, s, _ in lan.routers["r2"].history] == ["BACKUP"]
    assert lan.routers["r1"].sent >= 60


def test_master_sends_one_advertisement_per_interval_and_repeats_arp_two_later():
    lan = pair()
    lan.start("r1")
    lan.run_for(3000)
    took = lan.became_master_at("r1")
    lan.run_for(10000)
    r1 = lan.routers["r1"]
    assert r1.sent == 11  # at takeover, then every second
    assert r1.announces == [took, took + 2000]


def test_master_loss_backup_takes_over_after_master_down():
    lan = pair()
    lan.start("r1")
    lan.start("r2")
    lan.run_for(10000)
    lan.crash("r1")
    crash = lan.time
    lan.run_for(5000)
    took = lan.became_master_at("r2")
    # last advertisement heard at most one interval before the crash
    assert crash + 3390 - 1000 <= took <= crash + 3390 + 1
    assert lan.holders() == ["r2"]


def test_two_lost_advertisements_are_tolerated():
    lan = pair()
    lan.start("r1")
    lan.start("r2")
    lan.run_for(5000)
    lan.drop_next["r2"] = 2
    lan.run_for(10000)
    assert lan.masters() == ["r1"]
    assert lan.became_master_at("r2") is None


def test_bow_out_makes_the_backup_take_over_at_once():
    lan = pair()
    lan.start("r1")
    lan.start("r2")
    lan.run_for(10000)
    stopped = lan.time
    lan.stop("r1")
    assert lan.holders() == []  # released by the stopping master
    lan.run_for(100)
    assert lan.became_master_at("r2") == stopped + 1  # one delivery delay
    assert lan.routers["r2"].history[-1][2] == machine.R_BOW_OUT
    assert lan.holders() == ["r2"]


def test_late_start_of_a_preferred_router_preempts_when_enabled():
    lan = pair(preempt=True)
    lan.start("r2")
    lan.run_for(10000)
    assert lan.masters() == ["r2"]
    joined = lan.time
    lan.start("r1")
    lan.run_for(3000)
    took = lan.became_master_at("r1")
    assert took is not None and took <= joined + 1390 + 1  # on r2's next advertisement
    assert lan.masters() == ["r1"] and lan.holders() == ["r1"]
    assert lan.routers["r2"].history[-1][1:] == ("BACKUP", machine.R_PREFERRED)


def test_late_start_of_a_preferred_router_waits_without_preempt():
    lan = pair(preempt=False)
    lan.start("r2")
    lan.run_for(10000)
    lan.start("r1")
    lan.run_for(30000)
    assert lan.masters() == ["r2"] and lan.holders() == ["r2"]
    assert [s for _, s, _ in lan.routers["r1"].history] == ["BACKUP"]


def test_late_start_of_a_less_preferred_router_disturbs_nothing():
    lan = pair()
    lan.start("r1")
    lan.run_for(10000)
    lan.start("r2")
    lan.run_for(30000)
    assert lan.masters() == ["r1"]
    assert [s for _, s, _ in lan.routers["r1"].history] == ["BACKUP", "MASTER"]
    assert [s for _, s, _ in lan.routers["r2"].history] == ["BACKUP"]


def test_equal_skew_the_first_timer_wins_and_the_other_stays_backup():
    lan = pair(skew1=0, skew2=0)
    lan.start("r2")
    lan.run_for(7)
    lan.start("r1")
    lan.run_for(20000)
    assert lan.masters() == ["r2"]
    assert [s for _, s, _ in lan.routers["r1"].history] == ["BACKUP"]


@pytest.mark.parametrize("a1, a2, winner", [
    ("10.0.0.1", "10.0.0.2", "r1"),
    ("10.0.0.9", "10.0.0.2", "r2"),
    ("10.0.1.1", "10.0.2.1", "r1"),
])
def test_two_equal_masters_after_a_partition_the_lower_address_keeps_it(a1, a2, winner):
    lan = Lan(Router("r1", a1, 1, 0, True), Router("r2", a2, 1, 0, True))
    lan.blocked = {("r1", "r2"), ("r2", "r1")}
    lan.start("r1")
    lan.start("r2")
    lan.run_for(5000)
    assert lan.masters() == ["r1", "r2"]  # split brain while partitioned
    lan.blocked = set()
    lan.run_for(1001)
    assert lan.masters() == [winner] and lan.holders() == [winner]
    lan.run_for(20000)
    assert lan.masters() == [winner]


def test_equal_masters_whose_address_orders_disagree_both_yield_and_settle():
    # 10.77.1.1 vs 10.77.0.2: lower as a number is .0.2, byte-reversed it is .1.1
    # (ucarp on little-endian). Neither keeps mastership by the tie rule; the
    # BSD-style race of master-down timers decides.
    lan = Lan(Router("r1", "10.77.1.1", 1, 0, True), Router("r2", "10.77.0.2", 1, 0, True))
    lan.extra_delay[("r2", "r1")] = 3
    lan.blocked = {("r1", "r2"), ("r2", "r1")}
    lan.start("r1")
    lan.start("r2")
    lan.run_for(5000)
    lan.blocked = set()
    lan.run_for(10000)
    assert len(lan.masters()) == 1
    assert len(lan.holders()) == 1


def test_a_demoted_master_yields_even_to_a_slower_backup_without_preempt():
    lan = pair(preempt=False)
    lan.start("r1")
    lan.start("r2")
    lan.run_for(10000)
    assert lan.masters() == ["r1"]
    demoted = lan.time
    lan.demote("r1", 1)  # advertises at once
    lan.run_for(10)
    assert lan.became_master_at("r2") == demoted + 1
    assert lan.routers["r2"].history[-1][2] == machine.R_DEMOTED_PEER
    assert lan.masters() == ["r2"] and lan.holders() == ["r2"]
    lan.run_for(20000)
    assert lan.masters() == ["r2"]
    lan.demote("r1", 0)
    lan.run_for(3000)
    assert lan.masters() == ["r2"]  # no preempt: r1 waits
    

def test_a_demoted_backup_does_not_preempt():
    lan = Lan(Router("r1", "10.0.0.1", 1, 0, True, demote=2), Router("r2", "10.0.0.2", 1, 100, True))
    lan.start("r2")
    lan.run_for(10000)
    lan.start("r1")
    lan.run_for(20000)
    assert lan.masters() == ["r2"]


def test_advbase_zero_gives_sub_second_failover():
    lan = pair(advbase=0, skew1=20, skew2=40)
    lan.start("r1")
    lan.start("r2")
    lan.run_for(1000)
    assert lan.masters() == ["r1"]
    r1 = lan.routers["r1"]
    before = r1.sent
    lan.run_for(780)
    assert r1.sent - before == 10  # every 78 ms
    lan.crash("r1")
    crashed = lan.time
    lan.run_for(1000)
    took = lan.became_master_at("r2")
    assert crashed < took <= crashed + 3 * 156 + 1
    assert lan.holders() == ["r2"]


def test_backup_takes_over_from_a_master_slower_than_its_master_down_time():
    lan = Lan(Router("fast", "10.0.0.1", 1, 200, False), Router("slow", "10.0.0.2", 5, 0, False))
    lan.start("slow")
    lan.run_for(20000)
    assert lan.masters() == ["slow"]
    lan.start("fast")
    lan.run_for(6000)
    assert lan.masters() == ["fast"]
    assert lan.routers["fast"].history[-1][2] == machine.R_SLOW_MASTER


def test_link_down_releases_and_link_up_returns_with_preempt():
    lan = pair(preempt=True)
    lan.start("r1")
    lan.start("r2")
    lan.run_for(10000)
    lan.link("r1", False)
    assert lan.routers["r1"].state == "INIT" and lan.holders() == []
    down = lan.time
    lan.run_for(5000)
    assert lan.masters() == ["r2"] and lan.became_master_at("r2") <= down + 3390 + 1
    lan.link("r1", True)
    assert lan.routers["r1"].state == "BACKUP"
    lan.run_for(1500)
    assert lan.masters() == ["r1"] and lan.holders() == ["r1"]
    assert lan.routers["r1"].history[-1][2] == machine.R_PREEMPT


def test_advertisements_received_in_init_are_ignored():
    m = machine.Machine(1)
    assert m.on_advert(0, machine.PeerAdvert(1, 0, 0)) == 0
    assert m.state == machine.INIT
    assert m.start(0, link_up=False) == 0 and m.state == machine.INIT


def test_stop_as_backup_sends_no_bow_out():
    m = machine.Machine(1)
    m.start(0, True)
    actions = m.stop(5)
    assert not actions & machine.SEND_BOW_OUT and not actions & machine.RELEASE_VIPS


def test_timers_work_across_the_tick_wrap():
    lan = pair(start_ticks=clock.ticks_add(0, -1500))
    lan.start("r1")
    lan.start("r2")
    lan.run_for(20000)
    assert lan.became_master_at("r1") == 3000
    assert lan.masters() == ["r1"]
    assert lan.routers["r1"].sent == 18


@settings(max_examples=60, deadline=None)
@given(skews=st.lists(st.integers(0, 254), min_size=2, max_size=4, unique=True),
       starts=st.lists(st.integers(0, 5000), min_size=4, max_size=4),
       crash=st.integers(0, 3))
def test_property_one_master_and_it_is_the_most_preferred_live_router(skews, starts, crash):
    routers = [Router("r%d" % i, "10.0.0.%d" % (i + 1), 1, s, True) for i, s in enumerate(skews)]
    lan = Lan(*routers)
    for r, t in sorted(zip(routers, starts), key=lambda x: x[1]):
        lan.run_until(t)
        lan.start(r.name)
    lan.run_for(10000)
    best = min(routers, key=lambda r: r.machine.advskew)
    assert lan.masters() == [best.name] and lan.holders() == [best.name]
    if crash < len(routers):
        lan.crash(routers[crash].name)
        lan.run_for(10000)
        live = [r for r in routers if r.alive]
        best = min(live, key=lambda r: r.machine.advskew)
        assert lan.masters() == [best.name] and lan.holders() == [best.name]


@pytest.mark.parametrize("ours, theirs, expected", [
    ("10.0.0.1", "10.0.0.2", machine.TIE_WE_WIN),
    ("10.0.0.2", "10.0.0.1", machine.TIE_PEER_WINS),
    ("10.77.0.2", "10.77.1.1", machine.TIE_SPLIT_LOWER),  # ucarp (LE) thinks 10.77.1.1 is lower
    ("10.77.1.1", "10.77.0.2", machine.TIE_SPLIT_HIGHER),
    ("10.0.0.1", "10.0.0.1", machine.TIE_PEER_WINS),
])
def test_tie_reads_addresses_as_numbers_and_byte_reversed(ours, theirs, expected):
    import socket
    assert tiebreak.tie(socket.inet_aton(ours), socket.inet_aton(theirs), 0) == expected


# -- demotion both ways, preempt delay, split brain (issue 5) -----------------

def test_a_demoted_router_advertises_advskew_240_for_peers_blind_to_the_demote_byte():
    m = machine.Machine(1, advbase=1, advskew=0)
    assert m.advertised_skew() == 0 and m.interval_ms() == 1000
    m.set_demote(0, 1)
    assert m.advertised_skew() == machine.DEMOTED_ADVSKEW == 240
    assert m.interval_ms() == machine.interval_ms(1, 240)
    m.set_demote(0, 0)
    assert m.advertised_skew() == 0 and m.interval_ms() == 1000
    m = machine.Machine(1, advbase=1, advskew=250, demote=1)
    assert m.advertised_skew() == 250  # already less preferred than the cap


def test_demotion_change_makes_a_master_advertise_at_once_and_only_on_change():
    m = machine.Machine(1)
    m.start(0, True)
    m.on_timer(m.deadline)
    assert m.state == machine.MASTER
    assert m.set_demote(5000, 1) == machine.SEND_ADVERT
    assert m.set_demote(5001, 1) == 0
    m2 = machine.Machine(1)
    m2.start(0, True)
    assert m2.set_demote(10, 1) == 0  # a backup has nothing to announce


def test_a_demoted_master_loses_even_against_a_peer_that_ignores_the_demote_byte():
    # r2 stands for a FreeBSD or ucarp peer: it never sees the demote byte
    # (we keep its own demote at 0 and it reads only advbase/advskew), so only
    # the raised advskew can make it preempt.
    lan = pair(preempt=True)
    lan.start("r1")
    lan.start("r2")
    lan.run_for(10000)
    r2 = lan.routers["r2"].machine
    original = r2.on_advert
    r2.on_advert = lambda now, advert: original(now, machine.PeerAdvert(advert.advbase, advert.advskew, 0, advert.tie))
    lan.demote("r1", 1)
    lan.run_for(100)
    assert lan.masters() == ["r2"]
    assert lan.routers["r2"].history[-1][2] == machine.R_PREEMPT


def test_preempt_delay_makes_the_preferred_router_wait_before_taking_over():
    lan = Lan(Router("r1", "10.0.0.1", 1, 0, True, preempt_delay_ms=5000), Router("r2", "10.0.0.2", 1, 100, True))
    lan.start("r2")
    lan.run_for(10000)
    joined = lan.time
    lan.start("r1")
    lan.run_for(4000)
    assert lan.masters() == ["r2"]  # r1 could preempt, but waits
    lan.run_for(4000)
    took = lan.became_master_at("r1")
    assert took is not None and joined + 5000 <= took <= joined + 5000 + 1390 + 1
    assert lan.masters() == ["r1"]


def test_split_brain_heals_with_one_re_announcing_master():
    lan = pair()
    lan.blocked = {("r1", "r2"), ("r2", "r1")}
    lan.start("r1")
    lan.start("r2")
    lan.run_for(5000)
    assert lan.masters() == ["r1", "r2"]
    announces = len(lan.routers["r1"].announces)
    healed = lan.time
    lan.blocked = set()
    lan.run_for(1500)
    assert lan.masters() == ["r1"]
    assert lan.became_master_at("r2") < healed  # r2 stepped down, did not come back
    r1 = lan.routers["r1"]
    assert len(r1.conflicts) == 1 and r1.conflicts[0] - healed <= 1390 + 1
    assert len(r1.announces) >= announces + 1  # the burst after the conflict


def test_a_flood_of_other_master_advertisements_gets_one_answer_per_interval():
    m = machine.Machine(1)
    m.start(0, True)
    m.on_timer(m.deadline)  # MASTER at 3000
    answers = [m.on_advert(3100 + i, machine.PeerAdvert(1, 200, 0)) for i in range(500)]  # 500 in half a second
    assert sum(1 for a in answers if a & machine.SEND_ADVERT) == 1
    assert sum(1 for a in answers if a & machine.CONFLICT) == 1
    assert m.on_advert(4200, machine.PeerAdvert(1, 200, 0)) == machine.SEND_ADVERT | machine.ANNOUNCE  # answered, not reported again


# -- issue 13: a split brain is reported once, a preemption never -----------

def test_preempting_a_live_master_is_a_handover_not_a_split_brain():
    # make demo's cable-back step: r1 comes back and preempts r2, whose
    # advertisements in flight and last one as it yields reach r1 as master.
    lan = pair(preempt=True)
    lan.start("r1")
    lan.start("r2")
    lan.run_for(5000)
    lan.link("r1", False)
    lan.run_for(5000)
    assert lan.masters() == ["r2"]
    back = lan.time
    lan.link("r1", True)
    lan.run_for(5000)
    assert lan.masters() == ["r1"]
    assert lan.routers["r1"].history[-1][2] == machine.R_PREEMPT
    assert lan.routers["r1"].conflicts == []
    assert lan.routers["r2"].conflicts == []
    assert lan.became_master_at("r1", back) is not None


def test_a_third_advertiser_that_never_yields_is_reported_once_a_minute_and_answered_every_interval():
    # r3 ties with r1 (equal timing, higher address: r1 keeps the role) but
    # never hears r1, so it stays master: a one-way partition or a replay.
    lan = Lan(Router("r1", "10.0.0.1", 1, 0, True), Router("r3", "10.0.0.3", 1, 0, True))
    lan.blocked = {("r1", "r3")}
    lan.start("r1")
    lan.run_for(5000)
    lan.start("r3")
    lan.run_for(4000)  # r3 is master now (it never hears r1)
    assert lan.masters() == ["r1", "r3"]
    first = lan.time
    sent = lan.routers["r1"].sent
    lan.run_for(50000)
    r1 = lan.routers["r1"]
    assert len(r1.conflicts) == 1
    assert [s for _, s, _ in r1.history] == ["BACKUP", "MASTER"]  # no transition, so no hooks
    # answered about once per interval: its own advertisements plus one answer each
    assert 50 <= r1.sent - sent <= 2 * 50 + 2
    lan.run_for(machine.CONFLICT_REPORT_MS)
    assert len(r1.conflicts) == 2
    assert r1.conflicts[1] - r1.conflicts[0] >= machine.CONFLICT_REPORT_MS
    assert r1.conflicts[0] - first <= 1000 + 2


@settings(max_examples=300, deadline=None)
@given(state=st.sampled_from(["backup", "master"]), advskew=st.integers(0, 254), demote=st.integers(0, 3),
       peer=st.tuples(st.integers(0, 255), st.integers(0, 255), st.integers(0, 3)))
def test_the_tie_break_is_skipped_only_where_it_cannot_change_the_outcome(state, advskew, demote, peer):
    """The daemon computes the address tie-break only when needs_tie() says so."""
    outcomes = set()
    for tie in (machine.TIE_PEER_WINS, machine.TIE_WE_WIN, machine.TIE_SPLIT_LOWER, machine.TIE_SPLIT_HIGHER):
        m = machine.Machine(1, advbase=1, advskew=advskew, preempt=True, demote=demote)
        m.start(0, True)
        if state == "master":
            m._become_master(10, "test")
        needed = m.needs_tie(*peer)
        outcomes.add((m.on_advert(20, machine.PeerAdvert(*peer, tie=tie)), m.state, m.deadline))
    assert needed or len(outcomes) == 1


# -- boot hold (boot_delay): decided by the machine ---------------------------
def test_a_boot_hold_keeps_init_until_it_ends_then_starts_as_backup():
    m = machine.Machine(1)
    assert m.start(0, True, hold_ms=5000) == 0
    assert m.state == machine.INIT and m.deadline == 5000
    assert m.on_timer(4999) == 0 and m.state == machine.INIT
    assert m.on_link(100, False) == 0 and m.on_link(200, True) == 0  # remembered, no transition
    actions = m.on_timer(5000)
    assert actions == machine.TRANSITION and m.state == machine.BACKUP and m.reason == machine.R_START
    assert m.deadline == 5000 + m.master_down_ms()


def test_a_boot_hold_that_ends_without_carrier_waits_in_init_for_it():
    m = machine.Machine(1)
    m.start(0, True, hold_ms=1000)
    m.on_link(10, False)
    assert m.on_timer(1000) == 0 and m.state == machine.INIT and m.deadline is None
    assert m.on_link(1500, True) == machine.TRANSITION and m.state == machine.BACKUP
    assert m.reason == machine.R_LINK_UP


def test_stop_during_a_boot_hold_disarms_it():
    m = machine.Machine(1)
    m.start(0, True, hold_ms=1000)
    assert m.stop(10) == 0 and m.deadline is None and m.on_timer(2000) == 0 and m.state == machine.INIT



# -- the repeat shortcut: a backup hearing the master it follows, again --------

ADVERTS = [(1, 0, 0), (1, 100, 0), (1, 200, 0), (0, 30, 0), (1, 0, 1), (1, 100, 2),
           (machine.BOW_OUT_TIMING, machine.BOW_OUT_TIMING, 0), (4, 0, 0)]
TIES = [tiebreak.TIE_PEER_WINS, tiebreak.TIE_WE_WIN, tiebreak.TIE_SPLIT_HIGHER, tiebreak.TIE_SPLIT_LOWER]


def _judged(m):
    return dict((k, v) for k, v in vars(m).items() if k != "settled" and not k.startswith("_ticks"))


def _twins(rng):
    args = (1, rng.choice([0, 1, 2]), rng.choice([0, 50, 240]), rng.random() < 0.5)
    delay = rng.choice([0, 2000])
    return machine.Machine(*args, preempt_delay_ms=delay), machine.Machine(*args, preempt_delay_ms=delay)


def test_a_repeated_advertisement_is_judged_as_the_full_judgement_would():
    """Machine.on_advert takes a shortcut when told an advertisement repeats
    the last one (the daemon's inbox knows: the same 36 bytes). A machine
    told so and one never told get the same random events (advertisements
    that mostly repeat, demotion, carrier, timers, restarts) and must agree
    after each: same answer, state, timer and everything else."""
    import random
    rng = random.Random(112)
    shortcuts = masters = 0
    for _ in range(400):
        told, never = _twins(rng)
        now = rng.choice([0, clock.ticks_add(0, -5000)])  # and across the tick wrap
        last = None
        assert told.start(now, True) == never.start(now, True)
        for _ in range(150):
            kind, wait = rng.random(), rng.randint(0, 1600)
            due = told.deadline
            if due is not None and clock.ticks_diff(due, now) <= wait:
                now = due  # a timer comes first, as in the loop
                answers = told.on_timer(now), never.on_timer(now)
            elif kind < 0.85:
                now = clock.ticks_add(now, wait)
                advert = last if last is not None and rng.random() < 0.8 else \
                    rng.choice(ADVERTS) + (rng.choice(TIES),)
                repeat = advert == last
                last = advert
                shortcuts += repeat and told.settled
                answers = (told.on_advert(now, machine.PeerAdvert(*advert, repeat=repeat)),
                           never.on_advert(now, machine.PeerAdvert(*advert)))
            elif kind < 0.93:
                demote = rng.choice([0, 1, 2])
                answers = told.set_demote(now, demote), never.set_demote(now, demote)
            elif kind < 0.98:
                up = rng.random() < 0.6
                answers = told.on_link(now, up), never.on_link(now, up)
            else:
                answers = told.stop(now), never.stop(now), told.start(now, True), never.start(now, True)
            assert answers[0::2] == answers[1::2]
            assert _judged(told) == _judged(never)
            if told.settled and told.state == machine.MASTER:  # the daemon then skips the tie-break
                assert last[3] == tiebreak.TIE_PEER_WINS and not told.needs_tie(*last[:3])
                masters += 1
    assert shortcuts > 10000 and masters > 1000  # the shortcut was taken, and often, in both roles


def test_a_backup_takes_the_shortcut_only_while_nothing_changed_here():
    m = machine.Machine(1, advbase=1, advskew=0, preempt=True, demote=1)
    m.start(0, True)
    worse = machine.PeerAdvert(1, 100, 0)  # worse than us undemoted, better than us demoted
    again = machine.PeerAdvert(1, 100, 0, repeat=True)
    assert m.on_advert(10, worse) == 0 and m.state == machine.BACKUP and m.settled
    assert m.on_advert(1010, again) == 0 and m.deadline == 1010 + m.master_down_ms()
    m.set_demote(1500, 0)
    assert not m.settled
    assert m.on_advert(2010, again) & machine.TAKE_VIPS  # judged again: now we preempt
    assert m.state == machine.MASTER and m.reason == machine.R_PREEMPT
