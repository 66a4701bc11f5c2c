"""One datagram, one verdict: packet.Inbox.parse4/6 and the kernel filters that
mirror them, for every reason a packet is dropped."""
import time

import pytest

from tests import forge
from carp import kfilter, packet
from tests.receive_path import PEER4, PEER6, STRANGER4, STRANGER6, USER_SPACE_ONLY, Receiver, valid

CARP = forge.carp  # shorthand below


def reason(name):
    return packet.DROP_REASONS.index(name)


@pytest.fixture
def rx():
    return Receiver()


@pytest.mark.parametrize("family", [4, 6])
def test_a_valid_advertisement_is_accepted_by_both(rx, family):
    verdict, kept = rx.verdict(family, valid(family))
    assert verdict == packet.ACCEPTED and kept > 0
    assert rx.inbox.vhid is rx.groups[0]


def _v4(payload, **ip):
    return forge.ipv4(STRANGER4, payload, **ip)


def _v6(payload, **ip):
    return forge.ipv6(STRANGER6, payload, **ip)


GOOD = dict(vips4=["10.9.0.254"], vips6=["fd09::254"])
DROPPED = [  # (name, family, datagram, reason)
    ("v4 short", 4, _v4(CARP(**GOOD)[:20]), "short"),
    ("v4 ip options", 4, forge.ipv4(STRANGER4, CARP(**GOOD), version_ihl=0x46, options=b"\x94\x04\0\0"),
     "bad_length"),
    ("v4 total length", 4, _v4(CARP(**GOOD) + b"\0\0\0\0", total=56), "trailing_bytes"),
    ("v4 longer payload", 4, _v4(CARP(**GOOD) + b"\0\0\0\0"), "bad_length"),
    ("v4 ttl", 4, _v4(CARP(**GOOD), ttl=64), "bad_ttl"),
    ("v4 version 3", 4, _v4(CARP(version_type=0x31, **GOOD)), "bad_version"),
    ("v4 type 15", 4, _v4(CARP(version_type=0x2F, **GOOD)), "bad_type"),
    ("v4 authlen 0", 4, _v4(CARP(authlen=0, **GOOD)), "bad_authlen"),
    ("v4 other vhid", 4, _v4(CARP(vhid=9, **GOOD)), "unknown_vhid"),
    ("v4 unicast vhid, not its peer", 4, _v4(CARP(vhid=2, **GOOD)), "unknown_peer"),
    ("v4 checksum", 4, _v4(CARP(good_checksum=False, **GOOD)), "bad_checksum"),
    ("v4 own counter", 4, _v4(CARP(counter=b"\x42" * 8, **GOOD)), "own_packet"),
    ("v4 hmac", 4, _v4(CARP(good_mac=False, **GOOD)), "bad_hmac"),
    ("v6 short", 6, _v6(CARP(**GOOD)[:20]), "short"),
    ("v6 payload length", 6, _v6(CARP(**GOOD) + b"\0" * 8), "bad_length"),
    ("v6 extension header", 6, _v6(CARP(**GOOD), next_header=0), "bad_length"),
    ("v6 trailing bytes", 6, _v6(CARP(**GOOD)) + b"\0" * 8, "trailing_bytes"),
    ("v6 hop limit", 6, _v6(CARP(**GOOD), hop_limit=1), "bad_ttl"),
    ("v6 version 3", 6, _v6(CARP(version_type=0x31, **GOOD)), "bad_version"),
    ("v6 type 0", 6, _v6(CARP(version_type=0x20, **GOOD)), "bad_type"),
    ("v6 authlen 6", 6, _v6(CARP(authlen=6, **GOOD)), "bad_authlen"),
    ("v6 other vhid", 6, _v6(CARP(vhid=9, **GOOD)), "unknown_vhid"),
    ("v6 unicast vhid, not its peer", 6, _v6(CARP(vhid=2, **GOOD)), "unknown_peer"),
    ("v6 checksum", 6, _v6(CARP(good_checksum=False, **GOOD)), "bad_checksum"),
    ("v6 hmac", 6, _v6(CARP(good_mac=False, **GOOD)), "bad_hmac"),
]


@pytest.mark.parametrize("name,family,datagram,why", DROPPED, ids=[d[0] for d in DROPPED])
def test_each_drop_has_its_reason_and_the_kernel_agrees(rx, name, family, datagram, why):
    verdict, kept = rx.verdict(family, datagram)
    assert verdict == reason(why)
    # the kernel drops all of it but what only user space can check
    assert (kept > 0) == (verdict in USER_SPACE_ONLY)


def test_a_hidden_ipv6_packet_after_an_off_link_one_is_not_read():
    """Issue 10: one frame carried an outer packet with hop limit 1 and, after
    its payload, a replayed valid advertisement with hop limit 255."""
    rx = Receiver()
    inner = valid(6)
    outer = forge.ipv6(STRANGER6, CARP(**GOOD), hop_limit=1) + inner
    verdict, kept = rx.verdict(6, outer)
    assert verdict == reason("trailing_bytes") and kept == 0
    assert rx.groups[0].machine.state == 0 and rx.groups[0].rx == 0


