"""The loop's flood windows, without sockets: when it starts pacing, what it
reports as load, and the HMAC budget it gives the inbox while pacing (real
Loop, DataPath and Tracking objects on a pipe; time passed in as ticks)."""
import os

import pytest

from carp import clock, loop, packet, report
from carp.datapath import DataPath
from carp.tracking import Tracking


@pytest.fixture
def lp():
    r, w = os.pipe()
    rep = report.Report(None)
    datapath = DataPath(None, rep)
    yield loop.Loop(r, [], [], datapath, Tracking(None, None, rep, datapath.act), rep, lambda: None, lambda: None)
    os.close(r)
    os.close(w)


def close(lp, packets, after_ms, start=1000):
    lp.window_start = start
    lp.window_packets = packets
    lp._next_window(clock.ticks_add(start, after_ms))


def test_at_rest_a_window_of_many_seconds_is_no_flood(lp):
    close(lp, loop.FLOOD_PACKETS + 1, 21000)  # 21 advertisements at 1/s
    assert not lp.flooded and lp.packets_per_s == 1 and lp.floods == 0
    assert lp.datapath.inbox.hash_budget_us == packet.UNLIMITED_US


@pytest.mark.parametrize("packets,after_ms,flooded", [
    (loop.FLOOD_PACKETS + 1, 0, True), (loop.FLOOD_PACKETS + 1, 100, True),  # 210/s
    (loop.FLOOD_PACKETS + 1, 110, False),  # 191/s
    (loop.FLOOD_PACKETS, 10, False), (400, 1000, True), (150, 1000, False)])
def test_a_flood_is_more_than_flood_packets_per_window_however_long_the_window(lp, packets, after_ms, flooded):
    close(lp, packets, after_ms)
    assert lp.flooded is flooded and lp.floods == int(flooded)


def test_while_pacing_new_packets_get_a_quarter_of_each_window_for_hmacs(lp):
    close(lp, 500, 100)
    assert lp.flooded and lp.datapath.inbox.hash_budget_us == loop.FLOOD_HASH_US == 25000
    lp.datapath.inbox.hash_budget_us = -7  # spent
    close(lp, 500, 100)
    assert lp.datapath.inbox.hash_budget_us == loop.FLOOD_HASH_US  # refilled by the next window
    close(lp, 3, 100)
    assert not lp.flooded and lp.datapath.inbox.hash_budget_us == packet.UNLIMITED_US


def test_a_window_opened_beyond_the_ticks_half_period_is_a_quiet_one(lp):
    close(lp, loop.FLOOD_PACKETS + 1, (1 << 29) + 5)  # reads as negative: days ago
    assert not lp.flooded and lp.packets_per_s == 0


def test_status_shows_the_rate_of_the_window_still_open_at_rest(lp):
    lp.window_start = clock.ticks_add(clock.ticks_ms(), -2500)
    lp.window_packets = 4
    rate, floods = lp.load()  # 4 packets in 2.5 s, or in up to 4 s on a loaded machine: 1/s
    assert rate == 1 and floods == 0
