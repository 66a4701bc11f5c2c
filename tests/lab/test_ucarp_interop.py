"""Interop with the real ucarp 1.5.2 (Debian) in the lab, both directions.
ucarp's up/down scripts add and remove the VIP, as its users configure it."""
import signal
import time

import pytest

from board.lab.carpctl import Kernel, log_of, ping, start_carp, start_ucarp

INTERPRETERS = ["micropython", "cpython"]


@pytest.fixture
def kernel(lab):
    with Kernel(lab) as k:
        yield k


@pytest.mark.parametrize("interpreter", INTERPRETERS)
def test_ucarp_master_and_carp_backup(lab, kernel, interpreter, tmp_path):
    uc = start_ucarp(lab, "r1", 0, tmp_path)
    assert kernel.wait_holders(["r1"], 6.0) is not None, log_of(uc)
    carp = start_carp(lab, "r2", interpreter, 100, tmp_path)
    # carp accepts ucarp's advertisements (HMAC, checksum, TTL) and stays backup
    assert kernel.steady_holders(["r1"], 6.0), log_of(carp)
    assert "INIT -> BACKUP" in log_of(carp) and "-> MASTER" not in log_of(carp)
    uc.send_signal(signal.SIGKILL)  # ucarp sends no leaving packet: carp waits master down
    killed = time.monotonic()
    lab.run("r1", ["ip", "addr", "del", "%s/%d" % (lab.vip, lab.prefix), "dev", lab.dev], check=False)
    assert kernel.wait_holders(["r2"], 6.0) is not None, log_of(carp)
    assert time.monotonic() - killed > 2.0
    # the VIP is added before the transition is logged: give the line a moment
    assert lab.wait_for(lambda: "BACKUP -> MASTER (master down" in log_of(carp), 2.0), log_of(carp)
    assert ping(lab, "c1", lab.vip)
    assert kernel.neighbour_mac("c1", lab.vip) == lab.mac["r2"]


@pytest.mark.parametrize("interpreter", INTERPRETERS)
def test_carp_master_and_ucarp_backup_then_bow_out(lab, kernel, interpreter, tmp_path):
    carp = start_carp(lab, "r1", interpreter, 0, tmp_path)
    assert kernel.wait_holders(["r1"], 6.0) is not None, log_of(carp)
    uc = start_ucarp(lab, "r2", 100, tmp_path, preempt=False)  # so only the bow-out can make it take over
    # ucarp verifies our HMAC: if it did not, it would go MASTER after 3.4 s
    assert kernel.steady_holders(["r1"], 10.0), log_of(uc)
    uc_log = log_of(uc)
    assert "MASTER" not in uc_log.split("Switching to state: BACKUP", 1)[-1], uc_log
    assert "Bad digest" not in uc_log
    start = time.monotonic()
    carp.send_signal(signal.SIGTERM)
    took = kernel.wait_holders(["r2"], 5.0)
    assert took is not None, log_of(carp) + log_of(uc)
    assert took < 2.0  # ucarp's master-down would take 3.39 s; the bow-out is faster
    assert carp.wait(5) == 0 and time.monotonic() - start < 5
    # ucarp's reaction to a 255/255 advertisement; it logs it after running
    # its up script, so the VIP can be seen moved a few ms before the line
    assert lab.wait_for(lambda: "going to time out" in log_of(uc), 5.0), log_of(uc)
    assert ping(lab, "c1", lab.vip)
