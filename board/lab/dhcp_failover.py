#!/usr/bin/env python3
"""DHCP across failovers: real dnsmasq on r1 and r2, busybox udhcpc clients.

r1 (preferred, advskew 0) and r2 (advskew 100) run carpd from a UCI file
with the dnsmasq recipe (`option dnsmasq '1'`) and lease replication
(`list lease_sync '<the other router>'`, `carpd leases`). Their transition
hooks are the package's real hotplug.d/carp scripts. Clients cli1..cli4 run
`busybox udhcpc -f` in namespaces of their own on the same switch.

Scenarios, in order, each ended only when every bound client has renewed
(or rebound) its lease with the router now serving:
  failover  two clients bound from r1; r1's cable pulled; a third one joins
  failback  r1's cable back, r1 preempts
  reboot    r1 restarted with an empty lease file; a fourth client joins;
            (sync) r2's files are lost on the way to r1 for the first
            seconds, so r1 is master before it has r2's leases
  split     CARP advertisements lost at the switch, so both routers are
            master and serve; a fifth client joins; the partition heals
            (ends once both lease files hold the newcomer and r1 is the
            only master: no renewal wait)

Everything reported comes from the clients' own view (their udhcpc script's
log: bound, renew, deconfig with the lease time and server) and the
routers' lease files as dnsmasq wrote them. Per scenario: the longest time a
client was without a valid lease, and every address change.

    python3 -m board.lab.dhcp_failover [--python micropython|python3] [--mode sync|master|split]

--mode master (the recipe without lease_sync) and split (both routers serve
disjoint pools, no hook) run the same scenarios for comparison.
"""

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from board.lab.carplab import SWITCH, Lab

REPO = Path(__file__).resolve().parents[2]
CARPD = REPO / 'firmware' / 'carpd'
HOTPLUG_D = REPO / 'package' / 'carp' / 'files' / 'hotplug.d' / 'carp'
PASSWORD = 'dhcp-lab'
ADVSKEW = {'r1': 0, 'r2': 100}
OTHER = {'r1': 'r2', 'r2': 'r1'}
LEASE_S = 120            # dnsmasq's shortest lease time
POOL = (120, 20)         # UCI dhcp.lan.start / limit: 10.99.0.120-139
# The designs compared (docs/dhcp-failover.md):
#   sync    the recipe (dnsmasq '1', only the master serves) with lease_sync
#   master  the recipe alone: the new master starts with its own lease file
#   split   no hook: both serve all the time, disjoint halves of the pool,
#           not authoritative (the role overlays' DHCP_MODE=split). r2's
#           dnsmasq starts once cli1 and cli2 are bound, so that they are
#           r1's clients (both answering, a client takes the first offer).
#           OPNsense's guide delays the backup's offers 10 s instead
#           (dhcp-reply-delay): busybox udhcpc with its default 3 x 3 s
#           discover rounds then never took an offer in 45 s.
MODES = ('sync', 'master', 'split')
SPLIT_POOLS = {'r1': (120, 10), 'r2': (130, 10)}
HEARTBEAT_S = 5
LEASE_PORT = 9112  # `carpd leases`' UDP port (the default: carp/leasesync.py)
HOLD_S = 20  # `carpd leases --hold`: longer than the reboot scenario keeps r2's files from r1
HELD_S = 4  # how long cli4 asks while r1 holds DHCP
# dnsmasq starts its search for a free address at a hash of the client's
# MAC (SDBM over the 6 bytes, modulo the pool size): cli1 lands on .122,
# and so do cli3 and cli4, which join while cli1's lease is only known to
# the other router. cli1 drops ICMP echo requests (a firewalled laptop), so
# dnsmasq's ping check before an offer cannot find it: only the lease file
# tells the serving router that .122 is taken.
CLIENT_MACS = {'cli1': '02:00:00:00:01:01', 'cli2': '02:00:00:00:01:02',
               'cli3': '02:00:00:00:02:16', 'cli4': '02:00:00:00:02:2a',
               'cli5': '02:00:00:00:02:3e'}
