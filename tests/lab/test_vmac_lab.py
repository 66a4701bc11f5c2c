"""Virtual MAC (--vmac / option vmac) in the lab, on both interpreters.

The client's view is read with pyroute2 and captures on the switch, never
from carpd's logs. The switch drops gratuitous ARP with nftables where a test
says so: the clients that ignore it, or a switch that loses it."""
import json
import os
import signal
import subprocess
import time

import pytest

from board.lab.carpctl import (PASSPHRASE, VHID, Kernel, log_of, ping, ping6, start_carp, start_carp_uci, start_ucarp,
                     uci_text)
from tests.tools import CARPD, FIRMWARE, command
from tests.tools import INTERPRETERS as TOOLS

INTERPRETERS = ["micropython", "cpython"]
VMAC = "00:00:5e:00:01:%02x" % VHID
ELECTION = 3.0 + 3
TAKEOVER = 3.4 + 3  # the backup's master down (advskew 100), plus slack


@pytest.fixture
def kernel(lab):
    with Kernel(lab) as k:
        yield k


def links(lab, node):
    return lab.run(node, ["ip", "-o", "link", "show"]).stdout


def vmac_links(lab, node):
    return [line for line in links(lab, node).splitlines() if VMAC in line]


def elect(lab, kernel, interpreter, tmp_path, vmac=True):
    extra = ["--vmac"] if vmac else []
    r1 = start_carp(lab, "r1", interpreter, 0, tmp_path, extra=extra)
    r2 = start_carp(lab, "r2", interpreter, 100, tmp_path, extra=extra)
    assert kernel.wait_holders(["r1"], ELECTION) is not None, log_of(r1) + log_of(r2)
    return r1, r2


def capture(lab, tmp_path, name, port_of):
    """tcpdump on one router's switch port (frames it sent and received)."""
    path = str(tmp_path / name)
    proc = lab.start("sw", [command("tcpdump"), "-i", lab.port(port_of), "-Q", "in", "--immediate-mode", "-U",
                            "-n", "-e", "-w", path])
    time.sleep(1.0)  # tcpdump is listening
    return proc, path


def read_capture(path, expression=""):
    out = subprocess.run([command("tcpdump"), "-n", "-e", "-r", path] + ([expression] if expression else []),
                         capture_output=True, text=True)
    return out.stdout


@pytest.mark.parametrize("interpreter", INTERPRETERS)
def test_client_keeps_the_virtual_mac_across_cable_pull_failback_and_bow_out(lab, kernel, interpreter, tmp_path):
    r1, r2 = elect(lab, kernel, interpreter, tmp_path)
    assert ping(lab, "c1", lab.vip)
    assert kernel.neighbour_mac("c1", lab.vip) == VMAC
    assert "UP" not in vmac_links(lab, "r2")[0].split(">")[0]  # the backup's macvlan is down
    lab.cable("r1", False)
    assert kernel.wait_holders(["r2"], TAKEOVER) is not None, log_of(r2)
    assert ping(lab, "c1", lab.vip)
    assert kernel.neighbour_mac("c1", lab.vip) == VMAC
    lab.cable("r1", True)  # r1 preempts: failback
    assert kernel.wait_holders(["r1"], ELECTION) is not None, log_of(r1)
    assert ping(lab, "c1", lab.vip)
    assert kernel.neighbour_mac("c1", lab.vip) == VMAC
    lab.stop(r1)  # bow-out
    assert kernel.wait_holders(["r2"], 3.0) is not None, log_of(r2)
    assert ping(lab, "c1", lab.vip)
    assert kernel.neighbour_mac("c1", lab.vip) == VMAC
    assert vmac_links(lab, "r1") == []  # stop removes the macvlan
    lab.stop(r2)
    assert vmac_links(lab, "r2") == []


