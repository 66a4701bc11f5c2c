"""carpd configured by UCI in the lab, on MicroPython and CPython: several
vhids on two LANs, IPv6 VIPs, unicast peers on a LAN that drops CARP
multicast, hitless reload, and the status file and command.
Who holds a VIP is read with pyroute2, never from our own logs."""
import json
import signal
import subprocess
import threading
import time

import pytest

from board.lab.carpctl import PASSPHRASE, Kernel, log_of, ping, ping6, start_carp_uci
from tests.tools import CARPD, INTERPRETERS as COMMANDS

INTERPRETERS = ["micropython", "cpython"]


def lan_section(lab, i, skew, vhid=None, with_v6=True, **extra):
    lan = lab.lan(i)
    addresses = ["%s/%d" % (lan.vip, lan.prefix)]
    if with_v6:
        addresses.append("%s/%d" % (lan.vip6, lan.prefix6))
    options = [("device", lan.dev), ("vhid", vhid or i + 1), ("password", PASSPHRASE),
               ("advbase", 1), ("advskew", skew), ("preempt", 1), ("address", addresses)]
    options += list(extra.items())
    return options


def two_lans(lab, skew, guest_group=None):
    extra = {"group": guest_group} if guest_group else {}
    return [("lan", lan_section(lab, 0, skew)),
            ("guest", lan_section(lab, 1, skew, with_v6=False, **extra))]


def start_pair(lab, interpreter, tmp_path, guest_group=None):
    """r1 (preferred) and r2 with the LAN and guest vhids."""
    return (start_carp_uci(lab, "r1", interpreter, tmp_path, two_lans(lab, 0, guest_group)),
            start_carp_uci(lab, "r2", interpreter, tmp_path, two_lans(lab, 100, guest_group)))


def pull_guest_cable(lab, kernel, interpreter, tmp_path, guest_group=None):
    """r1 masters both vhids, then loses the guest LAN's cable (only that
    one), and r2 takes the guest VIP."""
    r1, r2 = start_pair(lab, interpreter, tmp_path, guest_group)
    guest = lab.lan(1).vip
    for vip in (lab.vip, lab.vip6, guest):
        assert kernel.wait_holders(["r1"], 6.0, vip) is not None, log_of(r1) + log_of(r2)
    lab.cable("r1", False, lan=1)
    assert kernel.wait_holders(["r2"], 6.0, guest) is not None, log_of(r1) + log_of(r2)
    return r1, r2


def transitions(proc):
    return [l for l in log_of(proc).splitlines() if " -> " in l]


@pytest.mark.parametrize("interpreter", INTERPRETERS)
def test_two_vhids_in_two_groups_fail_over_independently(lab2, interpreter, tmp_path):
    lab = lab2
    with Kernel(lab) as kernel:
        r1, r2 = pull_guest_cable(lab, kernel, interpreter, tmp_path, "guest")
        guest = lab.lan(1).vip
        # the LAN vhid is in another demotion group: it stays where it is
        assert kernel.steady_holders(["r1"], 1.5), log_of(r1) + log_of(r2)
        assert ping(lab, "c1", guest) and ping(lab, "c1", lab.vip)
        doc = json.loads(r1.status_file.read_text())
        states = dict((v["name"], v["state"]) for v in doc["vhids"])
        assert states == {"lan": "MASTER", "guest": "INIT"}
        assert PASSPHRASE not in r1.status_file.read_text()


@pytest.mark.parametrize("interpreter", INTERPRETERS)
def test_two_vhids_in_one_group_fail_over_together(lab2, interpreter, tmp_path):
    lab = lab2
    with Kernel(lab) as kernel:
        r1, r2 = pull_guest_cable(lab, kernel, interpreter, tmp_path)
        guest = lab.lan(1).vip
        # same (default) group: r1's LAN vhid is demoted and hands over too,
        # so the LAN and the guest LAN keep one gateway router
        assert kernel.wait_holders(["r2"], 3.0) is not None, log_of(r1) + log_of(r2)
        assert ping(lab, "c1", guest) and ping(lab, "c1", lab.vip)
        doc = json.loads(r1.status_file.read_text())
        states = dict((v["name"], v["state"]) for v in doc["vhids"])
        assert states == {"lan": "BACKUP", "guest": "INIT"}
        lab.cable("r1", True, lan=1)  # the cable back: r1 preempts both again
        assert kernel.wait_holders(["r1"], 8.0, guest) is not None, log_of(r1) + log_of(r2)
        assert kernel.wait_holders(["r1"], 8.0) is not None, log_of(r1) + log_of(r2)


