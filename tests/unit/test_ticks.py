"""Ticks stay small ints, as on the router.

A 32-bit MicroPython holds ints below 2**30 without allocating; anything
bigger is a heap object, and 1.23's time.ticks_add/ticks_diff read such an
object as garbage instead of raising (the simulator's old `t % TICKS_PERIOD`
broke the tick-wrap and bow-out checks on MIPS that way). The daemon only
ever hands them ticks from ticks_ms()/ticks_add() and small deltas: these
tests keep it so, and keep the simulator honest about it."""
import ast
import glob
import os

from carp import clock
from tests.sim import Lan, Router
from tests.tools import FIRMWARE

SMALL = 1 << 30  # 32-bit MicroPython: small ints are -2**30 .. 2**30 - 1
TICK_FUNCTIONS = {"ticks_add", "ticks_diff", "_ticks_add", "_ticks_diff"}


class SmallIntTicks:
    """clock's ticks_add/ticks_diff, refusing what a 32-bit MicroPython
    would misread: a tick outside 0..2**30-1 or a delta that is no small int."""

    def __init__(self):
        self.calls = 0

    def _tick(self, value):
        assert isinstance(value, int) and 0 <= value < SMALL, value

    def ticks_add(self, ticks, delta):
        self.calls += 1
        self._tick(ticks)
        assert isinstance(delta, int) and -SMALL <= delta < SMALL, delta
        return clock.ticks_add(ticks, delta)

    def ticks_diff(self, end, start):
        self.calls += 1
        self._tick(end)
        self._tick(start)
        return clock.ticks_diff(end, start)


def test_the_simulator_keeps_time_and_ticks_small_across_the_wrap():
    strict = SmallIntTicks()
    lan = Lan(Router("r1", "10.0.0.1", 1, 0, True, ticks=strict),
              Router("r2", "10.0.0.2", 1, 100, True, ticks=strict),
              start_ticks=clock.ticks_add(0, -1500), ticks=strict)
    lan.start("r1")
    lan.start("r2")
    lan.run_for(10000)
    assert lan.masters() == ["r1"]
    lan.stop("r1")
    lan.run_for(10)
    assert lan.masters() == ["r2"]
    assert strict.calls > 20
    assert 0 <= lan.time < SMALL


def _tick_calls(tree):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if name in TICK_FUNCTIONS:
                yield node


def _problems(path):
    with open(path) as f:
        tree = ast.parse(f.read(), path)
    found = []
    for node in ast.walk(tree):
        if "TICKS_PERIOD" in (getattr(node, "id", None), getattr(node, "attr", None)):
            found.append("%s:%d: TICKS_PERIOD" % (path, node.lineno))
    for call in _tick_calls(tree):
        for arg in call.args:
            for sub in ast.walk(arg):
                if isinstance(sub, ast.BinOp) and isinstance(sub.op, ast.Mod):
                    found.append("%s:%d: a tick computed with %%" % (path, call.lineno))
                if isinstance(sub, ast.Constant) and isinstance(sub.value, int) and abs(sub.value) >= SMALL:
                    found.append("%s:%d: constant %d" % (path, call.lineno, sub.value))
    return found


def test_the_daemon_hands_ticks_functions_no_computed_period():
    paths = sorted(glob.glob(os.path.join(FIRMWARE, "carp", "*.py")))
    calls = 0
    problems = []
    for path in paths:
        with open(path) as f:
            calls += sum(1 for _ in _tick_calls(ast.parse(f.read())))
        problems += _problems(path)
    assert calls > 15  # the scan sees the daemon's timers (18 when machine.py arms its timer in one place)
    assert problems == []


def test_the_scan_catches_a_period_modulo(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("from carp import clock\n"
                   "def f(t):\n"
                   "    return clock.ticks_add(t % clock.TICKS_PERIOD, 5)\n")
    assert len(_problems(str(bad))) == 2
