"""The lab itself: wiring, cable pulls, teardown, stale-lab cleanup."""

import ipaddress
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from board.lab.carplab import Lab, list_namespaces

CARPLAB = Path(__file__).resolve().parents[2] / 'board' / 'lab' / 'carplab.py'


def link_state(lab, node, dev=None):
    """(operstate, flags) of node's dev (lan0 by default), read inside
    node's namespace."""
    out = lab.run(node, ['ip', '-j', 'link', 'show', 'dev',
                         dev or lab.dev]).stdout
    link = json.loads(out)[0]
    return link['operstate'], set(link['flags'])


def addresses(lab, node, dev):
    """(MAC, {(family, address, prefixlen, scope, tentative)}) of dev."""
    out = lab.run(node, ['ip', '-j', 'addr', 'show', 'dev', dev]).stdout
    link = json.loads(out)[0]
    return link['address'], {(a['family'], a['local'], a['prefixlen'],
                              a['scope'], bool(a.get('tentative')))
                             for a in link['addr_info']}


def ping(lab, src, dst_addr, family=4):
    return lab.run(src, ['ping', '-%d' % family, '-n', '-c', '1', '-W', '2',
                         dst_addr], check=False)


def test_every_node_reaches_every_other_by_ping(lab):
    assert shutil.which('ping'), 'ping missing: run `make deps`'
    for src in ('r1', 'r2', 'c1'):
        for dst in ('r1', 'r2', 'c1'):
            if src != dst:
                res = lab.run(src, ['ping', '-n', '-c', '1', '-W', '2',
                                    lab.ip[dst]], check=False)
                assert res.returncode == 0, (src, dst, res.stdout)


def test_every_node_reaches_every_other_by_ping6(lab):
    assert lab.ip6 == lab.lan(0).ip6 and lab.prefix6 == 64
    for src in ('r1', 'r2', 'c1'):
        for dst in ('r1', 'r2', 'c1'):
            if src != dst:
                res = ping(lab, src, lab.ip6[dst], family=6)
                assert res.returncode == 0, (src, dst, res.stdout)


def test_nodes_have_ipv6_and_link_local_ready_at_once(lab):
    for node in ('r1', 'r2', 'c1'):
        mac, addrs = addresses(lab, node, lab.dev)
        assert ('inet6', lab.ip6[node], 64, 'global', False) in addrs
        # The kernel's own EUI-64 link-local, not tentative (usable now).
        b = bytes.fromhex(mac.replace(':', ''))
        eui64 = bytes([b[0] ^ 2]) + b[1:3] + b'\xff\xfe' + b[3:]
        ll = str(ipaddress.IPv6Address(b'\xfe\x80' + bytes(6) + eui64))
        assert ('inet6', ll, 64, 'link', False) in addrs, addrs
        assert not any(a[4] for a in addrs), addrs
        # DAD is on again for addresses added later (a VIP, say).
        out = lab.run(node, ['sysctl', '-n',
                             'net.ipv6.conf.%s.accept_dad' % lab.dev]).stdout
        assert out.strip() == '1'
    assert lab.ip6 == {'r1': 'fd99::1', 'r2': 'fd99::2', 'c1': 'fd99::100'}
    assert lab.vip6 == 'fd99::254'
    # The switch stays silent in IPv6.
    res = lab.run('sw', ['ip', '-j', '-6', 'addr', 'show'])
    assert not any(link.get('addr_info') for link in json.loads(res.stdout))


def test_nodes_have_the_fixed_addresses_and_macs(lab):
    for node in ('r1', 'r2', 'c1'):
        out = lab.run(node, ['ip', '-j', 'addr', 'show', 'dev', lab.dev])
        link = json.loads(out.stdout)[0]
        assert link['address'] == lab.mac[node]
        v4 = [(a['local'], a['prefixlen']) for a in link['addr_info']
              if a['family'] == 'inet']
        assert v4 == [(lab.ip[node], lab.prefix)]


def test_pulling_the_cable_is_carrier_loss_seen_by_the_router(lab):
    lab.cable('r1', False)
    assert lab.wait_for(lambda: link_state(lab, 'r1')[0] == 'DOWN', 5)
    operstate, flags = link_state(lab, 'r1')
    assert 'NO-CARRIER' in flags and 'LOWER_UP' not in flags
    assert 'UP' in flags, 'the router side stays administratively up'
    # r2 is not affected.
    assert 'LOWER_UP' in link_state(lab, 'r2')[1]

    lab.cable('r1', True)
    assert lab.wait_for(lambda: link_state(lab, 'r1')[0] == 'UP', 5)
    assert 'LOWER_UP' in link_state(lab, 'r1')[1]


def test_lan0_description_is_the_labs_own_attributes(lab):
    lan = lab.lan(0)
    assert (lan.dev, lan.ip, lan.vip, lan.mac, lan.prefix) == \
        (lab.dev, lab.ip, lab.vip, lab.mac, lab.prefix)
    assert (lan.ip6, lan.vip6, lan.prefix6) == \
        (lab.ip6, lab.vip6, lab.prefix6)
    with pytest.raises(IndexError):
        lab.lan(1)


