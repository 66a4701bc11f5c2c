"""Millisecond ticks that wrap, as MicroPython's time.ticks_* do.

Deadlines are kept as wrapping ticks so that all timer arithmetic stays in
small ints (31-bit on 32-bit MicroPython): no allocation on the hot path.
CPython gets the same semantics (period 2**30 ms, about 12.4 days), so the
virtual-time tests exercise the wrap-around code the router runs.
"""
try:
    from time import ticks_ms, ticks_us, ticks_add, ticks_diff
except ImportError:
    import time

    _PERIOD = 1 << 30
    _MASK = _PERIOD - 1
    _HALF = _PERIOD >> 1

    def ticks_ms():
        return int(time.monotonic() * 1000) & _MASK

    def ticks_us():  # same period: ticks_diff works for both, as on MicroPython
        return int(time.perf_counter() * 1000000) & _MASK

    def ticks_add(ticks, delta):
        return (ticks + delta) & _MASK

    def ticks_diff(end, start):
        """Signed end - start, valid while |difference| < 2**29 ms."""
        d = (end - start) & _MASK
        return d - _PERIOD if d >= _HALF else d