@pytest.mark.parametrize("family,peer", [(4, PEER4), (6, PEER6)])
def test_a_unicast_vhid_takes_its_peer(rx, family, peer):
    verdict, kept = rx.verdict(family, valid(family, vhid=2, source=peer))
    assert verdict == packet.ACCEPTED and kept > 0


def test_a_repeated_forgery_is_rejected_without_an_hmac(rx, monkeypatch):
    forged = valid(4, good_mac=False)
    assert rx.verdict(4, forged)[0] == reason("bad_hmac")
    g = rx.groups[0]
    monkeypatch.setattr(g.hmac, "digest", lambda *a: pytest.fail("HMAC computed for a repeat"))
    monkeypatch.setattr("carp.wire.checksum", lambda *a: pytest.fail("checksum summed for a repeat"))
    assert rx.verdict(4, forged)[0] == reason("bad_hmac")


def test_two_senders_taking_turns_are_each_checked_once(rx, monkeypatch):
    """The peer and another sender with the password (a less preferred
    flooder, a preempting backup) alternate: each header is hashed once,
    not on every turn."""
    peer, other = valid(4, advskew=100), valid(4, advskew=200)
    assert rx.verdict(4, peer)[0] == packet.ACCEPTED
    assert rx.verdict(4, other)[0] == packet.ACCEPTED
    g = rx.groups[0]
    monkeypatch.setattr(g.hmac, "digest", lambda *a: pytest.fail("HMAC computed for a repeat"))
    for _ in range(3):
        assert rx.verdict(4, peer)[0] == packet.ACCEPTED
        assert rx.verdict(4, other)[0] == packet.ACCEPTED


def test_only_a_repeat_of_the_last_accepted_advertisement_is_flagged_as_one(rx):
    """inbox.repeat lets the machine skip its judgement (Machine.on_advert):
    it must mean "the same 36 bytes as the advertisement this vhid accepted
    last", whichever family, and nothing looser."""
    peer, other = valid(4, advskew=100), valid(4, advskew=200)
    inbox = rx.inbox
    assert rx.verdict(4, peer)[0] == packet.ACCEPTED and not inbox.repeat  # first sight
    assert rx.verdict(4, peer)[0] == packet.ACCEPTED and inbox.repeat
    assert rx.verdict(6, valid(6, advskew=100))[0] == packet.ACCEPTED and inbox.repeat  # same header
    assert rx.verdict(4, other)[0] == packet.ACCEPTED and not inbox.repeat
    assert rx.verdict(4, peer)[0] == packet.ACCEPTED and not inbox.repeat  # the one before: cached, not last
    assert rx.verdict(4, peer)[0] == packet.ACCEPTED and inbox.repeat
    assert rx.verdict(4, valid(4, advskew=100, good_mac=False))[0] == reason("bad_hmac")
    assert rx.verdict(4, peer)[0] == packet.ACCEPTED and inbox.repeat  # a forgery between changes nothing
    assert rx.verdict(4, valid(4, vhid=2, advskew=100))[0] == packet.ACCEPTED and not inbox.repeat  # vhid 2's first
    assert rx.verdict(4, peer)[0] == packet.ACCEPTED and inbox.repeat  # per vhid


def test_a_repeat_gets_the_verdict_a_full_check_gives(rx):
    """The repeat cache is keyed by all 36 bytes: a packet that differs from
    a judged one anywhere (here: its checksum) is checked in full."""
    forged = valid(4, good_mac=False)
    good = valid(4)
    assert rx.verdict(4, forged)[0] == reason("bad_hmac")
    assert rx.verdict(4, good)[0] == packet.ACCEPTED
    broken = bytearray(good)
    broken[20 + 6] ^= 0xFF
    assert rx.verdict(4, bytes(broken))[0] == reason("bad_checksum")
    assert rx.verdict(4, good)[0] == packet.ACCEPTED
    assert rx.verdict(4, forged)[0] == reason("bad_hmac")


def test_outgoing_ipv6_is_dropped_by_the_kernel(rx):
    from tests import bpf
    assert bpf.run(rx.filter6, valid(6), pkttype=kfilter.PACKET_OUTGOING) == 0
    assert bpf.run(rx.filter6, valid(6), pkttype=0) > 0


def test_filters_fit_the_kernel_limits_with_every_vhid_and_many_peers():
    import ipaddress
    peers4 = [ipaddress.ip_address("10.0.0.%d" % i).packed for i in range(1, 40)]
    peers6 = [ipaddress.ip_address("fe80::%x" % i).packed for i in range(1, 40)]
    for prog in (kfilter.program4([(v, True, peers4) for v in range(1, 256)]),
                 kfilter.program6([(v, True, peers6) for v in range(1, 256)])):
        assert len(prog) <= kfilter.MAX_INSNS
        for code, jt, jf, k in prog.insns:
            assert 0 <= jt <= 255 and 0 <= jf <= 255
        assert prog.insns[-1][0] == kfilter.RET_K