@pytest.mark.parametrize("interpreter", INTERPRETERS)
def test_ipv6_vip_failover_seen_by_the_client(lab2, interpreter, tmp_path):
    lab = lab2
    with Kernel(lab) as kernel:
        r1, r2 = start_pair(lab, interpreter, tmp_path)
        assert kernel.wait_holders(["r1"], 6.0, lab.vip6) is not None, log_of(r1) + log_of(r2)
        assert ping6(lab, "c1", lab.vip6)
        assert kernel.neighbour_mac("c1", lab.vip6) == lab.mac["r1"]
        lab.cable("r1", False)
        assert kernel.wait_holders(["r2"], 6.0, lab.vip6) is not None, log_of(r1) + log_of(r2)
        assert ping6(lab, "c1", lab.vip6)
        # the unsolicited neighbour advertisement (Override) moved the client
        assert kernel.neighbour_mac("c1", lab.vip6) == lab.mac["r2"]


@pytest.mark.parametrize("interpreter", INTERPRETERS)
def test_unicast_peers_work_where_carp_multicast_is_dropped(lab, interpreter, tmp_path):
    lab.block_carp_multicast(True)
    with Kernel(lab) as kernel:
        sections = {  # unicast in both families
            "r1": [("lan", lan_section(lab, 0, 0, peer=[lab.ip["r2"], lab.ip6["r2"]]))],
            "r2": [("lan", lan_section(lab, 0, 100, peer=[lab.ip["r1"], lab.ip6["r1"]]))],
        }
        r1 = start_carp_uci(lab, "r1", interpreter, tmp_path, sections["r1"])
        r2 = start_carp_uci(lab, "r2", interpreter, tmp_path, sections["r2"])
        assert kernel.wait_holders(["r1"], 6.0) is not None, log_of(r1) + log_of(r2)
        assert kernel.steady_holders(["r1"], 3.0), log_of(r1) + log_of(r2)
        assert kernel.holders(lab.vip6) == ["r1"]
        r1.send_signal(signal.SIGTERM)
        took = kernel.wait_holders(["r2"], 3.0)
        assert took is not None and took < 1.0, log_of(r2)  # unicast bow-out
        assert "master bowed out" in log_of(r2)
    assert lab.carp_multicast_dropped() == 0  # nothing was sent to the groups


@pytest.mark.parametrize("interpreter", INTERPRETERS[:1])
def test_without_peers_the_multicast_block_really_splits_the_routers(lab, interpreter, tmp_path):
    """The control for the test above: the blocked LAN does split multicast CARP."""
    lab.block_carp_multicast(True)
    with Kernel(lab) as kernel:
        start_carp_uci(lab, "r1", interpreter, tmp_path, [("lan", lan_section(lab, 0, 0))])
        start_carp_uci(lab, "r2", interpreter, tmp_path, [("lan", lan_section(lab, 0, 100))])
        assert kernel.wait_holders(["r1", "r2"], 8.0) is not None
    assert lab.carp_multicast_dropped() > 0


