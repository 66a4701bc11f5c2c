"""The lab itself: wiring, cable pulls, teardown, stale-lab cleanup."""

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from carplab import Lab, list_namespaces

CARPLAB = Path(__file__).resolve().parents[2] / 'board' / 'lab' / 'carplab.py'


def link_state(lab, node):
    """(operstate, flags) of node's lan0, read inside node's namespace."""
    out = lab.run(node, ['ip', '-j', 'link', 'show', 'dev', lab.dev]).stdout
    link = json.loads(out)[0]
    return link['operstate'], set(link['flags'])


def test_every_node_reaches_every_other_by_ping(lab):
    assert shutil.which('ping'), 'ping missing: run `make deps`'
    for src in ('r1', 'r2', 'c1'):
        for dst in ('r1', 'r2', 'c1'):
            if src != dst:
                res = lab.run(src, ['ping', '-n', '-c', '1', '-W', '2',
                                    lab.ip[dst]], check=False)
                assert res.returncode == 0, (src, dst, res.stdout)


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


def test_stop_signals_a_started_process_and_returns_its_code(lab, tmp_path):
    log = tmp_path / 'out.log'
    proc = lab.start('r1', ['sh', '-c', 'echo started; exec sleep 30'],
                     log=str(log))
    assert lab.wait_for(lambda: 'started' in log.read_text(), 5)
    assert lab.stop(proc, timeout=5) == -signal.SIGTERM


def test_teardown_removes_namespaces_and_processes_even_on_error():
    with pytest.raises(ZeroDivisionError):
        with Lab() as lab:
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
