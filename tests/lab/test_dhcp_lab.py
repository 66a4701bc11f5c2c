"""DHCP across failover, failback, a router reboot and a split brain (issue 16): real
dnsmasq on r1 and r2 started and stopped by the package's hotplug.d/carp
recipe, leases replicated by `carpd leases`, busybox udhcpc clients.

The stand-ins (board/lab/dhcp_failover.py) are OpenWrt's /sbin/hotplug-call
(sources every hotplug.d file in a subshell, in order) and
/etc/init.d/dnsmasq (starts dnsmasq with the options OpenWrt's init script
writes for authoritative '1', the lan pool and dhcp_option 3 and 6 = VIP;
stop returns once dnsmasq is gone; one call at a time, as procd takes one
request at a time). Everything asserted is the clients' own
view (their udhcpc script's events and addresses) and the lease files as
dnsmasq wrote them. About 5 minutes: each scenario but the split brain
waits for every client to renew with the router now serving (2-minute
leases, dnsmasq's shortest)."""
from board.lab import dhcp_failover as dhcp
from tests.tools import INTERPRETERS

VIP = "10.99.0.254"


def test_clients_keep_their_addresses_across_failover_failback_reboot_and_split_brain(lab, tmp_path):
    d, reports = dhcp.run(lab, tmp_path, INTERPRETERS["micropython"](), say=print)
    print(dhcp.table(reports))
    first = {name: c.ip() for name, c in d.clients.items()}
    # Five clients, five different addresses, each from the pool.
    assert len(set(first.values())) == 5 and all(ip.startswith("10.99.0.1") for ip in first.values()), first
    for report in reports:
        assert report["shared_addresses"] == [], report["scenario"]
        for name, c in report["clients"].items():
            where = "%s %s" % (report["scenario"], name)
            assert c["address_changes"] == [], where
            assert c["deconfigs"] == 0, where
            assert c["without_lease_s"] == 0, where
            if c["servers"]:  # it got a lease in this scenario: gateway and DNS are the VIP
                assert c["routers_dns"] == ["%s/%s" % (VIP, VIP)], where
    # The router serving after each event renewed every client, as the
    # clients saw it (option 54 of the ACKs); its lease file binds each
    # client to the address the client holds.
    serving = {"failover": "r2", "failback": "r1", "reboot": "r1"}
    for report in reports:
        if report["scenario"] not in serving:
            continue
        router = serving[report["scenario"]]
        for name, c in report["clients"].items():
            assert lab.ip[router] in c["servers"], (report["scenario"], name, c)
            assert report["leases"][router][d.clients[name].mac] == c["ip"], (report["scenario"], name)
    # The rebooted r1 became master while r2's files were lost on the way:
    # its `carpd leases` held DHCP (no dnsmasq, cli4 unanswered) until they
    # were let through, then started dnsmasq with every lease.
    reboot = [r for r in reports if r["scenario"] == "reboot"][0]
    assert reboot["while_held"] == {"cli4_bound": False, "r1_dnsmasq_running": False}, reboot
    assert "the peers' leases are in" in (tmp_path / "r1" / "leases.log").read_text()
    # Whichever master gave cli5 its lease during the split brain, both
    # routers' files hold it, and r1 serves it after the heal.
    split = reports[-1]
    assert split["scenario"] == "split brain"
    for router in ("r1", "r2"):
        assert split["leases"][router][d.clients["cli5"].mac] == first["cli5"], router
    # The clients' interfaces hold exactly the address they leased.
    for name, c in d.clients.items():
        assert d.client_addresses(name) == [first[name]], name
    # One DHCP server at the end: the master's (r2's BACKUP hook may still
    # be stopping its dnsmasq right after the heal).
    assert lab.wait_for(lambda: d.dnsmasq_running("r1") and not d.dnsmasq_running("r2"), 5.0)