def test_second_lan_is_wired_addressed_and_pingable(lab2):
    lan0, lan1 = lab2.lan(0), lab2.lan(1)
    assert lan0.dev == lab2.dev == 'lan0' and lan1.dev == 'lan1'
    assert lan1.ip == {'r1': '10.99.1.1', 'r2': '10.99.1.2',
                       'c1': '10.99.1.100'}
    assert lan1.ip6 == {'r1': 'fd99:1::1', 'r2': 'fd99:1::2',
                        'c1': 'fd99:1::100'}
    assert (lan1.vip, lan1.vip6) == ('10.99.1.254', 'fd99:1::254')
    assert (lan1.prefix, lan1.prefix6) == (24, 64)
    macs = list(lan0.mac.values()) + list(lan1.mac.values())
    assert len(set(macs)) == 6, macs
    for node in ('r1', 'r2', 'c1'):
        mac, addrs = addresses(lab2, node, lan1.dev)
        assert mac == lan1.mac[node]
        assert ('inet', lan1.ip[node], 24, 'global', False) in addrs
        assert ('inet6', lan1.ip6[node], 64, 'global', False) in addrs
        assert addresses(lab2, node, lan0.dev)[0] == lan0.mac[node]
    bridge_of = {link['ifname']: link.get('master') for link in json.loads(
        lab2.run('sw', ['ip', '-j', 'link', 'show']).stdout)}
    for node in ('r1', 'r2', 'c1'):
        assert bridge_of['sw-' + node] == 'br0'
        assert bridge_of['sw1-' + node] == 'br1'
    for src in ('r1', 'r2', 'c1'):
        for dst in ('r1', 'r2', 'c1'):
            if src != dst:
                for family, addr in ((4, lan1.ip[dst]), (6, lan1.ip6[dst])):
                    res = ping(lab2, src, addr, family)
                    assert res.returncode == 0, (src, dst, res.stdout)


def test_pulling_the_second_lans_cable_is_carrier_loss_there_only(lab2):
    lab2.cable('r1', False, lan=1)
    assert lab2.wait_for(
        lambda: link_state(lab2, 'r1', 'lan1')[0] == 'DOWN', 5)
    flags = link_state(lab2, 'r1', 'lan1')[1]
    assert 'NO-CARRIER' in flags and 'LOWER_UP' not in flags
    # r1's LAN 0 and r2's LAN 1 are not affected.
    assert 'LOWER_UP' in link_state(lab2, 'r1', 'lan0')[1]
    assert 'LOWER_UP' in link_state(lab2, 'r2', 'lan1')[1]
    assert ping(lab2, 'c1', lab2.ip['r1']).returncode == 0
    assert ping(lab2, 'c1', lab2.lan(1).ip['r1']).returncode != 0

    lab2.cable('r1', True, lan=1)
    assert lab2.wait_for(
        lambda: link_state(lab2, 'r1', 'lan1')[0] == 'UP', 5)
    assert ping(lab2, 'c1', lab2.lan(1).ip['r1']).returncode == 0


# Sends one raw IP protocol 112 (CARP) packet, TTL/hop limit 255, to the
# CARP group of the family, out of the given interface.
SEND_CARP = r"""
import socket, sys
family, dev = sys.argv[1], sys.argv[2]
payload = bytes([0x21, 1, 10, 1, 1, 0, 0, 0]) + bytes(28)
af = socket.AF_INET if family == '4' else socket.AF_INET6
s = socket.socket(af, socket.SOCK_RAW, 112)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, dev.encode())
if family == '4':
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 255)
    s.sendto(payload, ('224.0.0.18', 0))
else:
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 255)
    s.sendto(payload, ('ff02::12', 0, 0, socket.if_nametoindex(dev)))
"""

CARP_GROUP = {4: '224.0.0.18', 6: 'ff02::12'}


def send_carp(lab, node, dev, family):
    lab.run(node, [sys.executable, '-c', SEND_CARP, str(family), dev])


class Capture:
    """tcpdump -c 1 for a CARP packet of family on node's dev."""

    def __init__(self, lab, node, dev, family, log):
        self.lab, self.log = lab, log
        self.proc = lab.start(node, [
            'tcpdump', '-i', dev, '-n', '-l', '--immediate-mode', '-c', '1',
            'ip proto 112' if family == 4 else 'ip6 proto 112'], log=str(log))
        assert lab.wait_for(lambda: 'listening on' in log.read_text(), 5), \
            log.read_text()

    def got_it(self, timeout):
        """True if tcpdump saw its packet within timeout s; stops it."""
        if not self.lab.wait_for(lambda: self.proc.poll() is not None,
                                 timeout):
            self.lab.stop(self.proc)
            return False
        return self.proc.returncode == 0


