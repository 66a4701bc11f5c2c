#!/usr/bin/env python3
"""make demo: two carp routers share a VIP while a client pings it.

r1 (advskew 0, preferred) and r2 (advskew 100) run firmware/carpd in the
namespace lab; c1 pings the VIP every 20 ms. Then, in order:
  1. r1's cable is pulled      -> r2 takes over after the master-down time
  2. r1's cable is plugged in  -> r1 preempts r2 (-P)
  3. r1's carpd gets SIGTERM   -> r1 bows out, r2 takes over at once
Who holds the VIP is read from the kernel (`ip -j addr`) in each router,
never from the daemons' logs. The client's outage for each event is the
longest gap between two consecutive ping replies around it.
"""

import argparse
import json
import os
import re
import shutil
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path

from board.lab.carplab import Lab

REPO = Path(__file__).resolve().parents[2]
CARPD = REPO / 'firmware' / 'carpd'
VHID = 1
ADVBASE = 1
ADVSKEW = {'r1': 0, 'r2': 100}
PASSPHRASE = 'carplab-demo'
ROUTERS = ('r1', 'r2')
FOREIGN_ARCHES = ('mipsel', 's390x')

PING_INTERVAL = 0.02        # s between echo requests: 20 ms resolution
PING_DEADLINE = 120         # s: ping stops by itself even if we could not
FIRST_MASTER_TIMEOUT = 15   # s: 3 x advbase master-down plus start-up
TAKEOVER_TIMEOUT = 10       # s: any single failover
SETTLE = 1.0                # s of steady replies recorded after each event

# "[1700000000.123456] 64 bytes from 10.99.0.254: icmp_seq=1 ..." (ping -D)
REPLY = re.compile(r'^\[(\d+\.\d+)\] \d+ bytes from ')


class DemoError(Exception):
    pass


class Narrator:
    """Prints lines stamped with seconds since the demo began."""

    def __init__(self):
        self.start = time.monotonic()
        self.lock = threading.Lock()   # daemon log lines come from threads

    def say(self, text, who='demo'):
        with self.lock:
            print('[%6.2fs] %-4s| %s' % (time.monotonic() - self.start, who,
                                        text), flush=True)


class LogFollower(threading.Thread):
    """Echoes what a daemon writes to its log file, as it writes it."""

    def __init__(self, path, who, narrator, stop):
        super().__init__(daemon=True)
        self.path, self.who, self.narrator, self.stop = path, who, narrator, stop

    def run(self):
        with open(self.path, 'r', errors='replace') as log:
            partial = ''
            while not self.stop.is_set():      # ends with the demo
                chunk = log.read()
                if not chunk:
                    self.stop.wait(0.05)
                    continue
                partial += chunk
                *lines, partial = partial.split('\n')
                for line in lines:
                    if line.strip():
                        self.narrator.say(line.rstrip(), self.who)


def pick_interpreter(name):
    """Absolute path of the interpreter carpd should run on."""
    if name == 'python3':
        return sys.executable
    if name in FOREIGN_ARCHES:
        # Debian's CPython for that CPU under qemu-user (scripts/foreign-python.sh),
        # with the tests' workaround for what qemu cannot translate
        if not (REPO / 'build' / 'foreign' / name / 'python3').exists():
            raise DemoError('no CPython for %s: run `make deps`' % name)
        return str(REPO / 'tests' / 'foreign' / ('python3-' + name))
    venv_mp = REPO / '.venv' / 'bin' / 'micropython'
    found = str(venv_mp) if venv_mp.exists() else shutil.which('micropython')
    if not found:
        raise DemoError('micropython not found: run `make deps`')
    return found


def vip_holders(lab, vip):
    """Routers whose lan0 carries the VIP right now, per the kernel."""
    holders = set()
    for node in ROUTERS:
        res = lab.run(node, ['ip', '-j', 'addr', 'show', 'dev', lab.dev],
                      check=False, timeout=5)
        if res.returncode != 0 or not res.stdout.strip():
            continue
        for link in json.loads(res.stdout):
            if any(a.get('local') == vip for a in link.get('addr_info', [])):
                holders.add(node)
    return holders


