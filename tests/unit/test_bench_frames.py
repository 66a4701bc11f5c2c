"""The benchmark's flood frames are what they claim to be: checked by our
own decoder and, independently, by scapy (VRRP checksums, IP header)."""
import socket

import pytest

from board.bench import flood
from carp import wire

SRC, VIP, PASS = "10.99.0.100", "10.99.0.254", "bench-secret"
MAC = bytes.fromhex("020000000064")


def frame(kind):
    return flood.ip_frame(MAC, SRC, flood.payload(kind, SRC, VIP, PASS))


@pytest.mark.parametrize("kind,vhid,advskew,mac_ok", [
    ("carp-other", 2, 0, True), ("carp-lesser", 1, 200, True), ("carp-badhmac", 1, 0, False)])
def test_carp_frames(kind, vhid, advskew, mac_ok):
    data = frame(kind)
    assert data[:6] == bytes.fromhex("01005e000012") and data[12:14] == b"\x08\x00"
    assert wire.checksum(data, 14, 20) == 0              # IP header checksum
    assert data[14 + 8] == 255 and data[14 + 9] == 112   # TTL, protocol
    ad = wire.Advert(data, 34)
    assert (ad.version, ad.type, ad.vhid, ad.advskew, ad.advbase) == (2, 1, vhid, advskew, 1)
    assert ad.checksum_ok
    prefix = wire.mac_prefix(vhid, [socket.inet_aton(VIP)], [])
    assert ad.mac_valid(wire.HmacSha1(PASS.encode()), prefix) is mac_ok


@pytest.mark.parametrize("version", [2, 3])
@pytest.mark.parametrize("what,vrid,priority,good", [
    ("other", 2, 250, True), ("lesser", 1, 50, True), ("badhmac", 1, 250, False)])
def test_vrrp_frames_checked_by_scapy(version, what, vrid, priority, good):
    scapy = pytest.importorskip("scapy.all")
    from scapy.layers.vrrp import VRRP, VRRPv3
    layer_type = VRRP if version == 2 else VRRPv3
    data = frame("vrrp%d-%s" % (version, what))
    # Dissected explicitly: another test may have bound IP protocol 112 to
    # scapy's CARP layer, which would then win over VRRP.
    ip = scapy.IP(data[14:34])
    layer = layer_type(data[34:], _underlayer=ip)  # VRRPv3 reads its addresses' family from IP
    assert (ip.ttl, ip.proto, ip.dst) == (255, 112, "224.0.0.18")
    assert (layer.vrid, layer.priority, layer.addrlist) == (vrid, priority, [VIP])
    # scapy computes the checksum itself (VRRPv3's over the IP pseudo-header)
    again = layer_type(data[34:], _underlayer=ip)
    again.chksum = None
    recomputed = layer_type(bytes(ip / again)[20:], _underlayer=ip).chksum
    assert (recomputed == layer.chksum) is good


def test_unknown_kinds_are_refused():
    with pytest.raises(SystemExit):
        flood.payload("carp-nonsense", SRC, VIP, PASS)
    with pytest.raises(SystemExit):
        flood.payload("isis-other", SRC, VIP, PASS)


def test_a_varied_flood_never_repeats_a_packet_and_none_of_them_is_valid():
    """carp-varied defeats a receiver's remembered verdicts: every packet is
    new, each a well-formed advertisement (checksum right) with a wrong MAC."""
    payloads = flood.payloads("carp-varied", SRC, VIP, PASS)
    assert len(payloads) == len(set(payloads)) == flood.VARIANTS
    key = wire.HmacSha1(PASS.encode())
    prefix = wire.mac_prefix(1, [socket.inet_aton(VIP)], [])
    for p in payloads[:64] + payloads[-64:]:
        ad = wire.Advert(p)
        assert ad.checksum_ok and (ad.vhid, ad.advskew) == (1, 0)
        assert not ad.mac_valid(key, prefix)
    for version in (2, 3):
        vrrp = flood.payloads("vrrp%d-varied" % version, SRC, VIP, PASS)
        bad = flood.payload("vrrp%d-badhmac" % version, SRC, VIP, PASS)
        right = (int.from_bytes(bad[6:8], "big") ^ 0x5555).to_bytes(2, "big")  # as vrrp() spoils it
        assert len(set(vrrp)) == flood.VARIANTS
        assert all(p[:6] == bad[:6] and p[8:] == bad[8:] and p[6:8] != right for p in vrrp)
