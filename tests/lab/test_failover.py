"""carpd on two routers of the lab, on MicroPython and on CPython: election,
carrier loss, return with preempt, SIGTERM bow-out, crash leftovers.
Who holds the VIP is read with pyroute2, never from our own logs."""
import signal
import time

import pytest

from board.lab.carpctl import Kernel, log_of, ping, start_carp

INTERPRETERS = ["micropython", "cpython"]
ELECTION = 3.0 + 3  # master down of the preferred router, plus slack


@pytest.fixture
def kernel(lab):
    with Kernel(lab) as k:
        yield k


def elect(lab, kernel, interpreter, tmp_path):
    r1 = start_carp(lab, "r1", interpreter, 0, tmp_path)
    r2 = start_carp(lab, "r2", interpreter, 100, tmp_path)
    assert kernel.wait_holders(["r1"], ELECTION) is not None, log_of(r1) + log_of(r2)
    return r1, r2


@pytest.mark.parametrize("interpreter", INTERPRETERS)
def test_cold_start_ends_with_exactly_one_vip_holder(lab, kernel, interpreter, tmp_path):
    r1, r2 = elect(lab, kernel, interpreter, tmp_path)
    assert kernel.steady_holders(["r1"], 3.0), log_of(r1) + log_of(r2)
    assert ping(lab, "c1", lab.vip)
    assert kernel.neighbour_mac("c1", lab.vip) == lab.mac["r1"]
    assert "BACKUP -> MASTER" in log_of(r1)
    assert "-> MASTER" not in log_of(r2)


@pytest.mark.parametrize("interpreter", INTERPRETERS)
def test_master_link_down_backup_serves_the_client_and_master_returns(lab, kernel, interpreter, tmp_path):
    r1, r2 = elect(lab, kernel, interpreter, tmp_path)
    lab.cable("r1", False)
    # r1 releases on carrier loss; r2 waits its master-down time (3.39 s)
    took = kernel.wait_holders(["r2"], 3.39 + 3)
    assert took is not None, log_of(r1) + log_of(r2)
    assert took > 2.0  # r2 really waited for the master-down timer
    assert ping(lab, "c1", lab.vip)
    assert kernel.neighbour_mac("c1", lab.vip) == lab.mac["r2"]  # gratuitous ARP moved the client
    assert "carrier down" in log_of(r1) and "MASTER -> INIT (link down)" in log_of(r1)

    lab.cable("r1", True)
    back = kernel.wait_holders(["r1"], 3.0)  # preempt: on r2's next advertisement
    assert back is not None, log_of(r1) + log_of(r2)
    assert ping(lab, "c1", lab.vip)
    assert kernel.neighbour_mac("c1", lab.vip) == lab.mac["r1"]
    assert "preempt" in log_of(r1)


@pytest.mark.parametrize("interpreter", INTERPRETERS)
def test_sigterm_of_master_bows_out_and_backup_takes_over_at_once(lab, kernel, interpreter, tmp_path):
    r1, r2 = elect(lab, kernel, interpreter, tmp_path)
    time.sleep(0.5)
    start = time.monotonic()
    r1.send_signal(signal.SIGTERM)
    took = kernel.wait_holders(["r2"], 3.0)
    assert took is not None, log_of(r1) + log_of(r2)
    assert took < 1.0  # well under one interval; the master-down timer would need 3.39 s
    assert r1.wait(5) == 0
    assert time.monotonic() - start < 1.5
    assert "MASTER -> INIT (stopped)" in log_of(r1)
    assert "BACKUP -> MASTER (master bowed out (%s))" % lab.ip["r1"] in log_of(r2)
    assert ping(lab, "c1", lab.vip)


@pytest.mark.parametrize("interpreter", INTERPRETERS)
def test_daemon_and_hook_worker_never_outlive_a_killed_launcher(lab, kernel, interpreter, tmp_path):
    r1, r2 = elect(lab, kernel, interpreter, tmp_path)
    children = lab.run("r1", ["pgrep", "-P", str(r1.pid)]).stdout.split()
    commands = [open("/proc/%s/cmdline" % pid, "rb").read() for pid in children]
    assert len(children) == 2  # the daemon and the hook worker
    assert any(b"-m\0carp" in c for c in commands) and any(b"carp-hooks" in c for c in commands)
    r1.send_signal(signal.SIGKILL)  # procd's last resort
    assert kernel.wait_holders(["r2"], 3.0) is not None  # the daemon saw the FIFO close and bowed out

    def gone():
        return all(lab.run("r1", ["kill", "-0", pid], check=False).returncode != 0 for pid in children)
    assert lab.wait_for(gone, 3)


@pytest.mark.parametrize("interpreter", INTERPRETERS)
def test_a_vip_left_by_a_crashed_run_is_removed_at_start(lab, kernel, interpreter, tmp_path):
    lab.run("r2", ["ip", "addr", "add", "%s/%d" % (lab.vip, lab.prefix), "dev", lab.dev])
    assert kernel.holders() == ["r2"]
    r2 = start_carp(lab, "r2", interpreter, 100, tmp_path)
    assert lab.wait_for(lambda: kernel.holders() == [], 2.0), log_of(r2)
    assert "left on lan0 by an earlier run" in log_of(r2)
    # alone, it becomes master after its master-down time and adds it back
    assert kernel.wait_holders(["r2"], 6.0) is not None
