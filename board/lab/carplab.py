#!/usr/bin/env python3
"""carplab: a two-router LAN in Linux network namespaces, for testing carp.

    r1 (10.99.0.1)    r2 (10.99.0.2)    c1 (10.99.0.100)
        lan0              lan0              lan0
         |                 |                 |
       sw-r1             sw-r2             sw-c1
         +------------ br0 (in "sw") --------+

The bridge lives in a namespace of its own (the "switch"), so pulling a
router's cable means downing the switch-side end of its veth: the router
then sees real carrier loss (NO-CARRIER, IFF_RUNNING cleared), just as
when someone unplugs it.

Every LAN is dual stack: r1 fd99:0::1/64, r2 fd99:0::2/64, c1 fd99:0::100/64
(VIP 10.99.0.254 and fd99:0::254), next to the kernel's own link-local
addresses. Lab(lans=2) adds a second LAN the same way: lan1 in every node,
ports sw1-<node> on bridge br1, 10.99.1.0/24 and fd99:1::/64 (lab.lan(1)).

    from board.lab.carplab import Lab
    with Lab() as lab:
        lab.run('c1', ['ping', '-c', '1', lab.ip['r1']])
        lab.block_carp_multicast(True)    # CARP adverts lost, unicast flows

Stdlib only, CPython 3.9+. Must run as root. Namespaces are named
carplab-<creator pid>-<n>-<node>, so `carplab.py cleanup` can tell a stale
lab (creator dead) from a live one and from namespaces that are not ours.
"""

import atexit
import ipaddress
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

NODES = ('r1', 'r2', 'c1')
SWITCH = 'sw'
NS_PREFIX = 'carplab-'
# carplab-<pid>-<n>-<node>: the only names cleanup will ever touch.
NS_PATTERN = re.compile(r'^carplab-(\d+)-(\d+)-([a-z0-9]+)$')

# Seconds a tracked process gets between SIGTERM and SIGKILL at teardown.
TERM_GRACE = 2.0

# Most LANs a lab builds (names stay short: br9, sw9-r1; 10.99.9.0/24).
MAX_LANS = 9
# Destination MACs of the CARP groups 224.0.0.18 and ff02::12.
CARP_MULTICAST_MACS = ('01:00:5e:00:00:12', '33:33:00:00:00:12')
# The switch's nftables table (bridge family) holding the multicast blocks.
NFT_TABLE = 'carplab'
# Host part of each node's addresses on every LAN (v4 last byte, v6 last
# group written in the same digits, MAC last byte).
HOSTS = {'r1': 1, 'r2': 2, 'c1': 100}
VIP_HOST = 254

_lab_counter = 0              # n in the namespace names, unique per process
_counter_lock = threading.Lock()
_live_labs = set()            # labs built and not yet torn down (atexit, SIGTERM)
_exit_hooks_installed = False


def _ip(*args, check=True, timeout=10):
    """Runs `ip ARGS`; on failure raises with ip's own error message."""
    res = subprocess.run(['ip', *args], stdin=subprocess.DEVNULL,
                         capture_output=True, text=True, timeout=timeout)
    if check and res.returncode != 0:
        raise RuntimeError('ip %s: %s' % (' '.join(args), res.stderr.strip()))
    return res


def list_namespaces():
    """Names of all network namespaces known to `ip netns`."""
    out = _ip('-j', 'netns', 'list', check=False).stdout.strip()
    if not out:
        return []         # older iproute2 prints nothing at all when empty
    return [entry['name'] for entry in json.loads(out)]


def namespace_pids(ns):
    """PIDs of processes whose network namespace is ns."""
    res = _ip('netns', 'pids', ns, check=False)
    return [int(word) for word in res.stdout.split() if word.isdigit()]


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True       # exists, owned by someone else
    return True


def kill_and_delete_namespace(ns, attempts=20):
    """Kills every process inside ns, then deletes ns. Never raises.

    Processes are killed first because `ip netns del` only removes the name:
    a namespace with processes left in it would live on, invisible."""
    try:
        for _ in range(attempts):             # bounded: forks may race us
            pids = namespace_pids(ns)
            if not pids:
                break
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            time.sleep(0.05)
        _ip('netns', 'del', ns, check=False)
    except Exception as exc:                  # teardown must go on regardless
        print('carplab: could not remove %s: %s' % (ns, exc), file=sys.stderr)


