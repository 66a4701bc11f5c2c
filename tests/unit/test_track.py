"""Tracked things in virtual time: carrier flap damping, ping rise/fall,
and how failures add up per demotion group."""
from carp import clock, track


def test_a_carrier_counts_again_only_after_it_stayed_up_for_up_delay():
    t = track.LinkTracker("home", "wan", 2000, clock)
    assert t.failed and t.why == "wan: no carrier"
    assert not t.on_carrier(0, True)  # came back: not yet
    assert not t.on_timer(1999)
    assert t.on_timer(2000) and not t.failed


def test_a_bouncing_carrier_never_counts_as_up():
    t = track.LinkTracker("home", "lan0", 2000, clock)
    t.on_carrier(0, True)
    t.on_timer(2000)
    assert not t.failed
    now = 3000
    for _ in range(20):  # down and up every 400 ms for 8 s
        t.on_carrier(now, False)
        t.on_carrier(now + 200, True)
        t.on_timer(now + 399)
        assert t.failed
        now += 400
    assert not t.on_timer(now + 1000) and t.failed
    assert t.on_timer(now + 2200) and not t.failed  # stable at last


def test_no_up_delay_means_at_once():
    t = track.LinkTracker("home", "lan0", 0, clock)
    assert t.on_carrier(0, True) and not t.failed
    assert t.on_carrier(5, False) and t.failed


def test_ping_target_fails_after_fall_misses_and_recovers_after_rise_replies():
    t = track.PingTracker("home", "192.0.2.1", 1000, rise=2, fall=3, ticks=clock)
    t.start(0)
    assert t.deadline == 0 and not t.failed  # due at once
    now = 0
    changes = []
    for _ in range(4):  # four requests, none answered: the third miss fails it
        changed = t.next_request(now)
        seq = t.seq
        changes.append(changed)
        now += 1000
    assert changes == [False, False, False, True] and t.failed
    assert t.why == "ping 192.0.2.1: 3 missed in a row"
    t.next_request(now)
    seq = t.seq
    assert not t.on_reply(seq)  # one reply: not yet (rise 2)
    t.next_request(now + 1000)
    seq = t.seq
    assert not t.on_reply(seq + 1)  # a reply to something else
    assert t.on_reply(seq) and not t.failed


def test_unroutable_target_counts_as_misses():
    t = track.PingTracker("home", "192.0.2.1", 1000, rise=1, fall=2, ticks=clock)
    t.start(0)
    t.next_request(0)
    assert not t.send_failed()
    t.next_request(1000)
    assert t.send_failed() and t.failed


def test_failures_add_up_per_group():
    a = track.LinkTracker("home", "lan0", 0, clock)
    b = track.LinkTracker("home", "wan", 0, clock)
    c = track.LinkTracker("lab", "lan9", 0, clock)
    a.on_carrier(0, True)
    counts, reasons = track.group_demotions([a, b, c])
    assert counts == {"home": 1, "lab": 1}
    assert reasons["home"] == ["wan: no carrier"]