@pytest.mark.parametrize("vmac", [True, False], ids=["vmac", "no-vmac"])
@pytest.mark.parametrize("interpreter", INTERPRETERS)
def test_without_gratuitous_arp_only_the_virtual_mac_keeps_the_client_reaching_the_vip(
        lab, kernel, interpreter, vmac, tmp_path):
    lab.block_gratuitous_arp(True, [lab.vip])
    r1, r2 = elect(lab, kernel, interpreter, tmp_path, vmac)
    assert ping(lab, "c1", lab.vip)  # the client's entry is fresh (REACHABLE for 15..45 s)
    lab.cable("r1", False)
    assert kernel.wait_holders(["r2"], TAKEOVER) is not None, log_of(r2)
    # Within the next 2 s: with vmac the old entry is still right; without,
    # the client keeps sending to r1's MAC (its entry stays REACHABLE).
    assert ping(lab, "c1", lab.vip, count=2, interval="0.5") == vmac
    assert kernel.neighbour_mac("c1", lab.vip) == (VMAC if vmac else lab.mac["r1"])


@pytest.mark.parametrize("interpreter", INTERPRETERS)
def test_the_backup_never_answers_arp_for_the_vip_nor_sends_from_the_virtual_mac(lab, kernel, interpreter, tmp_path):
    r1, r2 = elect(lab, kernel, interpreter, tmp_path)
    cap2, path2 = capture(lab, tmp_path, "r2.pcap", "r2")
    cap1, path1 = capture(lab, tmp_path, "r1.pcap", "r1")
    for _ in range(3):  # fresh ARP requests, each answered (or not) anew
        lab.run("c1", ["ip", "neigh", "flush", "dev", lab.dev])
        assert ping(lab, "c1", lab.vip, count=1)
    lab.run("c1", ["ip", "-6", "neigh", "flush", "dev", lab.dev])
    time.sleep(1.0)
    lab.stop(cap1, sig=signal.SIGINT)
    lab.stop(cap2, sig=signal.SIGINT)
    from_r2 = read_capture(path2)
    assert from_r2.strip(), "nothing captured from r2"
    assert read_capture(path2, "ether src %s" % VMAC) == ""
    assert read_capture(path2, "arp[6:2] = 2") == ""  # no ARP reply at all from the backup
    # The master answers, only from the virtual MAC, and advertises from it too.
    replies = read_capture(path1, "arp[6:2] = 2").splitlines()
    assert replies and all(line.split()[1] == VMAC for line in replies), replies
    adverts = read_capture(path1, "ip proto 112").splitlines()
    assert adverts and all(line.split()[1] == VMAC for line in adverts), adverts


@pytest.mark.parametrize("interpreter", INTERPRETERS)
def test_a_crashed_runs_macvlan_is_replaced_at_start(lab, kernel, interpreter, tmp_path):
    r1 = start_carp(lab, "r1", interpreter, 0, tmp_path, extra=["--vmac"])
    assert kernel.wait_holders(["r1"], ELECTION) is not None, log_of(r1)
    os.killpg(r1.pid, signal.SIGKILL)  # launcher and worker (one session, ours) die without cleaning up
    r1.wait(5)
    assert len(vmac_links(lab, "r1")) == 1
    r1 = start_carp(lab, "r1", interpreter, 0, tmp_path, extra=["--vmac"])
    assert kernel.wait_holders(["r1"], ELECTION) is not None, log_of(r1)
    assert len(vmac_links(lab, "r1")) == 1
    assert ping(lab, "c1", lab.vip)
    assert kernel.neighbour_mac("c1", lab.vip) == VMAC
    lab.stop(r1)
    assert vmac_links(lab, "r1") == []


def vmac_section(lab, skew, vmac):
    return [("device", lab.dev), ("vhid", VHID), ("password", PASSPHRASE), ("advbase", 1), ("advskew", skew),
            ("preempt", 1), ("vmac", vmac),
            ("address", ["%s/%d" % (lab.vip, lab.prefix), "%s/%d" % (lab.vip6, lab.prefix6)])]