# Signals the daemon's launcher traps (procd's reload, a status request).
# A shell cannot trap a signal that was ignored when it started, and a run
# under nohup (or a CI runner that ignores SIGHUP) hands that on to every
# child: the lab's processes start with the default disposition, as procd's.
_TRAPPED_SIGNALS = (signal.SIGHUP, signal.SIGUSR1, signal.SIGTERM)


def _default_signals():
    for sig in _TRAPPED_SIGNALS:
        signal.signal(sig, signal.SIG_DFL)


class _DeferSignals:
    """Holds SIGINT/SIGTERM/SIGHUP back while teardown runs, then re-raises
    the first one that arrived: a second Ctrl-C must not leave half a lab."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

    def __enter__(self):
        self.saved = {}
        self.pending = None
        if threading.current_thread() is not threading.main_thread():
            return self   # only the main thread may touch signal handlers
        for sig in self.SIGNALS:
            try:
                self.saved[sig] = signal.signal(sig, self._remember)
            except (ValueError, OSError):
                pass
        return self

    def _remember(self, signum, frame):
        if self.pending is None:
            self.pending = signum

    def __exit__(self, *exc):
        for sig, handler in self.saved.items():
            signal.signal(sig, handler)
        if self.pending is not None:
            signal.raise_signal(self.pending)
        return False


def _teardown_live_labs():
    # Forked children (pyroute2's NetNS helpers, say) inherit these hooks:
    # only the process that built a lab may tear it down.
    for lab in list(_live_labs):
        if lab.owner_pid == os.getpid():
            lab.close()


def _teardown_then_die(signum, frame):
    # Remove our labs, then die of the signal as if we had never caught it:
    # the host program's control flow is not changed (a SystemExit would be
    # swallowed as a mere test failure by pytest, for one).
    _teardown_live_labs()
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


def _install_exit_hooks():
    global _exit_hooks_installed
    if _exit_hooks_installed:
        return
    _exit_hooks_installed = True
    atexit.register(_teardown_live_labs)
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGHUP):
            # Only replace the default (which would kill us without cleanup);
            # a handler the program installed itself stays in charge.
            if signal.getsignal(sig) == signal.SIG_DFL:
                signal.signal(sig, _teardown_then_die)


class LanInfo:
    """One LAN of a lab, as returned by Lab.lan(i).

    dev: the nodes' interface name; bridge: the switch's bridge;
    ip / ip6 / mac: node -> address (IPv6 in the kernel's compressed
    form, as `ip -j addr` prints it); prefix / prefix6; vip / vip6."""

    __slots__ = ('index', 'dev', 'bridge', 'ip', 'ip6', 'prefix', 'prefix6',
                 'vip', 'vip6', 'mac')

    def __init__(self, **fields):
        for name in self.__slots__:
            setattr(self, name, fields[name])

    def __repr__(self):
        return 'LanInfo(%s)' % ', '.join(
            '%s=%r' % (name, getattr(self, name)) for name in self.__slots__)


def _v6(lan, host):
    """fd99:<lan>::<host>, the host written with the same digits as in v4."""
    return ipaddress.IPv6Address('fd99:%d::%d' % (lan, host)).compressed


def _lan_plan(i):
    """Addresses and MACs of LAN i (LAN 0 keeps the historic ones)."""
    return LanInfo(
        index=i, dev='lan%d' % i, bridge='br%d' % i,
        ip={node: '10.99.%d.%d' % (i, h) for node, h in HOSTS.items()},
        ip6={node: _v6(i, h) for node, h in HOSTS.items()},
        prefix=24, prefix6=64,
        vip='10.99.%d.%d' % (i, VIP_HOST), vip6=_v6(i, VIP_HOST),
        # Fixed MACs 02:00:00:00:<lan>:<host> keep captures readable.
        mac={node: '02:00:00:00:%02x:%02x' % (i, h)
             for node, h in HOSTS.items()})


class Lab:
    """Builds the namespaces on __enter__ and always removes them on __exit__.

    The attributes dev, ip, ip6, prefix, prefix6, vip, vip6, mac and bridge
    describe LAN 0; lan(i) describes any LAN."""

    dev = 'lan0'
    prefix = 24
    prefix6 = 64
    vip = '10.99.0.254'
    vip6 = 'fd99::254'
    bridge = 'br0'

    def __init__(self, lans=1):
        if not isinstance(lans, int) or not 1 <= lans <= MAX_LANS:
            raise ValueError('lans must be 1..%d, not %r' % (MAX_LANS, lans))
        self.lans = lans
        # Per instance, so a test that edits them cannot leak into the next.
        self.ip = {'r1': '10.99.0.1', 'r2': '10.99.0.2', 'c1': '10.99.0.100'}
        self.ip6 = {'r1': 'fd99::1', 'r2': 'fd99::2', 'c1': 'fd99::100'}
        # Fixed MACs (last byte = last address byte) keep captures readable.
        self.mac = {'r1': '02:00:00:00:00:01', 'r2': '02:00:00:00:00:02',
                    'c1': '02:00:00:00:00:64'}
        # LANs 1.. (LAN 0 is the attributes above, see lan()).
        self._extra_lans = [_lan_plan(i) for i in range(1, lans)]
        global _lab_counter
        if os.geteuid() != 0:
            raise RuntimeError('carplab needs root (network namespaces)')
        if shutil.which('ip') is None:
            raise RuntimeError('carplab needs `ip` from iproute2 (make deps)')
        if not os.path.isdir('/proc/sys/net/ipv6'):
            raise RuntimeError('carplab needs IPv6 in the kernel '
                               '(booted with ipv6.disable=1?)')
        with _counter_lock:
            n = _lab_counter
            _lab_counter += 1
        existing = set(list_namespaces())
        # A stale lab from an earlier process with our (reused) PID may still
        # hold a name: skip to the next free n rather than trample it.
        while any(self._ns_name(n, node) in existing
                  for node in NODES + (SWITCH,)):
            with _counter_lock:
                n = _lab_counter
                _lab_counter += 1
        self.ns = {node: self._ns_name(n, node) for node in NODES + (SWITCH,)}
        self._n = n
        self.owner_pid = os.getpid()
        self._created = []        # namespaces actually made, for teardown
        self._procs = []          # (Popen, open log file or None)
        self._closed = False

    @staticmethod
    def _ns_name(n, node):
        return '%s%d-%d-%s' % (NS_PREFIX, os.getpid(), n, node)

    @staticmethod
    def port(node, lan=0):
        """Name of node's port on LAN lan's switch (≤ 15 chars, like any
        ifname): sw-r1 on LAN 0, sw1-r1 on LAN 1."""
        return 'sw-' + node if lan == 0 else 'sw%d-%s' % (lan, node)

    def lan(self, i=0):
        """LanInfo of LAN i. lan(0) is built from the lab's own attributes
        at each call (its ip, ip6 and mac are the very same dicts)."""
        if not isinstance(i, int) or not 0 <= i < self.lans:
            raise IndexError('this lab has LANs 0..%d, not %r'
                             % (self.lans - 1, i))
        if i > 0:
            return self._extra_lans[i - 1]
        return LanInfo(index=0, dev=self.dev, bridge=self.bridge, ip=self.ip,
                       ip6=self.ip6, prefix=self.prefix, prefix6=self.prefix6,
                       vip=self.vip, vip6=self.vip6, mac=self.mac)

    # -- building ---------------------------------------------------------

    def __enter__(self):
        _install_exit_hooks()
        _live_labs.add(self)
        try:
            self._build()
        except BaseException:
            # __exit__ is not called when __enter__ fails: clean up here,
            # also on KeyboardInterrupt half-way through.
            self.close()
            raise
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def _build(self):
        sw = self.ns[SWITCH]
        for ns in self.ns.values():
            _ip('netns', 'add', ns)
            self._created.append(ns)
            _ip('-n', ns, 'link', 'set', 'lo', 'up')

        # The switch is pure layer 2: no IPv6 link-local chatter from it in
        # captures (best effort: the kernel may lack IPv6 altogether).
        self._sysctl(SWITCH, 'net.ipv6.conf.all.disable_ipv6', 1, check=False)
        self._sysctl(SWITCH, 'net.ipv6.conf.default.disable_ipv6', 1,
                     check=False)
        # The nodes do speak IPv6, whatever the host's defaults are.
        for node in NODES:
            self._sysctls(node, {'net.ipv6.conf.all.disable_ipv6': 0,
                                 'net.ipv6.conf.default.disable_ipv6': 0})
        all_lans = [self.lan(i) for i in range(self.lans)]
        for lan in all_lans:
            # No STP and no forward delay, so a re-plugged port forwards at
            # once; no multicast snooping, so CARP adverts to 224.0.0.18
            # always flood.
            _ip('-n', sw, 'link', 'add', lan.bridge, 'type', 'bridge',
                'stp_state', '0', 'forward_delay', '0', 'mcast_snooping', '0')
            _ip('-n', sw, 'link', 'set', lan.bridge, 'up')

        for node in NODES:
            ns = self.ns[node]
            dad = self.run(node, ['sysctl', '-n',
                                  'net.ipv6.conf.default.accept_dad'])
            for lan in all_lans:
                port = self.port(node, lan.index)
                # Create the pair inside the node, push the peer to the switch.
                _ip('-n', ns, 'link', 'add', lan.dev, 'address',
                    lan.mac[node], 'type', 'veth', 'peer', 'name', port,
                    'netns', sw)
                _ip('-n', sw, 'link', 'set', port, 'master', lan.bridge)
                _ip('-n', sw, 'link', 'set', port, 'up')
                _ip('-n', ns, 'addr', 'add',
                    '%s/%d' % (lan.ip[node], lan.prefix), 'dev', lan.dev)
                # nodad: usable at once, no 1-2 s of "tentative".
                _ip('-n', ns, 'addr', 'add',
                    '%s/%d' % (lan.ip6[node], lan.prefix6), 'dev', lan.dev,
                    'nodad')
                # The link-local address the kernel adds at link-up skips
                # DAD too; DAD is back on below, for addresses added later
                # (a VIP carpd forgets to add with nodad stays tentative, as
                # on a real router) and for link-locals after a cable pull.
                self._sysctl(node, 'net.ipv6.conf.%s.accept_dad' % lan.dev, 0)
                _ip('-n', ns, 'link', 'set', lan.dev, 'up')
            self._wait_no_tentative(node)
            self._sysctls(node, {'net.ipv6.conf.%s.accept_dad' % lan.dev:
                                 dad.stdout.strip() for lan in all_lans})

        for node in ('r1', 'r2'):
            self._sysctl(node, 'net.ipv4.ip_forward', 1)

    def _wait_no_tentative(self, node, timeout=3.0):
        """Waits until node has no tentative IPv6 address (bounded)."""
        def settled():
            out = self.run(node, ['ip', '-j', '-6', 'addr', 'show',
                                  'tentative']).stdout.strip()
            return not any(link.get('addr_info')
                           for link in json.loads(out or '[]'))
        if not self.wait_for(settled, timeout, interval=0.01):
            raise RuntimeError('carplab: %s: IPv6 addresses still tentative'
                               ' after %.1f s' % (node, timeout))

    def _sysctl(self, node, key, value, check=True):
        self.run(node, ['sysctl', '-q', '-w', '%s=%s' % (key, value)],
                 check=check)

    def _sysctls(self, node, settings, check=True):
        """Several sysctl settings in node, with a single command."""
        self.run(node, ['sysctl', '-q', '-w',
                        *('%s=%s' % kv for kv in settings.items())],
                 check=check)

    # -- using ------------------------------------------------------------

    def _exec_argv(self, node, argv):
        return ['ip', 'netns', 'exec', self.ns[node], *argv]

    def run(self, node, argv, check=True, timeout=30):
        """Runs argv in node's namespace and waits; output captured as text.

        On timeout the child is killed and TimeoutExpired raised."""
        return subprocess.run(self._exec_argv(node, argv), check=check,
                              timeout=timeout, stdin=subprocess.DEVNULL, preexec_fn=_default_signals,
                              capture_output=True, text=True)

    def start(self, node, argv, env=None, log=None):
        """Starts argv in the background in node's namespace.

        env entries are added to (not replacing) this process's environment.
        stdout+stderr go to the file `log`, or to a pipe when log is None.
        `ip netns exec` execs argv, so the returned PID is argv's own PID.
        The process is killed at teardown if it is still running."""
        full_env = None
        if env is not None:
            full_env = dict(os.environ)
            full_env.update(env)
        logfile = open(log, 'ab') if log is not None else None
        try:
            proc = subprocess.Popen(
                self._exec_argv(node, argv), env=full_env,
                stdin=subprocess.DEVNULL,
                stdout=logfile if logfile else subprocess.PIPE,
                stderr=subprocess.STDOUT,
                # Own session: a Ctrl-C in the terminal reaches us only, and
                # we stop the lab's processes in order at teardown.
                start_new_session=True, preexec_fn=_default_signals)
        except BaseException:
            if logfile:
                logfile.close()
            raise
        self._procs.append((proc, logfile))
        return proc

    def stop(self, proc, sig=signal.SIGTERM, timeout=5):
        """Sends sig to proc's PID and waits up to timeout seconds.

        If it has not exited by then it is SIGKILLed, so the return code is
        then -9: a caller checking for a clean stop sees the difference."""
        if proc.poll() is None:
            try:
                proc.send_signal(sig)
            except OSError:
                pass
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        return proc.returncode

    def cable(self, node, up, lan=0):
        """Plugs (up=True) or pulls node's cable on LAN lan at the switch
        end."""
        self.lan(lan)                         # IndexError for a wrong LAN
        _ip('-n', self.ns[SWITCH], 'link', 'set', self.port(node, lan),
            'up' if up else 'down')

    def add_client(self, node, mac):
        """Adds a namespace `node` plugged into LAN 0 with MAC mac, its link
        up and no address (for DHCP clients). Torn down with the lab."""
        if node in self.ns or not re.match(r'^[a-z0-9]{1,8}$', node):
            raise ValueError('add_client: %r is taken or not [a-z0-9]{1,8}'
                             % node)
        ns = self._ns_name(self._n, node)
        _ip('netns', 'add', ns)
        self._created.append(ns)
        self.ns[node] = ns
        _ip('-n', ns, 'link', 'set', 'lo', 'up')
        port = self.port(node)
        _ip('-n', ns, 'link', 'add', self.dev, 'address', mac, 'type', 'veth',
            'peer', 'name', port, 'netns', self.ns[SWITCH])
        _ip('-n', self.ns[SWITCH], 'link', 'set', port, 'master', self.bridge)
        _ip('-n', self.ns[SWITCH], 'link', 'set', port, 'up')
        _ip('-n', ns, 'link', 'set', self.dev, 'up')
        return ns

    # -- losing CARP multicast at the switch --------------------------------

    def _nft(self, script):
        """Feeds script to `nft -f -` in the switch's namespace."""
        if shutil.which('nft') is None:
            raise RuntimeError('carplab needs `nft` from nftables (make deps)')
        res = subprocess.run(self._exec_argv(SWITCH, ['nft', '-f', '-']),
                             input=script, capture_output=True, text=True,
                             timeout=10)
        if res.returncode != 0:
            raise RuntimeError('nft: %s' % res.stderr.strip())

    def block_carp_multicast(self, block, lan=0):
        """Makes LAN lan's bridge drop (block=True) or forward again
        (block=False) every frame sent to the CARP groups 224.0.0.18 and
        ff02::12, and nothing else: unicast, ARP and neighbour discovery
        still pass. Frames are dropped as they enter the bridge, so each
        one counts once in carp_multicast_dropped()."""
        info = self.lan(lan)
        chain, counter = 'lan%d' % info.index, 'carp_drop_lan%d' % info.index
        # Declaring the table, counter and chain again is harmless: nft
        # creates what is missing and keeps the counter's value.
        script = ('table bridge %s {\n'
                  '    counter %s {\n    }\n'
                  '    chain %s {\n'
                  '        type filter hook prerouting priority 0;'
                  ' policy accept;\n'
                  '    }\n'
                  '}\n'
                  'flush chain bridge %s %s\n'
                  % (NFT_TABLE, counter, chain, NFT_TABLE, chain))
        if block:
            ports = ', '.join('"%s"' % self.port(node, info.index)
                              for node in NODES)
            script += ('add rule bridge %s %s iifname { %s } ether daddr'
                       ' { %s } counter name "%s" drop\n'
                       % (NFT_TABLE, chain, ports,
                          ', '.join(CARP_MULTICAST_MACS), counter))
        self._nft(script)

    def block_gratuitous_arp(self, block, addresses, lan=0):
        """Makes LAN lan's bridge drop (block=True) or forward again the
        gratuitous ARP for these IPv4 addresses (sender and target address
        both one of them, RFC 5227 announcements): clients that ignore them,
        or a switch that loses them. Other ARP still passes. (nft compares a
        field with values, not with another field: hence the addresses.)"""
        info = self.lan(lan)
        table = NFT_TABLE + '_garp'
        chain = 'lan%d' % info.index
        script = ('table bridge %s {\n    chain %s {\n'
                  '        type filter hook prerouting priority 0;'
                  ' policy accept;\n    }\n}\n'
                  'flush chain bridge %s %s\n' % (table, chain, table, chain))
        if block:
            ports = ', '.join('"%s"' % self.port(node, info.index)
                              for node in NODES)
            ips = ', '.join(addresses)
            script += ('add rule bridge %s %s iifname { %s } ether type arp'
                       ' arp saddr ip { %s } arp daddr ip { %s } drop\n'
                       % (table, chain, ports, ips, ips))
        self._nft(script)

    def carp_multicast_dropped(self, lan=0):
        """How many frames block_carp_multicast dropped on LAN lan so far
        (0 if it was never blocked)."""
        info = self.lan(lan)
        if shutil.which('nft') is None:
            return 0          # then nothing can have been blocked either
        res = self.run(SWITCH, ['nft', '-j', 'list', 'counter', 'bridge',
                                NFT_TABLE, 'carp_drop_lan%d' % info.index],
                       check=False)
        if res.returncode != 0:
            return 0          # no table or counter yet: never blocked
        for item in json.loads(res.stdout)['nftables']:
            if 'counter' in item:
                return int(item['counter']['packets'])
        raise RuntimeError('nft printed no counter: %s' % res.stdout)

    @staticmethod
    def wait_for(predicate, timeout, interval=0.05):
        """Polls predicate until it is true (-> True) or timeout s pass."""
        deadline = time.monotonic() + timeout
        while True:
            if predicate():
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(min(interval, max(0.0, deadline - time.monotonic())))

    # -- tearing down -----------------------------------------------------

    def close(self):
        """Stops every process, removes every namespace. Idempotent, never
        raises, and not interruptible by Ctrl-C half-way."""
        if self._closed:
            return
        with _DeferSignals():
            self._closed = True
            try:
                self._stop_tracked()
            except Exception as exc:
                print('carplab: stopping processes: %s' % exc, file=sys.stderr)
            for ns in reversed(self._created):
                kill_and_delete_namespace(ns)
            self._created = []
            _live_labs.discard(self)

    def _stop_tracked(self):
        running = [p for p, _ in self._procs if p.poll() is None]
        for proc in running:
            try:
                proc.send_signal(signal.SIGTERM)
            except OSError:
                pass
        deadline = time.monotonic() + TERM_GRACE
        for proc in running:
            try:
                proc.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                try:
                    proc.wait(2)
                except subprocess.TimeoutExpired:
                    pass  # unkillable (D state); the namespace sweep retries
        for proc, logfile in self._procs:
            for stream in (proc.stdout, logfile):
                if stream is not None:
                    try:
                        stream.close()
                    except OSError:
                        pass
        self._procs = []