FIREWALLED = ('cli1',)
TAKEOVER_TIMEOUT = 10
BIND_TIMEOUT = 60        # udhcpc: discover, ping check, offer (split: 10 s late)
RENEW_TIMEOUT = LEASE_S + 30
SYNC_TIMEOUT = 8


# OpenWrt's /etc/init.d/dnsmasq turns /etc/config/dhcp into dnsmasq
# options. The stand-in below starts the real dnsmasq with the options that
# init script writes for this UCI (and only those that matter here):
#   config dnsmasq: authoritative '1' -> dhcp-authoritative,
#     leasefile '/tmp/dhcp.leases' -> dhcp-leasefile, nonwildcard '1' -> bind-dynamic
#   config dhcp 'lan': start '120' limit '20' leasetime '2m'
#     -> dhcp-range=set:lan,10.99.0.120,10.99.0.139,255.255.255.0,2m
#   list dhcp_option '3,<VIP>' '6,<VIP>' -> dhcp-option=lan,3,<VIP> / 6
# DNS is off (port=0): the lab checks DHCP. `stop` returns once dnsmasq is
# gone, as procd's stop does.
INITD_DNSMASQ = '''#!/bin/sh
# procd handles one request at a time: a start never races a restart
exec 9>>%(lock)s
flock 9
conf=%(conf)s
pidfile=%(pidfile)s
stop() {
	[ -f "$pidfile" ] || return 0
	pid=$(cat "$pidfile")
	kill "$pid" 2>/dev/null
	n=0
	while kill -0 "$pid" 2>/dev/null && [ $n -lt 50 ]; do sleep 0.1; n=$((n + 1)); done
	rm -f "$pidfile"
}
start() {
	[ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null && return 0
	dnsmasq -C "$conf" --pid-file="$pidfile" --log-facility=%(log)s --log-dhcp 9>&-
}
case "$1" in
start) start ;;
stop) stop ;;
restart) stop; start ;;
esac
echo "$(date +%%s.%%N) $1" >> %(calls)s
'''

DNSMASQ_CONF = '''port=0
interface=%(dev)s
bind-dynamic
%(authoritative)sdhcp-leasefile=%(leasefile)s
dhcp-range=set:lan,%(first)s,%(last)s,255.255.255.0,2m
dhcp-option=lan,3,%(vip)s
dhcp-option=lan,6,%(vip)s
'''

# OpenWrt's /sbin/hotplug-call sources every file of /etc/hotplug.d/<name>
# in a subshell, in sorted order, with the caller's environment. The carp
# hook worker clears the environment (env -i), so the stand-in sets the one
# variable that points the recipe at the init.d stand-in.
HOTPLUG_CALL = '''#!/bin/sh
export CARP_INITD=%(initd)s
for f in %(hotplug_d)s/*; do
	( . "$f" )
done
'''

# udhcpc's script, as OpenWrt's /usr/share/udhcpc/default.script does it:
# the address goes on the interface (renewals are sent from it, and the
# routers' ping check sees it answer); every event is logged with the
# lease time and the server it came from.
UDHCPC_SCRIPT = '''#!/bin/sh
echo "$(date +%s.%N) $1 ${ip:--} ${lease:--} ${serverid:--} ${router:--} ${dns:--}" >> "$DHCP_LOG"
case "$1" in
deconfig) ip -4 addr flush dev "$interface" ;;
bound|renew)
	if ! ip -4 -o addr show dev "$interface" | grep -q " $ip/$mask "; then
		ip -4 addr flush dev "$interface"
		ip addr add "$ip/$mask" dev "$interface"
	fi ;;
esac
exit 0
'''


def dnsmasq_hash_slot(mac, pool=POOL[1]):
    """Where dnsmasq's address search starts for mac (dhcp.c
    address_allocate: SDBM hash of the hardware address, modulo the pool)."""
    j = 0
    for b in bytes.fromhex(mac.replace(':', '')):
        j = (b + (j << 6) + (j << 16) - j) & 0xFFFFFFFF
    return j % pool