def vmac_link_local(lab, node):
    out = lab.run(node, ["ip", "-6", "-o", "addr", "show", "scope", "link"]).stdout
    return [line.split()[3] for line in out.splitlines() if line.split()[1].startswith("vmac")]


@pytest.mark.parametrize("interpreter", INTERPRETERS)
def test_ipv6_neighbour_entry_keeps_the_virtual_mac_and_the_link_local_derives_from_it(
        lab, kernel, interpreter, tmp_path):
    r1 = start_carp_uci(lab, "r1", interpreter, tmp_path, [("lan", vmac_section(lab, 0, 1))])
    r2 = start_carp_uci(lab, "r2", interpreter, tmp_path, [("lan", vmac_section(lab, 100, 1))])
    assert kernel.wait_holders(["r1"], ELECTION, lab.vip6) is not None, log_of(r1) + log_of(r2)
    assert ping6(lab, "c1", lab.vip6)
    assert kernel.neighbour_mac("c1", lab.vip6) == VMAC
    assert vmac_link_local(lab, "r1") == ["fe80::200:5eff:fe00:%x/64" % (0x100 + VHID)]
    status = json.loads(r1.status_file.read_text())
    assert [v["vmac"] for v in status["vhids"]] == [VMAC]
    lab.cable("r1", False)
    assert kernel.wait_holders(["r2"], TAKEOVER, lab.vip6) is not None, log_of(r2)
    assert ping6(lab, "c1", lab.vip6)
    assert kernel.neighbour_mac("c1", lab.vip6) == VMAC


@pytest.mark.parametrize("interpreter", INTERPRETERS)
def test_reload_turns_the_virtual_mac_on_and_off(lab, kernel, interpreter, tmp_path):
    r1 = start_carp_uci(lab, "r1", interpreter, tmp_path, [("lan", vmac_section(lab, 0, 0))])
    assert kernel.wait_holders(["r1"], ELECTION) is not None, log_of(r1)
    assert ping(lab, "c1", lab.vip) and kernel.neighbour_mac("c1", lab.vip) == lab.mac["r1"]
    for vmac, mac in ((1, VMAC), (0, lab.mac["r1"])):
        r1.conf.write_text(uci_text([("lan", vmac_section(lab, 0, vmac))]))
        r1.send_signal(signal.SIGHUP)
        assert lab.wait_for(lambda: "reloaded: 0 kept, 1 stopped, 1 started" in log_of(r1), 3.0), log_of(r1)
        assert kernel.wait_holders(["r1"], ELECTION) is not None, log_of(r1)
        assert len(vmac_links(lab, "r1")) == vmac
        # the gratuitous ARP of the takeover updates the client's entry
        assert lab.wait_for(lambda: kernel.neighbour_mac("c1", lab.vip) == mac, 2.0), kernel.neighbour_mac(
            "c1", lab.vip)
        assert ping(lab, "c1", lab.vip)
        open(r1.log_path, "w").close()  # the next round's log check sees its own reload only
    lab.stop(r1)


@pytest.mark.parametrize("interpreter", INTERPRETERS)
def test_hooks_see_the_virtual_mac_and_its_device(lab, kernel, interpreter, tmp_path):
    log = tmp_path / "hooks.log"
    hotplug = tmp_path / "hotplug-call"  # stand-in for /sbin/hotplug-call: records the environment it gets
    hotplug.write_text('#!/bin/sh\necho "$ACTION|$VMAC|$VMAC_DEVICE" >> %s\n' % log)
    os.chmod(str(hotplug), 0o755)
    r1 = start_carp(lab, "r1", interpreter, 0, tmp_path, extra=["--vmac"], env={"CARP_HOTPLUG_CALL": str(hotplug)})
    assert kernel.wait_holders(["r1"], ELECTION) is not None, log_of(r1)
    [device] = [line.split(":")[1].strip().split("@")[0] for line in vmac_links(lab, "r1")]
    assert lab.wait_for(lambda: log.exists() and "MASTER" in log.read_text(), 3.0)
    assert "MASTER|%s|%s" % (VMAC, device) in log.read_text().splitlines()


