"""/etc/config/carp -> validated Globals and VhidConfigs: the shipped file,
good configurations, the bad_configs corpus (each mistake named at
carp.<section>.<option> with its value and what is allowed), and the same
results on MicroPython."""
import glob
import os
import socket
import subprocess
import sys

import pytest

from carp import config, uci, uciconfig
from tests.tools import FIRMWARE, ROOT, command

HERE = os.path.dirname(os.path.abspath(__file__))
BAD_CONFIGS = os.path.join(HERE, "bad_configs")
NETWORK_PATH = os.path.join(BAD_CONFIGS, "network")
NETWORK = uci.load(NETWORK_PATH)
SHIPPED = os.path.join(ROOT, "package", "carp", "files", "carp.config")
CHECK_UCI = os.path.join(ROOT, "tests", "mp", "check_uci.py")


def build(text, network=NETWORK):
    return uciconfig.from_sections(uci.parse(text), network)


def errors_of(text, network=NETWORK):
    with pytest.raises(uciconfig.ConfigErrors) as e:
        build(text, network)
    return e.value


def ip(text):
    family = socket.AF_INET6 if ":" in text else socket.AF_INET
    return family, socket.inet_pton(family, text)


LAN = "config vhid 'lan'\n\toption device 'br-lan'\n\toption vhid '1'\n\tlist address '192.168.1.254/24'\n"


# --- the shipped file ------------------------------------------------------------

def test_the_shipped_file_is_valid_and_leaves_the_service_off():
    settings, [lan] = build(open(SHIPPED).read())
    assert (settings.enabled, settings.status_file, settings.status_interval) == \
        (False, "/var/run/carp/status.json", 60)
    assert (lan.name, lan.device, lan.vhid, lan.advbase, lan.advskew, lan.preempt) == \
        ("lan", "br-lan", 1, 1, 0, True)
    assert [(v.text, v.prefixlen) for v in lan.vips] == [("192.168.1.254/24", 24)]
    assert (lan.demote, lan.deadratio, lan.source, lan.peers, lan.enabled) == (0, 3, None, [], True)
    assert lan.passphrase == b"change-me"


def test_the_shipped_file_explains_every_option():
    text = open(SHIPPED).read()
    for option in uciconfig.GLOBALS_OPTIONS + uciconfig.VHID_OPTIONS:
        assert option in text, option
    assert "100" in text and "second router" in text  # advskew on the backup
    assert "IPv6" in text and "peer" in text


def test_the_shipped_file_loads_from_disk_with_the_network_config():
    settings, [lan] = uciconfig.load(SHIPPED, NETWORK_PATH)
    assert lan.device == "br-lan" and not settings.enabled


# --- good configurations ------------------------------------------------------------

def test_without_a_globals_section_the_service_is_enabled_with_defaults():
    settings, [lan] = build(LAN)
    assert (settings.enabled, settings.status_file, settings.status_interval) == \
        (True, "/var/run/carp/status.json", 60)
    assert (lan.advbase, lan.advskew, lan.preempt, lan.demote, lan.deadratio, lan.passphrase) == \
        (1, 0, False, 0, 3, b"")


def test_an_empty_file_is_a_valid_config_with_nothing_to_run():
    settings, vhids = build("")
    assert settings.enabled and vhids == []


def test_every_option_set():
    settings, [v] = build(
        "config globals 'globals'\n\toption enabled '1'\n\toption status_file '/var/run/carp/status.json'\n"
        "\toption status_interval '3600'\n"
        "config vhid 'wan'\n\toption device 'eth1'\n\toption vhid '255'\n\toption advbase '254'\n"
        "\toption advskew '254'\n\toption password '1234567890123456789'\n\tlist address '203.0.113.10/29'\n"
        "\tlist peer '203.0.113.2'\n\toption preempt 'yes'\n\toption demote '255'\n\toption deadratio '255'\n"
        "\toption source '203.0.113.1'\n\toption enabled 'on'\n")
    assert (settings.enabled, settings.status_file, settings.status_interval) == \
        (True, "/var/run/carp/status.json", 3600)
    assert (v.name, v.device, v.vhid, v.advbase, v.advskew, v.passphrase) == \
        ("wan", "eth1", 255, 254, 254, b"1234567890123456789")
    assert (v.preempt, v.demote, v.deadratio, v.source, v.enabled) == \
        (True, 255, 255, bytes([203, 0, 113, 1]), True)
    assert v.peers == [ip("203.0.113.2")]
    assert v.key()  # everything the daemon compares on reload is there