NO_ECHO = '''table inet firewall {
    chain input {
        type filter hook input priority 0; policy accept;
        icmp type echo-request drop
    }
}
'''


def write_exe(path, text):
    path.write_text(text)
    os.chmod(str(path), 0o755)
    return str(path)


def read_leasefile(path):
    """dnsmasq's lease file -> {mac: ip} of the leases not yet expired."""
    now = time.time()
    out = {}
    try:
        text = Path(path).read_text()
    except OSError:
        return out
    for line in text.splitlines():
        f = line.split()
        if len(f) == 5 and (f[0] == '0' or int(f[0]) > now):
            out[f[1]] = f[2]
    return out


class Client:
    def __init__(self, name, log):
        self.name, self.log, self.mac = name, log, CLIENT_MACS[name]
        self.started = None
        self.proc = None

    def events(self):
        """[(time, event, ip, lease, serverid, router, dns)] from its script."""
        out = []
        try:
            lines = self.log.read_text().splitlines()
        except OSError:
            return out
        for line in lines:
            f = line.split()
            if len(f) == 7:
                out.append((float(f[0]), f[1], f[2], f[3], f[4], f[5], f[6]))
        return out

    def leases(self):
        return [e for e in self.events() if e[1] in ('bound', 'renew')]

    def ip(self):
        got = self.leases()
        return got[-1][2] if got else None