@pytest.mark.parametrize("interpreter", INTERPRETERS)
def test_ucarp_backup_accepts_advertisements_from_the_virtual_mac_and_takes_over(lab, kernel, interpreter, tmp_path):
    carp = start_carp(lab, "r1", interpreter, 0, tmp_path, extra=["--vmac"])
    assert kernel.wait_holders(["r1"], ELECTION) is not None, log_of(carp)
    uc = start_ucarp(lab, "r2", 100, tmp_path, preempt=False)
    # ucarp reads CARP with pcap and never looks at the source MAC: it stays backup
    assert kernel.steady_holders(["r1"], 6.0), log_of(uc)
    assert ping(lab, "c1", lab.vip) and kernel.neighbour_mac("c1", lab.vip) == VMAC
    lab.stop(carp)  # bow-out
    assert kernel.wait_holders(["r2"], 3.0) is not None, log_of(uc)
    # ucarp has no virtual MAC: its gratuitous ARP moves the client to r2's own MAC
    assert lab.wait_for(lambda: kernel.neighbour_mac("c1", lab.vip) == lab.mac["r2"], 3.0)
    assert ping(lab, "c1", lab.vip)
    assert vmac_links(lab, "r1") == []


@pytest.mark.parametrize("interpreter", INTERPRETERS)
def test_carp_vmac_backup_follows_ucarp_and_takes_over_with_the_virtual_mac(lab, kernel, interpreter, tmp_path):
    uc = start_ucarp(lab, "r1", 0, tmp_path)
    assert kernel.wait_holders(["r1"], ELECTION) is not None, log_of(uc)
    carp = start_carp(lab, "r2", interpreter, 100, tmp_path, extra=["--vmac"])
    assert kernel.steady_holders(["r1"], 6.0), log_of(carp)
    assert ping(lab, "c1", lab.vip) and kernel.neighbour_mac("c1", lab.vip) == lab.mac["r1"]
    uc.send_signal(signal.SIGKILL)  # ucarp sends nothing when killed: carp waits master down
    lab.run("r1", ["ip", "addr", "del", "%s/%d" % (lab.vip, lab.prefix), "dev", lab.dev], check=False)
    assert kernel.wait_holders(["r2"], TAKEOVER) is not None, log_of(carp)
    # carp's gratuitous ARP from the virtual MAC moves the client's existing entry
    assert lab.wait_for(lambda: kernel.neighbour_mac("c1", lab.vip) == VMAC, 3.0), kernel.neighbour_mac("c1", lab.vip)
    assert ping(lab, "c1", lab.vip)


@pytest.mark.parametrize("vlan", [False, True], ids=["bridge", "bridge-over-vlan"])
@pytest.mark.parametrize("interpreter", INTERPRETERS)
def test_on_br_lan_and_over_a_vlan_device(lab, kernel, interpreter, vlan, tmp_path):
    """br-lan on the routers, over lan0 or over lan0.10 (OpenWrt's swconfig
    layout, the client then on lan0.10 too): the macvlan sits on the bridge."""
    net = {"r1": "10.98.0.1", "r2": "10.98.0.2", "c1": "10.98.0.100"}
    vip = "10.98.0.254"
    for node, ip in net.items():
        port = lab.dev
        if vlan:
            made = lab.run(node, ["ip", "link", "add", "link", lab.dev, "name", "lan0.10", "type", "vlan", "id", "10"],
                           check=False)
            if made.returncode != 0:
                pytest.skip("this kernel has no 802.1Q VLAN devices (8021q): %s" % made.stderr.strip())
            port = "lan0.10"
            lab.run(node, ["ip", "link", "set", port, "up"])
        dev = port
        if node != "c1":
            lab.run(node, ["ip", "link", "add", "br-lan", "type", "bridge", "stp_state", "0", "forward_delay", "0"])
            lab.run(node, ["ip", "link", "set", port, "master", "br-lan"])
            lab.run(node, ["ip", "link", "set", "br-lan", "up"])
            dev = "br-lan"
        lab.run(node, ["ip", "addr", "add", ip + "/24", "dev", dev])
    procs = {}
    for node, skew in (("r1", 0), ("r2", 100)):
        log = str(tmp_path / ("%s-carp.log" % node))
        argv = [CARPD, "-i", "br-lan", "-s", net[node], "-v", str(VHID), "-p", PASSPHRASE, "-a", vip + "/24",
                "-b", "1", "-k", str(skew), "-P", "--vmac"]
        procs[node] = lab.start(node, argv, env={"CARP_PYTHON": TOOLS[interpreter]()}, log=log)
        procs[node].log_path = log
    assert kernel.wait_holders(["r1"], ELECTION, vip) is not None, log_of(procs["r1"]) + log_of(procs["r2"])
    assert ping(lab, "c1", vip) and kernel.neighbour_mac("c1", vip) == VMAC
    lab.cable("r1", False)
    assert kernel.wait_holders(["r2"], TAKEOVER, vip) is not None, log_of(procs["r2"])
    assert ping(lab, "c1", vip) and kernel.neighbour_mac("c1", vip) == VMAC
    for proc in procs.values():
        lab.stop(proc)
    assert vmac_links(lab, "r1") == [] and vmac_links(lab, "r2") == []