def show(holders):
    return '+'.join(sorted(holders)) or 'nobody'


def reply_times(ping_log):
    """Wall-clock times (ping -D) of every echo reply c1 got so far."""
    times = []
    with open(ping_log, errors='replace') as log:
        for line in log:
            match = REPLY.match(line)
            if match:
                times.append(float(match.group(1)))
    return times


def longest_gap_ms(times, since, until):
    """Longest silence between consecutive replies in [since, until],
    counting from the last reply before `since`; None if none came after."""
    before = [t for t in times if t < since]
    window = [t for t in times if since <= t <= until]
    if not window:
        return None
    points = before[-1:] + window
    return max((b - a for a, b in zip(points, points[1:])), default=0) * 1000


class Demo:
    def __init__(self, lab, interpreter, logdir, narrator, ipv6=False):
        self.lab, self.logdir, self.say = lab, logdir, narrator.say
        # With --ipv6 the routers hold both VIPs and the client pings the IPv6 one.
        self.ipv6 = ipv6
        self.vip = lab.vip6 if ipv6 else lab.vip
        self.env = {'CARP_PYTHON': interpreter,
                    # python3 block-buffers a file stdout: keep lines live
                    'PYTHONUNBUFFERED': '1'}
        self.daemons = {}
        self.stopped = set()       # daemons we stopped on purpose
        self.ping_log = os.path.join(logdir, 'c1-ping.log')
        self.results = []          # (event, new master, VIP moved ms, outage ms)
        self.failures = 0

    def start_daemon(self, node):
        lab = self.lab
        argv = [str(CARPD), '-i', lab.dev, '-s', lab.ip[node],
                '-v', str(VHID), '-p', PASSPHRASE,
                '-a', '%s/%d' % (lab.vip, lab.prefix), '-b', str(ADVBASE),
                '-k', str(ADVSKEW[node]), '-P']
        if self.ipv6:
            argv += ['-a', '%s/%d' % (lab.vip6, lab.prefix6)]
        log = os.path.join(self.logdir, node + '.log')
        self.say('start: ' + ' '.join(argv), node)
        self.daemons[node] = lab.start(node, argv, env=self.env, log=log)
        return log

    def check_daemons(self):
        for node, proc in self.daemons.items():
            if node not in self.stopped and proc.poll() is not None:
                raise DemoError('carpd on %s exited with %s: see %s'
                                % (node, proc.returncode,
                                   os.path.join(self.logdir, node + '.log')))

    def holders(self):
        self.check_daemons()
        return vip_holders(self.lab, self.vip)

    def wait_holders(self, wanted, timeout):
        return self.lab.wait_for(lambda: self.holders() == wanted, timeout)

    def event(self, name, action, wanted):
        """Runs action, waits for the VIP to land on `wanted`, measures."""
        self.say('--- %s' % name)
        t_event = time.time()
        action()
        moved = self.wait_holders(wanted, TAKEOVER_TIMEOUT)
        t_moved = time.time()
        now = self.holders()
        if moved:
            moved_ms = (t_moved - t_event) * 1000
            self.say('VIP now on %s, %.0f ms after the event'
                     % (show(now), moved_ms))
        else:
            moved_ms = None
            self.failures += 1
            self.say('!! expected the VIP on %s within %d s, it is on %s'
                     % (show(wanted), TAKEOVER_TIMEOUT, show(now)))
        # Let the client see replies again, then record a little steady state.
        self.lab.wait_for(
            lambda: any(t > t_moved for t in reply_times(self.ping_log)),
            TAKEOVER_TIMEOUT)
        time.sleep(SETTLE)
        outage = longest_gap_ms(reply_times(self.ping_log), t_event,
                                time.time())
        self.say('client: longest gap between replies %s'
                 % ('%.0f ms' % outage if outage is not None else
                    'unbounded (no reply since)'))
        self.results.append((name, show(now), moved_ms, outage))

    def stop_r1(self):
        started = time.monotonic()
        self.stopped.add('r1')
        code = self.lab.stop(self.daemons['r1'], signal.SIGTERM, timeout=5)
        self.say('carpd exited with %s after %.0f ms'
                 % (code, (time.monotonic() - started) * 1000), 'r1')

    def run(self):
        lab = self.lab
        for node in ROUTERS:
            self.start_daemon(node)

        self.say('waiting for the first election (master down: %d x %d s)'
                 % (3, ADVBASE))
        if not self.wait_holders({'r1'}, FIRST_MASTER_TIMEOUT):
            raise DemoError('no single master after %d s; VIP on %s'
                            % (FIRST_MASTER_TIMEOUT, show(self.holders())))
        self.say('master: r1 holds %s' % self.vip)

        lab.start('c1', ['ping', '-6' if self.ipv6 else '-4', '-D', '-n', '-i', str(PING_INTERVAL),
                         '-W', '1', '-w', str(PING_DEADLINE), self.vip],
                  log=self.ping_log)
        self.say('c1 pings %s every %d ms' % (self.vip, PING_INTERVAL * 1000))
        if not lab.wait_for(lambda: reply_times(self.ping_log), 5):
            raise DemoError('c1 gets no reply from the VIP')
        time.sleep(SETTLE)

        self.event("r1's cable pulled", lambda: lab.cable('r1', False), {'r2'})
        self.event("r1's cable plugged back", lambda: lab.cable('r1', True),
                   {'r1'})
        self.event("r1's carpd stopped (SIGTERM)", self.stop_r1, {'r2'})

    def table(self):
        def ms(value):
            return '%.0f' % value if value is not None else '-'
        if not self.results:
            return
        rows = [('event', 'new master', 'VIP moved ms', 'client outage ms')]
        rows += [(name, master, ms(moved), ms(outage))
                 for name, master, moved, outage in self.results]
        widths = [max(len(row[i]) for row in rows) for i in range(4)]
        print()
        for i, row in enumerate(rows):
            print('  ' + '  '.join(cell.ljust(w) if c == 0 else cell.rjust(w)
                                   for c, (cell, w) in
                                   enumerate(zip(row, widths))))
            if i == 0:
                print('  ' + '  '.join('-' * w for w in widths))
        print()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--python', choices=('micropython', 'python3') + FOREIGN_ARCHES,
                        default='micropython',
                        help='interpreter carpd runs on (default micropython; mipsel and s390x:'
                        ' Debian\'s CPython for that CPU under qemu-user)')
    parser.add_argument('--ipv6', action='store_true',
                        help='also give the routers an IPv6 VIP and have the client ping that one')
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        parser.exit(1, 'demo: must run as root (network namespaces)\n')
    if not os.access(CARPD, os.X_OK):
        parser.exit(1, 'demo: %s is missing or not executable\n' % CARPD)
    if shutil.which('ping') is None:
        parser.exit(1, 'demo: ping not found: run `make deps`\n')

    narrator = Narrator()
    stop_followers = threading.Event()
    logdir = tempfile.mkdtemp(prefix='carplab-demo-')
    try:
        interpreter = pick_interpreter(args.python)
        narrator.say('carpd on %s; logs in %s' % (interpreter, logdir))
        with Lab() as lab:
            narrator.say('lab up: r1 %s, r2 %s, c1 %s, VIP %s/%d'
                         % (lab.ip['r1'], lab.ip['r2'], lab.ip['c1'],
                            lab.vip, lab.prefix))
            demo = Demo(lab, interpreter, logdir, narrator, ipv6=args.ipv6)
            for node in ROUTERS:
                # Create the log first so the follower can open it at once.
                open(os.path.join(logdir, node + '.log'), 'a').close()
                LogFollower(os.path.join(logdir, node + '.log'), node,
                            narrator, stop_followers).start()
            try:
                demo.run()
            finally:
                demo.table()
            narrator.say('tearing down the lab')
        stop_followers.set()
    except DemoError as exc:
        stop_followers.set()
        narrator.say('FAILED: %s' % exc)
        return 1
    except KeyboardInterrupt:
        stop_followers.set()
        narrator.say('interrupted; lab removed')
        return 130
    if demo.failures:
        narrator.say('%d event(s) did not go as expected' % demo.failures)
        return 1
    narrator.say('done')
    return 0


if __name__ == '__main__':
    sys.exit(main())
