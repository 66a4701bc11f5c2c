"""What carpd puts on the wire, decoded by independent tools: tcpdump -T carp,
tshark's CARP dissector, scapy's CARP layer (layout only: its HMAC helper is
wrong, docs/protocol.md 7) and the standard library's HMAC."""
import hashlib
import hmac
import signal
import socket
import subprocess
import time

import pytest

from board.lab.carpctl import PASSPHRASE, VHID, Kernel, log_of, start_carp
from tests.pcapfile import arp_frames, carp_packets
from tests.tools import command

INTERPRETERS = ["micropython", "cpython"]


def capture(lab, node, path):
    proc = lab.start(node, [command("tcpdump"), "-i", lab.dev, "--immediate-mode", "-U", "-n", "-w", path, "ip proto 112 or arp"],
                     log=path + ".log")
    assert lab.wait_for(lambda: "listening on" in open(path + ".log").read(), 5)
    return proc


@pytest.fixture(scope="module", params=INTERPRETERS)
def trace(request, tmp_path_factory):
    """One run: r1 alone becomes master, advertises, then is stopped (bow-out)."""
    from board.lab.carplab import Lab
    tmp = tmp_path_factory.mktemp("wire-" + request.param)
    pcap = str(tmp / "carp.pcap")
    with Lab() as lab:
        dump = capture(lab, "c1", pcap)
        with Kernel(lab) as kernel:
            carp = start_carp(lab, "r1", request.param, 0, tmp)
            assert kernel.wait_holders(["r1"], 6.0) is not None, log_of(carp)
            time.sleep(3.3)  # at least three more advertisements and the delayed ARP
            carp.send_signal(signal.SIGTERM)
            assert carp.wait(5) == 0
            time.sleep(0.3)
        lab.stop(dump, signal.SIGINT)
        yield lab, pcap


def test_tcpdump_decodes_valid_carp_with_good_checksums(trace):
    lab, pcap = trace
    out = subprocess.run([command("tcpdump"), "-n", "-v", "-T", "carp", "-r", pcap, "ip proto 112"],
                         capture_output=True, text=True).stdout
    lines = [l for l in out.splitlines() if "CARPv2-advertise 36" in l]
    assert len(lines) >= 4, out
    assert "bad carp cksum" not in out and "[ttl=" not in out
    steady = "vhid=%d advbase=1 advskew=0 authlen=7" % VHID
    assert all(steady in l for l in lines[:-1]), out
    assert "vhid=%d advbase=255 advskew=255 authlen=7" % VHID in lines[-1]  # the bow-out
    assert "ttl 255" in out and "224.0.0.18" in out


def test_tshark_carp_dissector_reports_good_checksums(trace):
    lab, pcap = trace
    r = subprocess.run([command("tshark"), "-r", pcap, "-o", "ip.try_heuristic_first:TRUE", "-Y", "carp",
                        "-T", "fields", "-e", "carp.version", "-e", "carp.vhid", "-e", "carp.authlen",
                        "-e", "carp.checksum.status"], capture_output=True, text=True)
    rows = [l.split("\t") for l in r.stdout.splitlines() if l.strip()]
    assert len(rows) >= 4, r.stdout + r.stderr
    assert all(row == ["2", str(VHID), "7", "1"] for row in rows), rows  # 1: checksum good


def test_scapy_parses_the_layout_and_agrees_on_the_checksum(trace):
    lab, pcap = trace
    from scapy.all import IP, rdpcap
    from scapy.contrib.carp import CARP
    n = 0
    for pkt in rdpcap(pcap):
        if IP in pkt and pkt[IP].proto == 112:
            carp = CARP(bytes(pkt[IP].payload))
            assert (carp.version, carp.type, carp.vhid, carp.authlen) == (2, 1, VHID, 7)
            rebuilt = carp.copy()
            rebuilt.chksum = None  # scapy recomputes it over the 36 bytes
            assert bytes(rebuilt) == bytes(carp)
            n += 1
    assert n >= 4


def test_ip_header_hmac_and_counter_as_the_bsds_send_them(trace):
    lab, pcap = trace
    packets = carp_packets(pcap)
    vip = socket.inet_aton(lab.vip)
    assert len(packets) >= 4
    for p in packets:
        assert (p.ttl, p.tos, p.df, p.total_length) == (255, 0x10, True, 56)
        assert p.src == socket.inet_aton(lab.ip["r1"]) and p.dst == socket.inet_aton("224.0.0.18")
        msg = bytes([2, 1, VHID]) + vip + p.carp[8:16]
        assert hmac.new(PASSPHRASE.encode(), msg, hashlib.sha1).digest() == p.carp[16:36]
    assert len({p.carp[8:16] for p in packets}) == 1  # constant per-vhid counter (OpenBSD)
    gaps = [b.ts - a.ts for a, b in zip(packets[:-2], packets[1:-1])]
    assert all(0.9 < g < 1.2 for g in gaps), gaps  # advbase 1


def test_gratuitous_arp_at_takeover_and_two_advertisements_later(trace):
    lab, pcap = trace
    vip = socket.inet_aton(lab.vip)
    mac = bytes.fromhex(lab.mac["r1"].replace(":", ""))
    garps = [(ts, f) for ts, f in arp_frames(pcap)
             if f[20:22] == b"\x00\x01" and f[28:32] == vip and f[38:42] == vip]
    assert len(garps) == 2, garps
    for _, f in garps:
        assert f[0:6] == b"\xff" * 6 and f[6:12] == mac and f[22:28] == mac
    first_advert = carp_packets(pcap)[0].ts
    assert abs(garps[0][0] - first_advert) < 0.1
    assert 1.8 < garps[1][0] - garps[0][0] < 2.3