REFUSE = """
from carp import cli, daemon, vmac
vmac.KIND = b"carp-test-no-such-kind"
cfg = cli.build_config(cli.parse_args(["-i", "lan0", "-s", "%s", "-v", "1", "-p", "x", "-a", "%s/24", "--vmac"]))
try:
    daemon.Daemon([cfg])
except daemon.Fatal as e:
    print("FATAL", e)
"""


@pytest.mark.parametrize("interpreter", INTERPRETERS)
def test_a_kernel_without_macvlan_is_refused_naming_kmod_macvlan(lab, interpreter, tmp_path):
    """The real kernel asked for a link type it has no driver for answers as
    one without kmod-macvlan answers a macvlan request (EOPNOTSUPP)."""
    script = tmp_path / "refuse.py"
    script.write_text(REFUSE % (lab.ip["r1"], lab.vip))
    out = lab.start("r1", [TOOLS[interpreter](), str(script)], env={"MICROPYPATH": FIRMWARE, "PYTHONPATH": FIRMWARE})
    stdout = out.communicate(timeout=20)[0].decode()
    assert "FATAL --vmac: this kernel has no macvlan devices: install kmod-macvlan" in stdout, stdout
    assert vmac_links(lab, "r1") == []


@pytest.mark.parametrize("interpreter", INTERPRETERS)
def test_the_parents_arp_sysctls_return_when_the_last_macvlan_goes(lab, kernel, interpreter, tmp_path):
    def parent(key):
        return lab.run("r1", ["sysctl", "-n", "net.ipv4.conf.%s.%s" % (lab.dev, key)]).stdout.strip()
    before = (parent("arp_ignore"), parent("arp_announce"))
    two = [("lan", vmac_section(lab, 0, 1)),
           ("second", [("device", lab.dev), ("vhid", 2), ("password", PASSPHRASE), ("vmac", 1),
                       ("address", "10.99.0.253/24")])]
    r1 = start_carp_uci(lab, "r1", interpreter, tmp_path, two)
    assert lab.wait_for(lambda: len(links(lab, "r1").split("vmac")) == 3, 5.0), log_of(r1)
    assert (parent("arp_ignore"), parent("arp_announce")) == ("1", "2")
    r1.conf.write_text(uci_text(two[1:]))  # one vmac vhid left
    r1.send_signal(signal.SIGHUP)
    assert lab.wait_for(lambda: "reloaded: 1 kept, 1 stopped, 0 started" in log_of(r1), 3.0), log_of(r1)
    assert (parent("arp_ignore"), parent("arp_announce")) == ("1", "2")
    lab.stop(r1)
    assert (parent("arp_ignore"), parent("arp_announce")) == before