def test_named_and_anonymous_sections():
    _, vhids = build(LAN + "config vhid\n\toption device 'eth1'\n\toption vhid '2'\n\tlist address '10.0.0.1'\n"
                     "config vhid\n\toption device 'eth1'\n\toption vhid '3'\n\tlist address '10.0.0.2'\n")
    assert [v.name for v in vhids] == ["lan", "@vhid[1]", "@vhid[2]"]


def test_an_address_option_is_a_one_item_list():
    _, [a] = build("config vhid 'a'\n\toption device 'eth0'\n\toption vhid '1'\n\toption address '10.0.0.1/8'\n")
    _, [b] = build("config vhid 'a'\n\toption device 'eth0'\n\toption vhid '1'\n\tlist address '10.0.0.1/8'\n")
    assert [(v.packed, v.prefixlen) for v in a.vips] == [(v.packed, v.prefixlen) for v in b.vips] == \
        [(bytes([10, 0, 0, 1]), 8)]


def test_several_addresses_keep_their_order_and_prefix_defaults():
    _, [v] = build("config vhid 'a'\n\toption device 'eth0'\n\toption vhid '1'\n\tlist address '10.0.0.9'\n"
                   "\tlist address 'fd00::1/64'\n\tlist address '2001:db8::5'\n\tlist address 'fe80::1'\n")
    assert [(v.family, v.prefixlen) for v in v.vips] == [
        (socket.AF_INET, 32), (socket.AF_INET6, 64), (socket.AF_INET6, 128), (socket.AF_INET6, 128)]
    assert v.addrs(socket.AF_INET6)[0] == ip("fd00::1")[1]


def test_ipv4_and_ipv6_peers():
    _, [v] = build(LAN + "\tlist peer '192.168.1.2'\n\tlist peer 'fd00::2'\n\toption source '192.168.1.1'\n")
    assert v.peers == [ip("192.168.1.2"), ip("fd00::2")]


@pytest.mark.parametrize("word, meaning", [
    ("1", True), ("yes", True), ("on", True), ("true", True), ("enabled", True),
    ("0", False), ("no", False), ("off", False), ("false", False), ("disabled", False),
])
def test_booleans_as_openwrt_spells_them(word, meaning):
    _, [v] = build(LAN + "\toption preempt '%s'\n" % word)
    assert v.preempt is meaning
    settings, _ = build("config globals\n\toption enabled '%s'\n" % word)
    assert settings.enabled is meaning


@pytest.mark.parametrize("interface, device", [
    ("lan", "br-lan"),            # OpenWrt 21.02+: option device
    ("wan", "eth1"),
    ("legacy", "eth0.2"),         # 19.07: option ifname
    ("oldbridge", "br-oldbridge"),  # 19.07: type bridge, ifname lists the ports
    ("lan6", "br-lan"),           # alias: device '@lan'
    ("loopback", "lo"),
])
def test_interface_resolves_to_its_device(interface, device):
    _, [v] = build("config vhid 'x'\n\toption interface '%s'\n\toption vhid '1'\n\tlist address '10.1.1.1'\n"
                   % interface)
    assert v.device == device


def test_interface_alias_loops_end():
    network = uci.parse("config interface 'a'\n\toption device '@b'\nconfig interface 'b'\n\toption device '@a'\n")
    assert uciconfig.interface_device("a", network) is None
    e = errors_of("config vhid 'x'\n\toption interface 'a'\n\toption vhid '1'\n\tlist address '10.1.1.1'\n", network)
    assert [x.where for x in e.errors] == ["carp.x.interface"]