# -- command line -----------------------------------------------------------

def cleanup(verbose=True):
    """Removes carplab namespaces whose creating process is gone.

    Only names matching carplab-<pid>-<n>-<node> are considered, and a lab
    whose creator still runs is left alone. Returns the names removed."""
    removed = []
    for ns in list_namespaces():
        match = NS_PATTERN.match(ns)
        if not match or pid_alive(int(match.group(1))):
            continue
        kill_and_delete_namespace(ns)
        removed.append(ns)
        if verbose:
            print('removed stale namespace %s' % ns)
    if verbose and not removed:
        print('no stale carplab namespaces')
    return removed


def shell(lans=1):
    """Builds a lab and keeps it until Enter or Ctrl-C."""
    with Lab(lans=lans) as lab:
        print('lab is up; enter a node with:')
        for node in NODES + (SWITCH,):
            addr = lab.ip.get(node, 'bridge %s' % ','.join(
                lab.lan(i).bridge for i in range(lans)))
            print('  %-3s %-16s ip netns exec %s bash'
                  % (node, addr, lab.ns[node]))
        for i in range(lans):
            lan = lab.lan(i)
            print('%s: VIP %s/%d %s/%d; pull a cable: ip -n %s link set %s'
                  ' down' % (lan.dev, lan.vip, lan.prefix, lan.vip6,
                             lan.prefix6, lab.ns[SWITCH],
                             lab.port('r1', i)))
        print('press Enter (or Ctrl-C) to tear down')
        try:
            sys.stdin.readline()
        except KeyboardInterrupt:
            pass
    print('lab removed')


def main(argv=None):
    import argparse
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    sub = parser.add_subparsers(dest='command', required=True)
    sub.add_parser('cleanup', help='remove stale carplab-* namespaces')
    shell_parser = sub.add_parser('shell',
                                  help='build a lab and wait for Enter')
    shell_parser.add_argument('--lans', type=int, default=1,
                              help='number of LANs (default 1)')
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        parser.exit(1, 'carplab: must run as root\n')
    if args.command == 'cleanup':
        cleanup()
    else:
        shell(args.lans)
    return 0


if __name__ == '__main__':
    sys.exit(main())