class DhcpLab:
    def __init__(self, lab, workdir, python, mode='sync'):
        if mode not in MODES:
            raise ValueError('mode: one of %s' % ', '.join(MODES))
        self.lab, self.dir, self.python, self.mode = lab, Path(workdir), python, mode
        self.carp, self.sync = {}, {}
        self.clients = {}

    # -- routers -----------------------------------------------------------

    def leasefile(self, node):
        return self.dir / node / 'dhcp.leases'

    def _prepare(self, node):
        d = self.dir / node
        initd = d / 'init.d'
        initd.mkdir(parents=True, exist_ok=True)
        lab = self.lab
        start, limit = SPLIT_POOLS[node] if self.mode == 'split' else POOL
        (d / 'dnsmasq.conf').write_text(DNSMASQ_CONF % {
            'dev': lab.dev, 'leasefile': self.leasefile(node), 'vip': lab.vip,
            'authoritative': '' if self.mode == 'split' else 'dhcp-authoritative\n',
            'first': '10.99.0.%d' % start, 'last': '10.99.0.%d' % (start + limit - 1)})
        write_exe(initd / 'dnsmasq', INITD_DNSMASQ % {
            'conf': d / 'dnsmasq.conf', 'pidfile': d / 'dnsmasq.pid', 'log': d / 'dnsmasq.log',
            'calls': d / 'initd.log', 'lock': d / 'initd.lock'})
        write_exe(d / 'hotplug-call', HOTPLUG_CALL % {'initd': initd, 'hotplug_d': HOTPLUG_D})
        (d / 'carp').write_text('\n'.join([
            "config globals 'globals'",
            "\toption status_interval '1'",
            "",
            "config vhid 'lan'",
            "\toption device '%s'" % lab.dev,
            "\toption vhid '1'",
            "\toption advskew '%d'" % ADVSKEW[node],
            "\toption password '%s'" % PASSWORD,
            "\tlist address '%s/%d'" % (lab.vip, lab.prefix),
            "\toption preempt '1'",
            "\toption dnsmasq '%d'" % (self.mode != 'split'),
            "\tlist lease_sync '%s'" % lab.ip[OTHER[node]] if self.mode == 'sync' else "",
            ""]))
        return d

    def start_router(self, node):
        d = self._prepare(node)
        # Each router's status (carpd's state, read by `carpd leases`) in
        # a directory of its own: both share this machine's /var/run.
        env = {'CARP_PYTHON': self.python, 'CARP_HOTPLUG_CALL': str(d / 'hotplug-call'),
               'CARP_RUN_DIR': str(d / 'run')}
        self.carp[node] = self.lab.start(node, [str(CARPD), '-c', str(d / 'carp')], env=env,
                                         log=str(d / 'carpd.log'))
        if self.mode == 'split' and (node == 'r1' or self.clients):
            self.start_dnsmasq(node)
        if self.mode != 'sync':
            return
        self.sync[node] = self.lab.start(node, [
            str(CARPD), 'leases', '-c', str(d / 'carp'), '--leasefile', str(self.leasefile(node)),
            '--initd', str(d / 'init.d'), '--heartbeat', str(HEARTBEAT_S), '--hold', str(HOLD_S)], env=env,
            log=str(d / 'leases.log'))

    def start_dnsmasq(self, node):
        self.lab.run(node, [str(self.dir / node / 'init.d' / 'dnsmasq'), 'start'])

    def stop_router(self, node):
        """carpd stopped as procd stops it (SIGTERM: a master bows out and
        its STOP hook stops dnsmasq), then the replicator."""
        self.lab.stop(self.carp.pop(node), signal.SIGTERM, timeout=10)
        if node in self.sync:
            self.lab.stop(self.sync.pop(node), signal.SIGTERM)
        self.lab.run(node, [str(self.dir / node / 'init.d' / 'dnsmasq'), 'stop'], check=False)

    def reboot(self, node):
        """Stopped, /tmp lost (the lease file is on tmpfs), started again."""
        self.stop_router(node)
        self.leasefile(node).unlink(missing_ok=True)
        self.start_router(node)

    def holders(self):
        out = []
        for node in ('r1', 'r2'):
            res = self.lab.run(node, ['ip', '-j', '-4', 'addr', 'show', 'dev', self.lab.dev])
            addrs = [a['local'] for link in json.loads(res.stdout or '[]') for a in link.get('addr_info', [])]
            if self.lab.vip in addrs:
                out.append(node)
        return out

    def wait_master(self, node, timeout=TAKEOVER_TIMEOUT):
        if not self.lab.wait_for(lambda: self.holders() == [node], timeout, interval=0.1):
            raise AssertionError('%s did not become the only VIP holder: %s' % (node, self.holders()))

    def dnsmasq_running(self, node):
        pidfile = self.dir / node / 'dnsmasq.pid'
        try:
            os.kill(int(pidfile.read_text()), 0)
            return True
        except (OSError, ValueError):
            return False

    # -- clients -----------------------------------------------------------

    def start_client(self, name):
        if name not in self.lab.ns:
            self.lab.add_client(name, CLIENT_MACS[name])
            if name in FIREWALLED:
                res = subprocess.run(['ip', 'netns', 'exec', self.lab.ns[name], 'nft', '-f', '-'],
                                     input=NO_ECHO, capture_output=True, text=True, timeout=10)
                if res.returncode:
                    raise RuntimeError('nft in %s: %s' % (name, res.stderr))
        script = self.dir / 'udhcpc.script'
        if not script.exists():
            write_exe(script, UDHCPC_SCRIPT)
        c = self.clients.get(name) or Client(name, self.dir / ('%s.log' % name))
        self.clients[name] = c
        c.started = time.time()
        c.proc = self.lab.start(name, ['busybox', 'udhcpc', '-f', '-i', self.lab.dev, '-s', str(script)],
                                env={'DHCP_LOG': str(c.log)}, log=str(self.dir / ('%s.out' % name)))
        return c

    def wait_bound(self, names, timeout=BIND_TIMEOUT):
        ok = self.lab.wait_for(lambda: all(self.clients[n].ip() for n in names), timeout, interval=0.2)
        if not ok:
            raise AssertionError('not bound within %ds: %s' % (timeout, [n for n in names if not self.clients[n].ip()]))

    def wait_renewed(self, names, since, timeout=RENEW_TIMEOUT):
        """Until every client logged a bound/renew after `since`."""
        def done():
            return all(any(e[0] > since for e in self.clients[n].leases()) for n in names)
        if not self.lab.wait_for(done, timeout, interval=0.5):
            raise AssertionError('no renewal within %ds after the event: %s' % (timeout, names))

    def wait_replicated(self, router, names, timeout=SYNC_TIMEOUT):
        """Until router's lease file binds each client to the address the
        client itself holds."""
        def done():
            held = read_leasefile(self.leasefile(router))
            return all(held.get(self.clients[n].mac) == self.clients[n].ip() for n in names)
        if not self.lab.wait_for(done, timeout, interval=0.1):
            raise AssertionError('%s lease file lacks %s: %s' % (router, names, read_leasefile(self.leasefile(router))))

    def client_addresses(self, name):
        res = self.lab.run(name, ['ip', '-j', '-4', 'addr', 'show', 'dev', self.lab.dev])
        return [a['local'] for link in json.loads(res.stdout or '[]') for a in link.get('addr_info', [])]