def test_interface_without_a_network_config_cannot_be_resolved():
    e = errors_of("config vhid 'x'\n\toption interface 'lan'\n\toption vhid '1'\n\tlist address '10.1.1.1'\n",
                  network=None)
    assert str(e) == ("carp.x.interface: 'lan' is not valid: an interface of /etc/config/network with a device "
                      "(known: none)")


def test_disabled_vhids_are_left_out_and_do_not_clash():
    _, vhids = build(LAN + "config vhid 'spare'\n\toption enabled '0'\n\toption device 'br-lan'\n"
                     "\toption vhid '1'\n\tlist address '192.168.1.254/24'\n")
    assert [v.name for v in vhids] == ["lan"]


def test_the_same_vhid_on_two_devices_is_fine():
    _, vhids = build(LAN + "config vhid 'wan'\n\toption device 'eth1'\n\toption vhid '1'\n"
                     "\tlist address '203.0.113.10'\n")
    assert [(v.device, v.vhid) for v in vhids] == [("br-lan", 1), ("eth1", 1)]


def test_globals_may_come_anywhere_in_the_file():
    settings, [lan] = build(LAN + "config globals\n\toption enabled 'no'\n")
    assert not settings.enabled and lan.name == "lan"


# --- the bad_configs corpus ----------------------------------------------------------

def corpus():
    return sorted(glob.glob(os.path.join(BAD_CONFIGS, "*.uci")))


def header(text, key):
    prefix = "# %s: " % key
    return [line[len(prefix):] for line in text.splitlines() if line.startswith(prefix)]


def passwords(sections):
    """Every value a password could be in: password and misspellings of it."""
    found = []
    for s in sections:
        for name, value in s.options.items():
            if name.startswith("pass"):
                found.extend(value if isinstance(value, list) else [value])
    return found


def test_the_corpus_has_at_least_40_bad_configs():
    assert len(corpus()) >= 40


@pytest.mark.parametrize("path", corpus(), ids=lambda p: os.path.basename(p)[:-4])
def test_a_bad_config_is_refused_where_it_is_wrong(path):
    text = open(path, encoding="utf-8").read()
    [where] = header(text, "where")
    expects = header(text, "expect")
    assert expects, "a bad config says what its error must contain"
    sections = uci.parse(text)
    with pytest.raises(uciconfig.ConfigErrors) as e:
        uciconfig.from_sections(sections, NETWORK)
    errors = e.value.errors
    assert [x.where for x in errors] == [where], str(e.value)
    assert all(isinstance(x, config.ConfigError) for x in errors)
    message = str(errors[0])
    assert message.startswith(where + ": ")
    for fragment in expects:
        assert fragment in message
    for secret in passwords(sections):
        if secret:
            assert secret not in str(e.value)


def test_every_mistake_is_reported_at_once():
    e = errors_of("config globals\n\toption status_interval '0'\n"
                  "config vhid 'lan'\n\toption device 'br-lan'\n\toption vhid '1'\n\toption advbase 'slow'\n"
                  "\tlist address '192.168.1.254/24'\n"
                  "config vhid 'guest'\n\toption device 'br-guest'\n\toption vhid '2'\n"
                  "\tlist address '10.0.0.1/40'\n")
    assert isinstance(e, ValueError)
    assert [x.where for x in e.errors] == [
        "carp.@globals[0].status_interval", "carp.lan.advbase", "carp.guest.address"]
    assert str(e).split("\n") == [str(x) for x in e.errors]
    assert "'0'" in str(e) and "'slow'" in str(e) and "'10.0.0.1/40'" in str(e)


def test_a_password_never_appears_in_any_message():
    secret = "SeCrEt-0123456789-SeCrEt"
    e = errors_of("config vhid 'a'\n\toption device 'eth0'\n\toption vhid '1'\n\toption password '%s'\n"
                  "\tlist address '10.0.0.1'\n"
                  "config vhid 'b'\n\toption device 'eth0'\n\toption vhid '2'\n\tlist password '%s'\n"
                  "\tlist address '10.0.0.2'\n"
                  "config vhid 'c'\n\toption device 'eth0'\n\toption vhid '3'\n\toption pass '%s'\n"
                  "\tlist address '10.0.0.3'\n" % (secret, secret, secret))
    assert len(e.errors) == 3
    assert "SeCrEt" not in str(e)
    assert "<24 bytes>" in str(e) and "<1 values>" in str(e) and "'pass'" in str(e)