@pytest.mark.parametrize('family', [4, 6])
def test_blocking_carp_multicast_drops_only_carp_frames(lab, tmp_path,
                                                        family):
    assert shutil.which('tcpdump'), 'tcpdump missing: run `make deps`'
    group = CARP_GROUP[family]
    # Unblocked: r2 sees r1's advert, nothing is dropped.
    cap = Capture(lab, 'r2', lab.dev, family, tmp_path / 'open.log')
    send_carp(lab, 'r1', lab.dev, family)
    assert cap.got_it(5), cap.log.read_text()
    assert group in cap.log.read_text()
    assert lab.carp_multicast_dropped() == 0

    lab.block_carp_multicast(True)
    lab.block_carp_multicast(True)        # idempotent
    cap = Capture(lab, 'r2', lab.dev, family, tmp_path / 'blocked.log')
    for _ in range(3):
        send_carp(lab, 'r1', lab.dev, family)
    assert lab.wait_for(lambda: lab.carp_multicast_dropped() == 3, 5), \
        lab.carp_multicast_dropped()
    assert not cap.got_it(1.0), cap.log.read_text()
    assert group not in cap.log.read_text()
    # Unicast, ARP and neighbour discovery still pass.
    assert ping(lab, 'r1', lab.ip['r2']).returncode == 0
    assert ping(lab, 'r1', lab.ip6['r2'], 6).returncode == 0
    assert ping(lab, 'c1', lab.ip6['r1'], 6).returncode == 0

    lab.block_carp_multicast(False)
    cap = Capture(lab, 'r2', lab.dev, family, tmp_path / 'reopened.log')
    send_carp(lab, 'r1', lab.dev, family)
    assert cap.got_it(5), cap.log.read_text()
    assert lab.carp_multicast_dropped() == 3, 'counter kept, not increased'


def test_blocking_carp_multicast_on_one_lan_leaves_the_other(lab2, tmp_path):
    lab2.block_carp_multicast(True, lan=1)
    cap = Capture(lab2, 'r2', 'lan0', 4, tmp_path / 'lan0.log')
    send_carp(lab2, 'r1', 'lan0', 4)
    assert cap.got_it(5), cap.log.read_text()
    cap = Capture(lab2, 'r2', 'lan1', 4, tmp_path / 'lan1.log')
    send_carp(lab2, 'r1', 'lan1', 4)
    assert lab2.wait_for(lambda: lab2.carp_multicast_dropped(lan=1) == 1, 5)
    assert not cap.got_it(1.0), cap.log.read_text()
    assert lab2.carp_multicast_dropped(lan=0) == 0


def test_stop_signals_a_started_process_and_returns_its_code(lab, tmp_path):
    log = tmp_path / 'out.log'
    proc = lab.start('r1', ['sh', '-c', 'echo started; exec sleep 30'],
                     log=str(log))
    assert lab.wait_for(lambda: 'started' in log.read_text(), 5)
    assert lab.stop(proc, timeout=5) == -signal.SIGTERM


@pytest.mark.parametrize('lans', [1, 2])
def test_teardown_removes_namespaces_and_processes_even_on_error(lans):
    with pytest.raises(ZeroDivisionError):
        with Lab(lans=lans) as lab:
            names = set(lab.ns.values())
            tracked = lab.start('r1', ['sleep', '60'])
            # Started behind the lab's back: only the namespace sweep
            # knows about it.
            untracked = subprocess.Popen(
                ['ip', 'netns', 'exec', lab.ns['r2'], 'sleep', '60'])
            assert names <= set(list_namespaces())
            1 / 0
    try:
        assert not names & set(list_namespaces())
        assert tracked.poll() is not None
        assert untracked.wait(5) == -signal.SIGKILL
    finally:
        if untracked.poll() is None:
            untracked.kill()
            untracked.wait()


def test_teardown_is_idempotent():
    lab = Lab()
    with lab:
        pass
    lab.close()
    lab.__exit__(None, None, None)


def dead_pid():
    """A PID that belonged to a process of ours which has exited."""
    proc = subprocess.Popen(['true'])
    proc.wait()
    return proc.pid


def test_cleanup_removes_only_stale_labs(lab):
    foreign = 'carplabtest-foreign-%d' % os.getpid()
    stale = 'carplab-%d-0-sw' % dead_pid()
    subprocess.run(['ip', 'netns', 'add', foreign], check=True)
    try:
        subprocess.run(['ip', 'netns', 'add', stale], check=True)
        res = subprocess.run([sys.executable, str(CARPLAB), 'cleanup'],
                             capture_output=True, text=True, timeout=60)
        assert res.returncode == 0, res.stderr
        names = set(list_namespaces())
        assert foreign in names, 'a namespace that is not ours'
        assert set(lab.ns.values()) <= names, 'a live lab (creator runs)'
        assert stale not in names, res.stdout
    finally:
        subprocess.run(['ip', 'netns', 'del', foreign])
        subprocess.run(['ip', 'netns', 'del', stale], capture_output=True)
