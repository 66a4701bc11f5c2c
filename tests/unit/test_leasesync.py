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
    from tests.tools import FIRMWARE, ROOT, command
    script = os.path.join(ROOT, "tests", "mp", "check_leasesync.py")
    outputs = []
    for interpreter, env in ((command("micropython"), {"MICROPYPATH": FIRMWARE}),
                             (sys.executable, {"PYTHONPATH": FIRMWARE})):
        r = subprocess.run([interpreter, script], env=dict(os.environ, **env), capture_output=True, text=True,
                           timeout=60)
        assert r.returncode == 0 and r.stdout.endswith("ALL OK\n"), r.stdout + r.stderr
        outputs.append(r.stdout)
    assert outputs[0] == outputs[1]


def test_datagrams_are_received_whole_one_at_a_time_and_on_a_fragmented_micropython_heap(tmp_path):
    import os
    import socket
    import subprocess
    import sys
    from tests.tools import FIRMWARE, ROOT, command
    script = os.path.join(ROOT, "tests", "mp", "check_leasesync_receive.py")
    outputs = []
    for interpreter, flags, env in ((command("micropython"), ["-X", "heapsize=320K"], {"MICROPYPATH": FIRMWARE}),
                                    (sys.executable, [], {"PYTHONPATH": FIRMWARE})):
        probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
        probe.close()
        r = subprocess.run([interpreter] + flags + [script, str(tmp_path), str(port)], env=dict(os.environ, **env),
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0 and r.stdout.endswith("ALL OK\n"), r.stdout + r.stderr
        outputs.append(r.stdout)
    assert outputs[0] == outputs[1] == (
        "two queued, two received: ['10.0.0.120', '10.0.0.121']\n"
        "from 127.0.0.1 only, whole datagrams only: ['10.0.0.120', '10.0.0.121']\n"
        "queue empty\nALL OK\n")


def test_the_datagram_states_its_length_and_a_wrong_one_is_refused():
    import struct
    from carp import leasefile
    key = wire.HmacSha1(b"secret")
    data = pack(key, 0, 1, 1800000000, 1, 1, leases(_lease("02:00:00:00:00:01", "10.0.0.120")))
    assert (data[6] << 8 | data[7]) == len(data)  # what the receiver reads exactly (MicroPython's readinto)

    def signed(length):  # the same datagram stating another length, signed again
        message = bytearray(data[:-wire.MAC_LEN])
        struct.pack_into(">H", message, 6, length)
        return bytes(message) + key.digest(leasefile.HMAC_LABEL, bytes(message))
    assert unpack(key, 1, signed(len(data)), 1800000000) is not None
    assert unpack(key, 1, signed(0), 1800000000) is not None  # from a release that did not state it
    assert unpack(key, 1, signed(len(data) + 1), 1800000000) is None
    assert unpack(key, 1, signed(len(data) - 1), 1800000000) is None


# --- one replicator on the loopback, fed datagrams by the test -------------

class Router:
    """A Replicator whose peer is 127.0.0.1 (the test's own socket), its
    status file saying `state`, and an init.d/dnsmasq that records calls."""

    def __init__(self, tmp_path, state, hold=False):
        import json
        import os
        import socket
        from carp import config
        self.tmp = tmp_path
        self.status = tmp_path / "status.json"
        self.set_state(state)
        initd = tmp_path / "init.d"
        initd.mkdir()
        self.calls = tmp_path / "calls"
        (initd / "dnsmasq").write_text("#!/bin/sh\necho \"$1\" >> %s\n" % self.calls)
        os.chmod(str(initd / "dnsmasq"), 0o755)
        self.leasefile = tmp_path / "dhcp.leases"
        probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        probe.bind(("127.0.0.1", 0))
        self.port = probe.getsockname()[1]
        probe.close()
        cfg = config.VhidConfig("lan", "lo", 1, b"secret", [], lease_sync=[b"\x7f\x00\x00\x01"])
        self.hold_file = tmp_path / "run" / "leases.hold"
        self.logged = []
        self.r = leasesync.Replicator(cfg, str(self.status), str(self.leasefile), str(initd), self.port,
                                      log=self.logged.append, hold_file=str(self.hold_file) if hold else None)
        # What it sends goes to a socket of the test's, not back to itself.
        self.sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sink.bind(("127.0.0.1", 0))
        self.r.peers["127.0.0.1"] = self.sink.getsockname()
        self.json = json

    def set_state(self, state):
        from carp import status
        status.write(str(self.status), {"vhids": [{"name": "lan", "state": state}]})  # by rename, as carpd

    def feed(self, datagram):
        import socket
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.sendto(datagram, ("127.0.0.1", self.port))
        s.close()
        self.r.receive()

    def calls_made(self):
        return self.calls.read_text().split() if self.calls.exists() else []

    def sent(self):
        """The flags of every datagram the replicator sent the test's socket since the last look."""
        import select
        flags = []
        while select.select([self.sink], [], [], 0)[0]:
            flags.append(self.sink.recv(70000)[4])
        return flags


def _datagram(lines, seq, nonce=1, key=b"secret", now=None):
    import time
    now = int(time.time()) if now is None else now
    return pack(wire.HmacSha1(key), 0, 1, now, nonce, seq, leases(*lines))


def _lease(mac, ip, left=600):
    import time
    return "%d %s %s * *" % (int(time.time()) + left, mac, ip)


def test_a_backup_writes_what_it_is_sent_and_refuses_forgeries_and_replays(tmp_path):
    router = Router(tmp_path, "BACKUP")
    router.r.tick()
    router.feed(_datagram([_lease("02:00:00:00:00:01", "10.0.0.120")], seq=1, key=b"wrong"))
    assert not router.leasefile.exists()
    router.feed(_datagram([_lease("02:00:00:00:00:01", "10.0.0.120")], seq=5))
    assert sorted(parse(router.leasefile.read_text())[0]) == ["10.0.0.120"]
    router.feed(_datagram([_lease("02:00:00:00:00:02", "10.0.0.121")], seq=5))  # replayed sequence
    assert sorted(parse(router.leasefile.read_text())[0]) == ["10.0.0.120"]
    router.feed(_datagram([_lease("02:00:00:00:00:02", "10.0.0.121")], seq=6))
    assert sorted(parse(router.leasefile.read_text())[0]) == ["10.0.0.120", "10.0.0.121"]
    assert router.calls_made() == []  # a backup's dnsmasq is stopped: nothing to restart


def test_a_master_restarts_dnsmasq_only_for_a_lease_it_did_not_know(tmp_path):
    router = Router(tmp_path, "MASTER")
    router.leasefile.write_text(_lease("02:00:00:00:00:01", "10.0.0.120") + "\n")
    router.r.tick()
    router.feed(_datagram([_lease("02:00:00:00:00:01", "10.0.0.120", left=900)], seq=1))
    assert router.calls_made() == []  # only a longer lease: the running dnsmasq has the address
    router.feed(_datagram([_lease("02:00:00:00:00:02", "10.0.0.121")], seq=2))
    assert router.calls_made() == ["stop", "start"]
    assert sorted(parse(router.leasefile.read_text())[0]) == ["10.0.0.120", "10.0.0.121"]
    router.set_state("BACKUP")  # carpd's state is looked at afresh: a backup writes the file, dnsmasq stays
    router.feed(_datagram([_lease("02:00:00:00:00:03", "10.0.0.122")], seq=3))  # stopped (by its hook)
    assert router.calls_made() == ["stop", "start"]
    assert sorted(parse(router.leasefile.read_text())[0]) == ["10.0.0.120", "10.0.0.121", "10.0.0.122"]


def test_a_master_that_became_backup_while_restarting_dnsmasq_leaves_it_stopped(tmp_path):
    router = Router(tmp_path, "MASTER")
    router.r.tick()
    initd = tmp_path / "init.d" / "dnsmasq"
    # The BACKUP transition lands while dnsmasq starts: carpd wrote its status, then its hook stopped dnsmasq.
    initd.write_text('#!/bin/sh\necho "$1" >> %s\n[ "$1" = start ] && echo \'{"vhids": [{"name": "lan", '
                     '"state": "BACKUP"}]}\' > %s\n' % (router.calls, router.status))
    router.feed(_datagram([_lease("02:00:00:00:00:02", "10.0.0.121")], seq=1))
    assert router.calls_made() == ["stop", "start", "stop"]


def test_a_starting_replicator_holds_dhcp_until_the_peer_has_sent_its_leases(tmp_path):
    # A router that rebooted (empty /tmp) and preempted at once served with
    # an empty lease file and gave a newcomer an address a client of the
    # other router held (seen in the DHCP lab's reboot scenario).
    import os
    router = Router(tmp_path, "MASTER", hold=True)
    router.r.hold()
    assert router.hold_file.read_text() == "%d\n" % os.getpid()  # the hook's kill -0 looks at it
    assert router.calls_made() == ["stop"]  # carpd became MASTER first: its dnsmasq did not know the leases
    router.r.tick()
    assert router.sent() == [leasesync.WANT_REPLY | leasesync.SERVING]
    router.feed(_datagram([_lease("02:00:00:00:00:01", "10.0.0.120")], seq=1))
    assert sorted(parse(router.leasefile.read_text())[0]) == ["10.0.0.120"]
    assert router.calls_made() == ["stop", "stop", "start"]  # written while stopped, then started once
    assert not router.hold_file.exists() and not router.r.holding
    assert router.logged[-1] == "the peers' leases are in (1 in the file): DHCP may serve"


def test_a_hold_asks_again_and_ends_after_hold_s_without_an_answer(tmp_path):
    router = Router(tmp_path, "BACKUP", hold=True)
    router.r.hold()
    assert router.calls_made() == []  # a backup's dnsmasq is stopped already
    router.r.tick()
    router.r.last_sent -= leasesync.ASK_GAP  # a second later: the first ask was lost
    router.r.tick()
    assert router.sent() == [leasesync.WANT_REPLY, leasesync.WANT_REPLY]
    router.r.tick()
    assert router.sent() == [] and router.r.holding
    router.r.hold_until -= leasesync.HOLD_S
    router.set_state("MASTER")  # the hook saw the hold and stopped dnsmasq: the replicator starts it
    router.r.tick()
    assert not router.hold_file.exists() and not router.r.holding
    assert router.logged[-1] == "no file from 127.0.0.1 in 5 s: dnsmasq serves the leases this router has"
    assert router.calls_made() == ["start"]
    router.r.tick()
    assert router.sent() == [leasesync.WANT_REPLY | leasesync.SERVING]  # a new master asks for the files


def test_a_backup_that_became_master_while_writing_restarts_dnsmasq(tmp_path, monkeypatch):
    # dnsmasq may have read the file before the write: it would serve
    # without the leases just learned, and write them away later.
    router = Router(tmp_path, "BACKUP")
    router.r.tick()
    written = leasesync.write_text

    def write_then_carpd_takes_over(path, text):
        written(path, text)
        if router.calls_made() == []:
            router.set_state("MASTER")
    monkeypatch.setattr(leasesync, "write_text", write_then_carpd_takes_over)
    router.feed(_datagram([_lease("02:00:00:00:00:01", "10.0.0.120")], seq=1))
    assert router.calls_made() == ["stop", "start"]
    assert sorted(parse(router.leasefile.read_text())[0]) == ["10.0.0.120"]


def test_a_look_at_carpds_state_between_ticks_does_not_hide_a_change_from_the_next_tick(tmp_path):
    router = Router(tmp_path, "BACKUP")
    router.r.tick()
    router.sent()
    router.set_state("MASTER")
    assert router.r.master() is True  # e.g. absorb() looked in between
    router.r.tick()
    assert router.r.serving is True
    assert router.sent() == [leasesync.WANT_REPLY | leasesync.SERVING]  # a new master asks for the files


@pytest.mark.parametrize("interpreter", ["micropython", "cpython"])
def test_carpd_leases_follows_carpds_state_where_carpd_writes_it(tmp_path, interpreter):
    # carpd writes its status under $CARP_RUN_DIR when root's environment
    # sets it (status.location()); the replicator read the fixed default,
    # so it never saw its router become master and treated it as a backup.
    import os
    import select
    import signal
    import subprocess
    import time
    from tests.tools import INTERPRETERS, ROOT
    (tmp_path / "carp").write_text(
        "config vhid 'lan'\n\toption device 'lo'\n\toption vhid '1'\n\toption password 's'\n"
        "\tlist address '10.99.0.254/24'\n\toption dnsmasq '1'\n\tlist lease_sync '192.0.2.2'\n")
    run_dir = tmp_path / "run"
    env = dict(os.environ, CARP_RUN_DIR=str(run_dir), CARP_PYTHON=INTERPRETERS[interpreter]())
    p = subprocess.Popen([os.path.join(ROOT, "firmware", "carpd"), "leases", "-c", str(tmp_path / "carp"),
                          "--leasefile", str(tmp_path / "dhcp.leases"), "--initd", str(tmp_path),
                          "--port", "0", "--hold", "3"],
                         env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    lines, holder = [], None
    try:
        # It runs on past its start: it holds DHCP (its PID in the file the
        # hook reads), nobody answers from 192.0.2.2, the hold ends.
        deadline = time.time() + 30
        while time.time() < deadline and not any("no file from" in line for line in lines):
            if holder is None and (run_dir / "leases.hold").exists():
                holder = (run_dir / "leases.hold").read_text()
            if select.select([p.stderr], [], [], 0.05)[0]:
                lines.append(p.stderr.readline())
        running = p.poll() is None
    finally:
        p.send_signal(signal.SIGTERM)
        p.wait(10)
    assert "carpd's state from %s/status.json" % run_dir in lines[0], lines
    assert running, lines
    assert holder == "%d\n" % p.pid, lines  # the launcher execs the interpreter: procd's PID is it
    assert lines[-1] == "carpd leases: no file from 192.0.2.2 in 3 s: dnsmasq serves the leases this router has\n"
    assert not (run_dir / "leases.hold").exists()


def test_carpds_state_is_seen_however_fast_carpd_rewrites_its_status(tmp_path):
    # carpd replaces its status file by rename (status.write). On ext4 two
    # writes in a row alternate two inode numbers, so BACKUP, then MASTER
    # twice in one second, gave the first file's inode, size and mtime
    # back: the replicator kept "not serving" on a master, wrote peers'
    # leases under a running dnsmasq, and dnsmasq wrote them away (seen in
    # the lab's DHCP failover). On tmpfs inode numbers are never reused.
    import os
    from carp import status
    router = Router(tmp_path, "BACKUP")
    path = str(router.status)

    def write(state):
        status.write(path, {"vhids": [{"name": "lan", "state": state}]})
        os.utime(path, (1700000000, 1700000000))  # all in one second

    write("BACKUP")
    seen = []
    for state in ["MASTER", "MASTER", "BACKUP", "BACKUP", "MASTER", "MASTER", "MASTER"]:
        write(state)
        if len(seen) % 2:
            write(state)  # an even number of writes between two looks
        seen.append("MASTER" if router.r.master(cached=True) else "BACKUP")
        assert seen[-1] == state, seen
