"""Transition hooks from a running carpd (through its launcher and the
carp-hooks worker) in the lab, on MicroPython and CPython. The hook is a
recording stand-in for OpenWrt's /sbin/hotplug-call, which cannot run here."""
import os
import signal
import time

import pytest

from board.lab.carpctl import Kernel, log_of, start_carp

INTERPRETERS = ["micropython", "cpython"]


def recorder(tmp_path, node, sleep_on_master=0):
    log = tmp_path / ("%s-hooks.log" % node)
    body = "#!/bin/sh\n"
    if sleep_on_master:
        body += '[ "$ACTION" = MASTER ] && sleep %d\n' % sleep_on_master
    body += 'echo "$ACTION|$PREVIOUS|$VHID|$INSTANCE|$DEVICE|$VIPS|$PEER|$REASON" >> %s\n' % log
    path = tmp_path / ("%s-hotplug-call" % node)
    path.write_text(body)
    os.chmod(str(path), 0o755)
    return str(path), log


def events(log):
    return [line.split("|") for line in log.read_text().splitlines()] if log.exists() else []


def start(lab, node, interpreter, skew, tmp_path, sleep_on_master=0):
    hotplug, log = recorder(tmp_path, node, sleep_on_master)
    return start_carp(lab, node, interpreter, skew, tmp_path, env={"CARP_HOTPLUG_CALL": hotplug}), log


@pytest.mark.parametrize("interpreter", INTERPRETERS)
def test_hooks_see_every_transition_in_order_with_its_context(lab, interpreter, tmp_path):
    with Kernel(lab) as kernel:
        r1, log1 = start(lab, "r1", interpreter, 0, tmp_path)
        r2, log2 = start(lab, "r2", interpreter, 100, tmp_path)
        assert kernel.wait_holders(["r1"], 6.0) is not None
        r1.send_signal(signal.SIGTERM)
        assert kernel.wait_holders(["r2"], 3.0) is not None
        assert r1.wait(5) == 0  # the launcher waits for the STOP hooks
        vips = "%s/%d" % (lab.vip, lab.prefix)
        got1 = events(log1)
        assert [e[0] for e in got1] == ["BACKUP", "MASTER", "STOP"], got1
        assert got1[0][1:7] == ["INIT", "1", "vhid1", "lan0", vips, ""]
        assert got1[1][1] == "BACKUP" and got1[1][7].startswith("master down")
        assert got1[2][1] == "MASTER" and got1[2][7] == "stopped"
        assert lab.wait_for(lambda: len(events(log2)) >= 2, 3.0)
        assert "dropped" not in log_of(r1) + log_of(r2)  # every event counted as delivered
        got2 = events(log2)
        assert [e[0] for e in got2] == ["BACKUP", "MASTER"], got2
        assert got2[1][6] == lab.ip["r1"] and got2[1][7] == "master bowed out (%s)" % lab.ip["r1"]


@pytest.mark.parametrize("interpreter", INTERPRETERS)
def test_a_slow_hook_never_delays_advertisements(lab, interpreter, tmp_path):
    with Kernel(lab) as kernel:
        # r1's MASTER hook hangs for 5 s, longer than r2's master-down time (3.39 s):
        # if it blocked the advertisement loop, r2 would take over.
        r1, log1 = start(lab, "r1", interpreter, 0, tmp_path, sleep_on_master=5)
        assert kernel.wait_holders(["r1"], 6.0) is not None
        r2, log2 = start(lab, "r2", interpreter, 100, tmp_path)
        assert kernel.steady_holders(["r1"], 6.0), log_of(r1) + log_of(r2)
        assert [e[0] for e in events(log2)] == ["BACKUP"]
        assert [e[0] for e in events(log1)] == ["BACKUP", "MASTER"]  # the slow one finished meanwhile