def without_lease(events, start, end):
    """Seconds within [start, end] a client held no valid lease, by its own
    log: a lease from a bound/renew at t with lease time L is valid until
    t + L; a deconfig ends it at once."""
    valid_until = None
    longest, gap_from = 0.0, None
    for t, event, ip, lease, *_ in events + [(end, 'end', '-', '-')]:
        t_clip = min(max(t, start), end)
        if valid_until is not None and valid_until < t_clip and gap_from is None:
            gap_from = max(valid_until, start)
        if event in ('bound', 'renew'):
            if gap_from is not None:
                longest = max(longest, t_clip - gap_from)
                gap_from = None
            valid_until = t + int(lease)
        elif event == 'deconfig':
            if valid_until is not None and valid_until > t:
                valid_until = t
                gap_from = max(t, start)
        elif event == 'end' and gap_from is not None:
            longest = max(longest, t_clip - gap_from)
    return longest


def holdings(events, end):
    """[(ip, from, to)]: when the client held which address, by its log
    (from a bound until a deconfig or a bound to another address)."""
    out, current = [], None
    for t, event, ip, *_ in events:
        if event in ('bound', 'renew') and (current is None or current[0] != ip):
            if current is not None:
                out.append((current[0], current[1], t))
            current = (ip, t)
        elif event == 'deconfig' and current is not None:
            out.append((current[0], current[1], t))
            current = None
    if current is not None:
        out.append((current[0], current[1], end))
    return out


def shared_addresses(clients, start, end):
    """['ip: a and b for N s']: two clients holding one address at once."""
    held = {c.name: holdings(c.events(), end) for c in clients}
    names = sorted(held)
    out = []
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            for ip, a0, a1 in held[a]:
                for ip_b, b0, b1 in held[b]:
                    both = min(a1, b1, end) - max(a0, b0, start)
                    if ip == ip_b and both > 0:
                        out.append('%s: %s and %s for %.1f s' % (ip, a, b, both))
    return out


def _joined(c, within, start):
    """Seconds a client that joined during the scenario waited for its
    first lease, or None."""
    if c.started is None or c.started <= start:
        return None
    first = next((e[0] for e in within if e[1] == 'bound'), None)
    return round(first - c.started, 1) if first is not None else None


def scenario_report(d, name, start, end):
    clients = {}
    for c in d.clients.values():
        events = c.events()
        before = [e for e in events if e[0] <= start and e[1] in ('bound', 'renew')]
        within = [e for e in events if start < e[0] <= end]
        ips = [e[2] for e in before[-1:] + [e for e in within if e[1] in ('bound', 'renew')]]
        changes = ['%s -> %s' % (a, b) for a, b in zip(ips, ips[1:]) if a != b]
        clients[c.name] = {
            'ip': c.ip(),
            'joined_bound_s': _joined(c, within, start),
            'without_lease_s': round(without_lease(events, start, end), 1),
            'address_changes': changes,
            # the deconfig udhcpc runs at its start is no lost lease
            'deconfigs': sum(1 for e in within if e[1] == 'deconfig' and before),
            'servers': sorted({e[4] for e in within if e[1] in ('bound', 'renew')}),
            'routers_dns': sorted({'%s/%s' % (e[5], e[6]) for e in within if e[1] in ('bound', 'renew')}),
        }
    return {'scenario': name, 'seconds': round(end - start, 1), 'clients': clients,
            'shared_addresses': shared_addresses(d.clients.values(), start, end),
            'leases': {r: read_leasefile(d.leasefile(r)) for r in ('r1', 'r2')}}


