"""A client offered an address by the master that then dies (issue 16):
real dnsmasq on r1 and r2 started and stopped by the package's
hotplug.d/carp recipe, leases replicated by `carpd leases`, busybox udhcpc
clients.

r1 (master) answers cli3's DISCOVER with an OFFER; the switch drops cli3's
DHCPREQUEST (a bridge nftables rule on its port matching DHCP message type
3), and r1's cable is pulled before anything answers it. That is what the
client sees when the master dies between OFFER and REQUEST: an OFFER no one
will ACK, from a server identifier that is gone. Then the rule goes, so
cli3's REQUEST retries, still naming r1, reach r2. cli4 joins while r2
takes over. cli1 (firewalled: dnsmasq's ping check cannot see it), cli3 and
cli4 all hash onto the same address, so only the lease files keep them
apart. Finally r1's cable goes back and r1 preempts.

What busybox udhcpc 1.35 does then (seen in the logs): r2's authoritative
dnsmasq NAKs the REQUEST naming r1 ("wrong server-ID"), udhcpc ignores a NAK
from another server, gives up after its third REQUEST (leasefail) and
discovers again 20 s later (-A), when r2 offers it a free address. So cli3
waits about 35 s for its first lease; it never holds the address r1 offered
unless r2 gives it that one. About 50 s in all.

Stand-ins (board/lab/dhcp_failover.py): OpenWrt's /sbin/hotplug-call and
/etc/init.d/dnsmasq, as in test_dhcp_lab.py. Everything asserted is the
clients' own view (their udhcpc script's events), the interfaces' addresses,
dnsmasq's own log (its OFFER) and the lease files as dnsmasq wrote them."""
from board.lab import dhcp_failover as dhcp
from tests.tools import INTERPRETERS

VIP = "10.99.0.254"


def test_a_client_offered_an_address_by_a_master_that_dies_ends_with_one_address_of_its_own(lab, tmp_path):
    d, report = dhcp.run_offer_then_die(lab, tmp_path, INTERPRETERS["micropython"](), say=print)
    print(dhcp.table([report]))
    print(report["steps"], report["offered_by_r1"], report["requests_dropped"])
    # r1 offered cli3 an address and cli3's REQUEST was lost on its way.
    assert len(report["offered_by_r1"]) >= 1 and report["requests_dropped"] >= 1, report
    clients = report["clients"]
    cli3 = d.clients["cli3"]
    bound = [e for e in cli3.events() if e[1] in ("bound", "renew")]
    # cli3 configured exactly one address, from r2 (the OFFER alone never
    # configures a client), with the VIP as gateway and DNS.
    assert len({e[2] for e in bound}) == 1, bound
    assert {e[4] for e in bound} == {lab.ip["r2"]}, bound
    assert clients["cli3"]["address_changes"] == [] and clients["cli3"]["deconfigs"] == 0, clients["cli3"]
    for name in ("cli1", "cli3", "cli4"):
        assert clients[name]["routers_dns"] == ["%s/%s" % (VIP, VIP)], (name, clients[name])
        assert clients[name]["address_changes"] == [], (name, clients[name])
        assert clients[name]["deconfigs"] == 0, (name, clients[name])
        assert d.client_addresses(name) == [clients[name]["ip"]], name
    # No address held by two clients, by the clients' logs and by each lease file.
    assert report["shared_addresses"] == [], report["shared_addresses"]
    ips = {name: c["ip"] for name, c in clients.items()}
    assert len(set(ips.values())) == 3, ips
    for router in ("r1", "r2"):
        held = report["leases"][router]
        assert len(set(held.values())) == len(held), (router, held)
        for name in ("cli1", "cli3", "cli4"):
            assert held[d.clients[name].mac] == ips[name], (router, name, held)
    # One DHCP server at the end: the master's.
    assert lab.wait_for(lambda: d.dnsmasq_running("r1") and not d.dnsmasq_running("r2"), 5.0)