def test_a_missing_option_says_what_is_required():
    e = errors_of("config vhid 'x'\n")
    assert str(e).split("\n") == [
        "carp.x.vhid: missing: an integer 1..255",
        "carp.x.address: missing: at least one IPv4 or IPv6 address (`list address`)",
        "carp.x.device: missing: `device` (a Linux interface name) or `interface` (an interface of "
        "/etc/config/network) is required",
    ]
    assert all(x.value is None for x in e.errors)


# --- files ------------------------------------------------------------------------

def test_load_reads_the_network_config_only_when_an_interface_is_named(tmp_path):
    carp = tmp_path / "carp"
    carp.write_text(LAN)
    _, [lan] = uciconfig.load(str(carp), str(tmp_path / "no-such-network"))
    assert lan.device == "br-lan"
    carp.write_text(LAN.replace("device 'br-lan'", "interface 'lan'"))
    with pytest.raises(uciconfig.ConfigErrors) as e:
        uciconfig.load(str(carp), str(tmp_path / "no-such-network"))
    assert [x.where for x in e.value.errors] == ["carp.lan.interface"]


def test_load_reports_a_malformed_file_with_its_line(tmp_path):
    carp = tmp_path / "carp"
    carp.write_text(LAN + "\toption advskew 'unterminated\n")
    with pytest.raises(uci.UciError) as e:
        uciconfig.load(str(carp))
    assert e.value.line == 5 and str(carp) in str(e.value)


# --- MicroPython -----------------------------------------------------------------

def run_check(interpreter, **env):
    r = subprocess.run([interpreter, CHECK_UCI, SHIPPED, BAD_CONFIGS], env=dict(os.environ, **env),
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and r.stdout.endswith("ALL OK\n"), r.stdout + r.stderr
    return r.stdout


def test_micropython_reads_every_config_exactly_as_cpython():
    on_micropython = run_check(command("micropython"), MICROPYPATH=FIRMWARE)
    on_cpython = run_check(sys.executable, PYTHONPATH=FIRMWARE)
    assert on_micropython == on_cpython
    assert on_cpython.count(": carp.") >= 40  # one line per bad config's error


# --- issue 13: bounded work on reload ------------------------------------------------

def test_lists_are_capped_as_documented_and_a_huge_one_costs_one_error():
    doc = open(os.path.join(ROOT, "docs", "configuration.md")).read()
    for option in ("address", "peer", "wan", "track_interface", "track_ping", "lease_sync"):
        most = uciconfig.SCHEMA["vhid"][option]["most"]
        assert "at most" in doc and ("%d `%s`" % (most, option)) in doc, option
        values = ["10.%d.%d.%d" % (i >> 16, (i >> 8) & 255, i & 255) for i in range(1, 16001)]
        section = uci.Section("vhid", "lan", 1)
        section.options = {"device": "br-lan", "vhid": "1", "address": "192.168.1.254", option: values}
        with pytest.raises(uciconfig.ConfigErrors) as e:
            uciconfig.from_sections([section])
        assert [str(x) for x in e.value.errors] == [
            "carp.lan.%s: '<16000 values>' is not valid: at most %d values" % (option, most)]


def test_as_many_values_as_allowed_are_accepted():
    text = LAN + "".join("\tlist address '10.0.%d.%d'\n" % (i // 200, i % 200 + 1)
                         for i in range(uciconfig.MAX_ADDRESSES - 1))
    _, [lan] = build(text)
    assert len(lan.vips) == uciconfig.MAX_ADDRESSES


def test_a_file_too_big_to_be_a_carp_config_is_not_read(tmp_path):
    carp = tmp_path / "carp"
    carp.write_text(LAN + "#" * uciconfig.MAX_FILE_BYTES)
    with pytest.raises(uci.UciError) as e:
        uciconfig.load(str(carp))
    assert "at most 65536" in str(e.value) and str(carp) in str(e.value)