def run(lab, workdir, python, say=print, mode='sync'):
    """All scenarios in one lab; -> (DhcpLab, list of per-scenario reports).
    mode: one of MODES."""
    d = DhcpLab(lab, workdir, python, mode)
    reports = []
    d.start_router('r1')
    d.wait_master('r1', 15)
    d.start_router('r2')
    time.sleep(1.5)
    assert d.holders() == ['r1'], d.holders()
    d.start_client('cli1')
    d.start_client('cli2')
    d.wait_bound(['cli1', 'cli2'])
    say('bound from r1: cli1 %s, cli2 %s' % (d.clients['cli1'].ip(), d.clients['cli2'].ip()))
    if mode == 'sync':
        d.wait_replicated('r2', ['cli1', 'cli2'])
    if mode == 'split':
        d.start_dnsmasq('r2')

    t = time.time()
    lab.cable('r1', False)
    d.wait_master('r2')
    say('failover: r1 cable pulled, r2 master after %.1f s' % (time.time() - t))
    d.start_client('cli3')
    d.wait_bound(['cli3'])
    d.wait_renewed(['cli1', 'cli2'], t)
    reports.append(scenario_report(d, 'failover', t, time.time()))
    say(json.dumps(reports[-1]))

    t = time.time()
    lab.cable('r1', True)
    d.wait_master('r1')
    say('failback: r1 master after %.1f s' % (time.time() - t))
    d.wait_renewed(['cli1', 'cli2', 'cli3'], t)
    reports.append(scenario_report(d, 'failback', t, time.time()))
    say(json.dumps(reports[-1]))

    t = time.time()
    if mode == 'sync':
        # r2's files are lost on the way to r1 at first: r1 is master
        # before it has r2's leases, so its replicator holds DHCP.
        drop_lease_sync(lab, 'r2', True)
    d.reboot('r1')
    d.wait_master('r1', 15)
    say('reboot: r1 master again after %.1f s' % (time.time() - t))
    d.start_client('cli4')
    if mode == 'sync':
        time.sleep(HELD_S)
        held = {'cli4_bound': bool(d.clients['cli4'].ip()), 'r1_dnsmasq_running': d.dnsmasq_running('r1')}
        say('reboot: r2\'s files let through after cli4 asked for %d s: %s' % (HELD_S, held))
        drop_lease_sync(lab, 'r2', False)
    d.wait_bound(['cli4'])
    d.wait_renewed(['cli1', 'cli2', 'cli3'], t)
    reports.append(scenario_report(d, 'reboot', t, time.time()))
    if mode == 'sync':
        reports[-1]['while_held'] = held
    say(json.dumps(reports[-1]))

    t = time.time()
    lab.block_carp_multicast(True)
    if not lab.wait_for(lambda: d.holders() == ['r1', 'r2'], TAKEOVER_TIMEOUT, interval=0.1):
        raise AssertionError('no split brain: %s' % d.holders())
    say('split brain: both routers master after %.1f s' % (time.time() - t))
    d.start_client('cli5')
    d.wait_bound(['cli5'])
    if mode == 'sync':
        d.wait_replicated('r1', ['cli5'])
        d.wait_replicated('r2', ['cli5'])
    lab.block_carp_multicast(False)
    d.wait_master('r1')
    say('split brain healed after %.1f s' % (time.time() - t))
    reports.append(scenario_report(d, 'split brain', t, time.time()))
    say(json.dumps(reports[-1]))
    return d, reports