def test_the_mac_compare_looks_at_every_byte():
    from carp import wire
    ref = bytes(range(20))
    for i in range(20):
        forged = bytearray(ref)
        forged[i] ^= 1
        assert not wire.same_mac(forged, 0, ref, 20)
    assert wire.same_mac(bytearray(ref), 0, ref, 20)


def test_the_sampling_filter_passes_one_in_n_of_what_the_filter_passes(rx):
    """What ends a flood pause (loop.py): the same program behind a draw of
    the kernel's random number, so a sender cannot choose to be skipped."""
    import random
    from tests import bpf
    sampled = kfilter.sampled(kfilter.program4([(1, False, [])]), 64).encode()
    draws = random.Random(5)
    passed = sum(bpf.run(sampled, valid(4), random=draws.getrandbits(32)) > 0 for _ in range(64000))
    assert 800 < passed < 1200  # 1000 expected
    assert bpf.run(sampled, valid(4, vhid=9), random=0) == 0  # and nothing the filter drops


def test_the_parse_constants_spell_the_wire_values():
    """packet.py repeats wire.py's numbers as const() (MicroPython folds them
    into the parse): the two must never drift apart."""
    from carp import wire
    for name in ("TTL", "PROTO_CARP", "HEADER_LEN", "VERSION", "AUTHLEN", "OFF_VHID", "OFF_AUTHLEN",
                 "OFF_COUNTER", "COUNTER_LEN", "OFF_DEMOTE", "OFF_ADVBASE", "OFF_ADVSKEW"):
        assert getattr(packet, "_" + name) == getattr(wire, name), name
    assert packet.VERSION_TYPE == (wire.VERSION << 4) | wire.TYPE_ADVERTISEMENT
    assert packet.IPV4_PACKET_LEN == 20 + wire.HEADER_LEN and packet.IPV6_PACKET_LEN == 40 + wire.HEADER_LEN


def test_the_send_paths_constants_spell_the_wire_values():
    """vhid.py finds the timing fields in its own packet by const() offsets."""
    from carp import rawsock, vhid, wire
    assert vhid._SKEW_AT == rawsock.IP_HEADER_LEN + wire.OFF_ADVSKEW
    assert vhid._DEMOTE_AT == rawsock.IP_HEADER_LEN + wire.OFF_DEMOTE
    assert vhid._BASE_AT == rawsock.IP_HEADER_LEN + wire.OFF_ADVBASE


def test_under_a_flood_new_packets_are_hashed_only_within_the_budget(rx, monkeypatch):
    """Inbox.hash_budget_us (set by the loop while it paces a flood) is
    charged the vhid's measured cost per HMAC; spent, a packet never seen
    before is dropped unverified, while what is remembered keeps its verdict
    without an HMAC, and a valid advertisement turned away is accepted once
    the budget is back."""
    g = rx.groups[0]
    inbox = rx.inbox
    good = valid(4)
    assert rx.verdict(4, good)[0] == packet.ACCEPTED  # the live master, remembered
    forged = [valid(4, good_mac=False, counter=bytes([i]) * 8) for i in range(1, 5)]
    inbox.hash_budget_us = 1  # less than any check takes
    verdicts = [rx.verdict(4, f)[0] for f in forged]
    assert verdicts == [reason("bad_hmac")] + [reason("unverified")] * 3
    assert inbox.hash_budget_us == 1 - g.check_us <= 0
    digest = g.hmac.digest
    monkeypatch.setattr(g.hmac, "digest", lambda *a: pytest.fail("HMAC computed with the budget spent"))
    assert rx.verdict(4, good)[0] == packet.ACCEPTED  # the master, again: no HMAC needed
    assert rx.verdict(4, forged[0])[0] == reason("bad_hmac")  # the last forgery checked, again
    newcomer = valid(4, advskew=50)
    assert rx.verdict(4, newcomer)[0] == reason("unverified")
    monkeypatch.setattr(g.hmac, "digest", digest)
    inbox.hash_budget_us = packet.UNLIMITED_US  # the flood is over
    assert rx.verdict(4, newcomer)[0] == packet.ACCEPTED


def test_the_budget_is_charged_what_each_check_took(rx, monkeypatch):
    """The charge is the time the HMACs took here and now (a slow build, a
    busy router), not a figure measured once."""
    g = rx.groups[0]
    real = g.hmac.digest

    def slow(*args):
        spin = time.perf_counter() + 0.004
        while time.perf_counter() < spin:
            pass
        return real(*args)
    monkeypatch.setattr(g.hmac, "digest", slow)
    rx.inbox.hash_budget_us = 1000000
    assert rx.verdict(4, valid(4, good_mac=False, counter=b"\x09" * 8))[0] == reason("bad_hmac")
    assert g.check_us >= 4000 * len(g.prefixes)
    assert rx.inbox.hash_budget_us == 1000000 - g.check_us
