#!/usr/bin/env python3
"""Fuzz the receive path: mutated and random datagrams of both families
through packet.Inbox.parse4/6, the kernel filters (run by tests/bpf.py) and the
vhids' machines. Checks, for every datagram:
  - no exception escapes;
  - it is counted exactly once: accepted, or under one drop reason;
  - the kernel filter keeps it exactly when user space would accept it or
    drop it for a reason only user space can see (checksum, loop, HMAC);
  - a machine acts only on an accepted advertisement.

    python3 -m tests.fuzz_receive [COUNT] [SEED]      (make fuzz: 1,000,000)
"""
import random
import sys

from carp import packet
from tests import forge
from tests.receive_path import PEER4, PEER6, USER_SPACE_ONLY, VIP4, VIP6, Receiver, valid

LENGTHS4 = (0, 1, 19, 20, 55, 56, 57, 60, 76, 120)
LENGTHS6 = (0, 39, 40, 75, 76, 77, 84, 152)


def seeds():
    """Valid and nearly valid datagrams to mutate: (family, bytes)."""
    out = []
    for family in (4, 6):
        out.append((family, valid(family)))
        out.append((family, valid(family, vhid=2, source=PEER4 if family == 4 else PEER6)))
        out.append((family, valid(family, advskew=200)))
        out.append((family, valid(family, advbase=255, advskew=255)))  # a bow-out
        out.append((family, valid(family, good_mac=False)))
        out.append((family, valid(family, counter=b"\x42" * 8)))
    out.append((6, valid(6) + valid(6)))
    out.append((6, forge.ipv6("fe80::9", forge.carp(vips4=[VIP4], vips6=[VIP6]), hop_limit=1) + valid(6)))
    return out


def mutate(rng, family, data):
    data = bytearray(data)
    for _ in range(rng.choice((0, 1, 1, 1, 2, 3, 8))):
        what = rng.randrange(6)
        if what == 0 and data:  # flip a byte
            data[rng.randrange(len(data))] = rng.randrange(256)
        elif what == 1:  # cut
            del data[rng.randrange(len(data) + 1):]
        elif what == 2:  # append
            data += bytes(rng.randrange(256) for _ in range(rng.randrange(1, 48)))
        elif what == 3:  # a length every header field could claim
            data = data[:rng.choice(LENGTHS4 if family == 4 else LENGTHS6)]
        elif what == 4 and len(data) > 41:  # a field the filter tests
            off = rng.choice((0, 2, 3, 4, 5, 6, 7, 8, 20, 21, 23, 40, 41, 43))
            if off < len(data):
                data[off] = rng.choice((0, 1, 2, 7, 0x21, 0x31, 0x45, 36, 56, 64, 112, 255))
        elif what == 5:  # all random
            data = bytearray(rng.randrange(256) for _ in range(rng.randrange(100)))
    return bytes(data)


def run(count, seed=1):
    rng = random.Random(seed)
    rx = Receiver()
    for g in rx.groups:
        g.machine.start(0, True)  # BACKUP, listening
    corpus = seeds()
    verdicts = [0] * (len(packet.DROP_REASONS) + 1)
    kernel_kept = 0
    now = 0
    for i in range(count):
        family, base = corpus[rng.randrange(len(corpus))]
        datagram = base if rng.random() < 0.05 else mutate(rng, family, base)
        now += 7
        # now and then as under a flood whose HMAC budget is spent (the loop's doing)
        rx.inbox.hash_budget_us = 0 if rng.random() < 0.1 else packet.UNLIMITED_US
        states = [(g.machine.state, g.machine.deadline, g.rx) for g in rx.groups]
        try:
            verdict, kept = rx.verdict(family, datagram)
            before = rx.accepted + sum(rx.counts)
            verdict2, actions = rx.receive(family, datagram, now)
        except Exception as e:  # noqa: BLE001 - the point is to find any
            raise AssertionError("datagram %d (%s) raised %r" % (i, datagram.hex(), e))
        assert verdict2 == verdict, datagram.hex()
        assert rx.accepted + sum(rx.counts) == before + 1, datagram.hex()
        assert (kept > 0) == (verdict == packet.ACCEPTED or verdict in USER_SPACE_ONLY), \
            (packet.DROP_REASONS[verdict] if verdict >= 0 else "accepted", kept, datagram.hex())
        if verdict != packet.ACCEPTED:
            assert actions == 0 and [(g.machine.state, g.machine.deadline, g.rx) for g in rx.groups] == states
        verdicts[verdict + 1] += 1
        kernel_kept += kept > 0
    return dict(zip(("accepted",) + packet.DROP_REASONS, verdicts)), kernel_kept


def main(argv):
    count = int(argv[0]) if argv else 1000000
    seed = int(argv[1]) if len(argv) > 1 else 1
    verdicts, kept = run(count, seed)
    for name, n in sorted(verdicts.items(), key=lambda kv: -kv[1]):
        print("%-16s %9d" % (name, n))
    print("%d datagrams, %d passed the kernel filter, seed %d: OK" % (count, kept, seed))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