# The switch drops cli3's DHCPREQUESTs (busybox udhcpc puts option 53
# first, right after the magic cookie: 8 bytes of UDP header + 240 of
# BOOTP = bit 1984 of the transport header), so r1's OFFER stays
# unanswered, as when the master dies between its OFFER and the client's
# REQUEST. At the switch because udhcpc sends from a packet socket, which
# the client's own netfilter never sees.
REQUEST_DROP_TABLE = 'dhcplab'
REQUEST_DROP = '''table bridge %(table)s {
    counter requests_dropped {
    }
    chain prerouting {
        type filter hook prerouting priority 0; policy accept;
    }
}
flush chain bridge %(table)s prerouting
'''
REQUEST_DROP_RULE = ('add rule bridge %(table)s prerouting iifname "%(port)s" udp dport 67'
                     ' @th,1984,24 0x350103 counter name "requests_dropped" drop\n')
OFFERED_TIMEOUT = 20


def drop_requests(lab, name, drop):
    """Makes the switch drop (drop=True) or pass name's DHCPREQUESTs."""
    rule = REQUEST_DROP_RULE % {'table': REQUEST_DROP_TABLE, 'port': lab.port(name)}
    _switch_drops(lab, rule if drop else '')


def drop_lease_sync(lab, name, drop):
    """Makes the switch drop (drop=True) or pass what name's `carpd leases` sends."""
    rule = ('add rule bridge %s prerouting iifname "%s" udp dport %d drop\n'
            % (REQUEST_DROP_TABLE, lab.port(name), LEASE_PORT))
    _switch_drops(lab, rule if drop else '')


def _switch_drops(lab, rule):
    """The switch's drop chain holds rule alone (nothing if empty)."""
    script = REQUEST_DROP % {'table': REQUEST_DROP_TABLE} + rule
    res = subprocess.run(['ip', 'netns', 'exec', lab.ns[SWITCH], 'nft', '-f', '-'],
                         input=script, capture_output=True, text=True, timeout=10)
    if res.returncode:
        raise RuntimeError('nft in the switch: %s' % res.stderr)


def requests_dropped(lab):
    res = lab.run(SWITCH, ['nft', '-j', 'list', 'counter', 'bridge', REQUEST_DROP_TABLE, 'requests_dropped'],
                  check=False)
    if res.returncode:
        return 0
    for item in json.loads(res.stdout)['nftables']:
        if 'counter' in item:
            return int(item['counter']['packets'])
    return 0


def offers(d, node, mac):
    """Addresses node's dnsmasq offered to mac, from dnsmasq's own log."""
    try:
        text = (d.dir / node / 'dnsmasq.log').read_text()
    except OSError:
        return []
    return re.findall(r'DHCPOFFER\(\S+\) (\S+) %s' % re.escape(mac), text)


