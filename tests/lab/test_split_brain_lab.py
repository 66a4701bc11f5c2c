"""Split brains and preemption seen through the hooks, in the lab, on
MicroPython and CPython (issue 13): a master that keeps its role against
another master runs no hooks and reports it once, and an ordinary preemption
is not reported as a split brain at all. The hook is the recording stand-in
for /sbin/hotplug-call of test_hooks_lab."""
import time

import pytest

from board.lab.carpctl import Kernel, log_of, start_carp
from tests.lab.test_hooks_lab import events, start

INTERPRETERS = ["micropython", "cpython"]


def deaf_to(lab, node, sender):
    """node's kernel drops CARP from sender before any raw socket sees it
    (netfilter input runs before raw delivery): a one-way partition."""
    table = ["nft", "add", "table", "inet", "carplab13"]
    chain = ["nft", "add", "chain", "inet", "carplab13", "in", "{ type filter hook input priority 0; }"]
    rule = ["nft", "add", "rule", "inet", "carplab13", "in", "ip", "saddr", lab.ip[sender], "ip", "protocol",
            "112", "drop"]
    for argv in (table, chain, rule):
        lab.run(node, argv)


@pytest.mark.parametrize("interpreter", INTERPRETERS)
def test_a_third_advertiser_at_equal_priority_runs_no_hooks_and_is_reported_once(lab, interpreter, tmp_path):
    with Kernel(lab) as kernel:
        r1, hooks1 = start(lab, "r1", interpreter, 0, tmp_path)
        assert kernel.wait_holders(["r1"], 6.0) is not None, log_of(r1)
        # c1 is a third router with r1's timing and a higher address (r1 wins
        # the tie), which never hears r1 and so stays master, advertising.
        deaf_to(lab, "c1", "r1")
        c1 = start_carp(lab, "c1", interpreter, 0, tmp_path)
        assert lab.wait_for(lambda: "-> MASTER" in log_of(c1), 6.0), log_of(c1)
        time.sleep(5.0)  # five of c1's advertisements, each one answered
        assert kernel.holders() == ["r1"]
        assert [e[0] for e in events(hooks1)] == ["BACKUP", "MASTER"], events(hooks1)
        assert log_of(r1).count("split brain: %s was master too" % lab.ip["c1"]) == 1, log_of(r1)


@pytest.mark.parametrize("interpreter", INTERPRETERS)
def test_preempting_after_the_cable_is_back_is_no_split_brain(lab, interpreter, tmp_path):
    with Kernel(lab) as kernel:
        r1, hooks1 = start(lab, "r1", interpreter, 0, tmp_path)
        r2, hooks2 = start(lab, "r2", interpreter, 100, tmp_path)
        assert kernel.wait_holders(["r1"], 6.0) is not None, log_of(r1)
        lab.cable("r1", False)
        assert kernel.wait_holders(["r2"], 6.0) is not None, log_of(r2)
        lab.cable("r1", True)
        assert kernel.wait_holders(["r1"], 4.0) is not None, log_of(r1)
        time.sleep(1.5)  # r2's last advertisement has long arrived
        assert "preempt" in log_of(r1)
        assert "split brain" not in log_of(r1) + log_of(r2), log_of(r1) + log_of(r2)
        assert [e[0] for e in events(hooks1)] == ["BACKUP", "MASTER", "INIT", "BACKUP", "MASTER"], events(hooks1)
        assert [e[0] for e in events(hooks2)] == ["BACKUP", "MASTER", "BACKUP"], events(hooks2)
