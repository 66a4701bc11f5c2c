"""carpd leases: dnsmasq lease-file merge rules and the signed datagram."""
import pytest

from carp import leasesync, uciconfig, uci, wire
from carp.leasesync import merge, pack, parse, render, unpack

NOW = 1_800_000_000
A = "%d 02:00:00:00:01:01 10.0.0.120 laptop 01:02:00:00:00:01:01" % (NOW + 100)
B = "%d 02:00:00:00:01:02 10.0.0.121 * *" % (NOW + 100)


def leases(*lines):
    return parse("".join(line + "\n" for line in lines))[0]


def test_lease_file_round_trip_keeps_other_lines():
    text = "duid 00:01:00:01:2c:7e\n" + A + "\n" + B + "\n"
    got, others = parse(text)
    assert sorted(got) == ["10.0.0.120", "10.0.0.121"] and others == ["duid 00:01:00:01:2c:7e"]
    assert render(got, others) == A + "\n" + B + "\n" + "duid 00:01:00:01:2c:7e\n"


def test_merge_adds_unknown_and_drops_expired():
    expired = "%d 02:00:00:00:01:09 10.0.0.129 * *" % (NOW - 1)
    merged, learned = merge(leases(A), leases(B, expired), NOW)
    assert sorted(merged) == ["10.0.0.120", "10.0.0.121"] and learned


def test_merge_keeps_the_longer_lease_for_an_address_or_a_client():
    longer = "%d 02:00:00:00:01:07 10.0.0.120 * *" % (NOW + 500)  # same address, other client
    merged, learned = merge(leases(A), leases(longer), NOW)
    assert merged["10.0.0.120"][1] == "02:00:00:00:01:07" and learned
    moved = "%d 02:00:00:00:01:02 10.0.0.125 * *" % (NOW + 50)  # same client elsewhere, shorter
    merged, learned = merge(leases(B), leases(moved), NOW)
    assert sorted(merged) == ["10.0.0.121"] and not learned


def test_merge_only_a_longer_expiry_is_not_learning_a_binding():
    renewed = A.replace(str(NOW + 100), str(NOW + 200), 1)
    merged, learned = merge(leases(A), leases(renewed), NOW)
    assert merged["10.0.0.120"][0] == NOW + 200 and not learned


def test_merge_does_not_bring_back_a_released_lease():
    released = {("10.0.0.120", "02:00:00:00:01:01"): NOW + 100}
    merged, learned = merge({}, leases(A), NOW, released)
    assert merged == {} and not learned


def test_split_brain_both_views_converge():
    r1, r2 = leases(A), leases(B)
    r1_after, _ = merge(r1, r2, NOW)
    r2_after, _ = merge(r2, r1, NOW)
    assert r1_after == r2_after and leasesync.lacks(r2, r1_after)


def test_datagram_is_signed_and_carries_relative_expiry():
    key = wire.HmacSha1(b"secret")
    data = pack(key, leasesync.SERVING, 7, NOW, 42, 3, leases(A))
    # the receiver's clock is 10 s ahead: the lease still has 100 s left
    flags, nonce, seq, got = unpack(key, 7, data, NOW + 10)
    assert (flags, nonce, seq) == (leasesync.SERVING, 42, 3)
    assert got["10.0.0.120"][0] == NOW + 110
    assert unpack(wire.HmacSha1(b"other"), 7, data, NOW) is None
    assert unpack(key, 8, data, NOW) is None
    tampered = bytearray(data)
    tampered[leasesync.HEADER_LEN + 2] ^= 1
    assert unpack(key, 7, bytes(tampered), NOW) is None


def _vhid(extra):
    text = ("config vhid 'lan'\n\toption device 'br-lan'\n\toption vhid '1'\n"
            "\tlist address '192.168.1.254/24'\n" + extra)
    return uciconfig.from_sections(uci.parse(text))


def test_uci_lease_sync_needs_dnsmasq():
    with pytest.raises(uciconfig.ConfigErrors) as e:
        _vhid("\tlist lease_sync '192.168.1.2'\n")
    assert "carp.lan.lease_sync: '192.168.1.2' is not valid: only with `option dnsmasq '1'`" in str(e.value)
    _, vhids = _vhid("\toption dnsmasq '1'\n\tlist lease_sync '192.168.1.2'\n")
    assert vhids[0].lease_sync == [b"\xc0\xa8\x01\x02"]


def test_uci_lease_sync_takes_ipv4_addresses_only():
    with pytest.raises(uciconfig.ConfigErrors) as e:
        _vhid("\toption dnsmasq '1'\n\tlist lease_sync 'fd00::2'\n")
    assert "carp.lan.lease_sync: 'fd00::2' is not valid: an IPv4 address" in str(e.value)


def test_micropython_merges_and_signs_exactly_as_cpython():
    import os
    import subprocess
    import sys
    from tools import FIRMWARE, ROOT, command
    script = os.path.join(ROOT, "tests", "mp", "check_leasesync.py")
    outputs = []
    for interpreter, env in ((command("micropython"), {"MICROPYPATH": FIRMWARE}),
                             (sys.executable, {"PYTHONPATH": FIRMWARE})):
        r = subprocess.run([interpreter, script], env=dict(os.environ, **env), capture_output=True, text=True,
                           timeout=60)
        assert r.returncode == 0 and r.stdout.endswith("ALL OK\n"), r.stdout + r.stderr
        outputs.append(r.stdout)
    assert outputs[0] == outputs[1]