def run_offer_then_die(lab, workdir, python, say=print, mode='sync'):
    """r1 (master) offers cli3 an address; cli3's REQUEST is lost and r1's
    cable pulled before anything answers it; cli4 joins while r2 takes
    over. cli1 (firewalled, bound from r1 first), cli3 and cli4 all hash
    onto one address. Then r1's cable goes back and r1 preempts.
    -> (DhcpLab, report): scenario_report over the whole run plus
    'offered_by_r1', 'requests_dropped', 'steps' (seconds since start).
    mode: sync or master (the recipe alone, for comparison)."""
    if mode not in ('sync', 'master'):
        raise ValueError('mode: sync or master')
    d = DhcpLab(lab, workdir, python, mode)
    steps = {}
    t0 = time.time()

    def step(name, text):
        steps[name] = round(time.time() - t0, 1)
        say('%5.1f s  %s' % (steps[name], text))

    d.start_router('r1')
    d.wait_master('r1', 15)
    d.start_router('r2')
    d.start_client('cli1')
    d.wait_bound(['cli1'])
    if mode == 'sync':
        d.wait_replicated('r2', ['cli1'])
    assert d.holders() == ['r1'], d.holders()
    step('cli1_bound', 'cli1 bound from r1 to %s' % d.clients['cli1'].ip())

    lab.add_client('cli3', CLIENT_MACS['cli3'])
    drop_requests(lab, 'cli3', True)
    mac = CLIENT_MACS['cli3']
    d.start_client('cli3')
    if not lab.wait_for(lambda: offers(d, 'r1', mac) and requests_dropped(lab) > 0, OFFERED_TIMEOUT, 0.05):
        raise AssertionError('r1 offered %s, requests dropped %d' % (offers(d, 'r1', mac), requests_dropped(lab)))
    offered = offers(d, 'r1', mac)
    step('offered', 'r1 offered cli3 %s, its REQUEST lost' % offered)

    lab.cable('r1', False)
    d.start_client('cli4')
    drop_requests(lab, 'cli3', False)
    step('r1_dead', 'r1 cable pulled, cli4 joins, cli3 REQUESTs pass again')
    d.wait_master('r2')
    step('r2_master', 'r2 master')
    d.wait_bound(['cli3', 'cli4'])
    if mode == 'sync':
        d.wait_replicated('r2', ['cli1', 'cli3', 'cli4'])
    step('bound', 'cli3 %s, cli4 %s' % (d.clients['cli3'].ip(), d.clients['cli4'].ip()))

    lab.cable('r1', True)
    d.wait_master('r1')
    if mode == 'sync':
        d.wait_replicated('r1', ['cli1', 'cli3', 'cli4'])
    step('failback', 'r1 master again')
    report = scenario_report(d, 'offer, then the master dies', t0, time.time())
    report.update(offered_by_r1=offered, requests_dropped=requests_dropped(lab), steps=steps)
    return d, report


def table(reports):
    lines = ['| scenario | client | address | longest without a valid lease (s) | address changes | '
             'joined: first lease after (s) | served by (option 54) | router/DNS |',
             '|---|---|---|---|---|---|---|---|']
    for r in reports:
        for shared in r['shared_addresses']:
            lines.append('| %s | **one address, two clients** | %s | | | | | |' % (r['scenario'], shared))
        for name, c in sorted(r['clients'].items()):
            joined = '-' if c['joined_bound_s'] is None else '%.1f' % c['joined_bound_s']
            lines.append('| %s | %s | %s | %.1f | %s | %s | %s | %s |' % (
                r['scenario'], name, c['ip'], c['without_lease_s'], ', '.join(c['address_changes']) or 'none',
                joined, ', '.join(c['servers']) or '-', ', '.join(c['routers_dns']) or '-'))
    return '\n'.join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--python', default='micropython',
                        help='interpreter for carpd and carpd leases (default micropython)')
    parser.add_argument('--mode', choices=MODES, default='sync',
                        help='sync (default): the recipe with lease_sync; master: the recipe '
                        'alone; split: both serve disjoint pools, no hook')
    parser.add_argument('--offer-then-die', action='store_true',
                        help='only the scenario where the master dies between its OFFER and '
                        'the client\'s REQUEST (sync mode)')
    args = parser.parse_args(argv)
    python = shutil.which(args.python) or args.python
    with tempfile.TemporaryDirectory(prefix='dhcplab-') as workdir, Lab() as lab:
        start = time.monotonic()
        if args.offer_then_die:
            if args.mode == 'split':
                parser.error('--offer-then-die: --mode sync or master')
            _, report = run_offer_then_die(lab, workdir, python, say=lambda s: print(s, flush=True),
                                           mode=args.mode)
            print(json.dumps(report))
            print(table([report]))
            print('total %.0f s' % (time.monotonic() - start))
            return 0
        _, reports = run(lab, workdir, python, say=lambda s: print(s, flush=True), mode=args.mode)
        print(table(reports))
        print('total %.0f s' % (time.monotonic() - start))
    return 0


if __name__ == '__main__':
    sys.exit(main())