class Pinger:
    """c1 pings an address every 20 ms in the background; counts the replies."""

    def __init__(self, lab, addr, seconds):
        count = int(seconds / 0.02)
        self.proc = subprocess.Popen(["ip", "netns", "exec", lab.ns["c1"], "ping", "-n", "-i", "0.02",
                                      "-c", str(count), "-W", "1", addr],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.count = count

    def result(self):
        out, _ = self.proc.communicate(timeout=60)
        received = int(out.split(" received")[0].rsplit(" ", 1)[-1])
        return self.count - received, out


@pytest.mark.parametrize("interpreter", INTERPRETERS)
def test_reload_keeps_unchanged_vhids_without_transition_or_loss(lab2, interpreter, tmp_path):
    lab = lab2
    with Kernel(lab) as kernel:
        r1, r2 = start_pair(lab, interpreter, tmp_path)
        assert kernel.wait_holders(["r1"], 6.0) is not None, log_of(r1) + log_of(r2)
        assert kernel.wait_holders(["r1"], 2.0, lab.lan(1).vip) is not None
        time.sleep(1.0)
        before = transitions(r1)
        pinger = Pinger(lab, lab.vip, 3.0)
        time.sleep(0.5)
        # same vhids, a comment and a renamed section: nothing to restart
        text = r1.conf.read_text().replace("config vhid 'guest'", "# edited\nconfig vhid 'guests'")
        r1.conf.write_text(text)
        r1.send_signal(signal.SIGHUP)  # procd's reload
        assert lab.wait_for(lambda: "reloaded: 2 kept, 0 stopped, 0 started" in log_of(r1), 3.0), log_of(r1)
        lost, out = pinger.result()
        assert lost == 0, out
        assert transitions(r1) == before
        assert kernel.holders() == ["r1"] and kernel.holders(lab.lan(1).vip) == ["r1"]

        # a changed vhid restarts; a removed one bows out and releases
        sections = [("lan", lan_section(lab, 0, 0))]
        from board.lab.carpctl import uci_text
        r1.conf.write_text(uci_text(sections))
        r1.send_signal(signal.SIGHUP)
        assert lab.wait_for(lambda: "reloaded: 1 kept, 1 stopped, 0 started" in log_of(r1), 3.0), log_of(r1)
        assert kernel.wait_holders(["r2"], 2.0, lab.lan(1).vip) is not None  # bow-out on the guest LAN
        assert kernel.holders() == ["r1"]


@pytest.mark.parametrize("interpreter", INTERPRETERS)
def test_a_bad_config_on_reload_changes_nothing(lab, interpreter, tmp_path):
    with Kernel(lab) as kernel:
        r1 = start_carp_uci(lab, "r1", interpreter, tmp_path, [("lan", lan_section(lab, 0, 0))])
        assert kernel.wait_holders(["r1"], 6.0) is not None, log_of(r1)
        r1.conf.write_text(r1.conf.read_text().replace("option advskew '0'", "option advskew '300'"))
        r1.send_signal(signal.SIGHUP)
        assert lab.wait_for(lambda: "reload refused" in log_of(r1), 3.0), log_of(r1)
        assert "carp.lan.advskew: '300'" in log_of(r1)
        assert kernel.steady_holders(["r1"], 1.5)


@pytest.mark.parametrize("interpreter", INTERPRETERS)
def test_status_file_and_command(lab2, interpreter, tmp_path):
    lab = lab2
    with Kernel(lab) as kernel:
        r1, r2 = start_pair(lab, interpreter, tmp_path)
        assert kernel.wait_holders(["r1"], 6.0) is not None
        time.sleep(2.5)  # a few advertisements, and periodic rewrites
        doc1 = json.loads(r2.status_file.read_text())
        time.sleep(1.5)
        doc2 = json.loads(r2.status_file.read_text())
        assert doc2["updated"] > doc1["updated"]  # rewritten every status_interval
        lan = [v for v in doc2["vhids"] if v["name"] == "lan"][0]
        assert lan["state"] == "BACKUP" and lan["master"] == lab.ip["r1"]
        assert lan["seen"]["advskew"] == 0 and lan["advskew"] == 100
        assert lan["rx"] >= 4 and lan["reason"] == "start"
        assert sorted(lan["addresses"]) == sorted(["%s/24" % lab.vip, "%s/64" % lab.vip6])
        env = {"CARP_PYTHON": COMMANDS[interpreter]()}
        table = lab.run("r2", ["env", "CARP_PYTHON=%s" % env["CARP_PYTHON"], CARPD, "status", "-f",
                               str(r2.status_file)]).stdout
        header, rows = table.splitlines()[0], table.splitlines()[1:3]
        assert header.split()[:4] == ["NAME", "DEVICE", "VHID", "STATE"]
        assert any(r.split()[:4] == ["lan", "lan0", "1", "BACKUP"] for r in rows), table
        as_json = lab.run("r2", ["env", "CARP_PYTHON=%s" % env["CARP_PYTHON"], CARPD, "status", "--json",
                                 "-f", str(r2.status_file)]).stdout
        assert json.loads(as_json)["vhids"][0]["vhid"] in (1, 2)
        memory = doc2["memory"]  # MicroPython's live heap; the OS tells CPython's
        if interpreter == "micropython":
            assert 4096 < memory["heap_used"] < memory["heap_size"], memory
            assert "heap: " in table
        else:
            assert memory is None and "heap: " not in table
        for path in (r1.status_file, r2.status_file):
            assert PASSPHRASE not in path.read_text()
        assert PASSPHRASE not in log_of(r1) + log_of(r2)
