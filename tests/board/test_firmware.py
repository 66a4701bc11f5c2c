"""Image Builder recipes, role overlays and `make firmware` (board/).

Nothing here downloads an Image Builder: the printed command is checked
against the recipes, RUN=1 runs a stand-in Image Builder (a Makefile that
records what it was given), and the first-boot scripts run under busybox ash
with a RECORDING `uci` test double: a small sh script first on PATH that
writes down every call and answers `uci get` for the sections a fresh
OpenWrt has. The recorded calls are then applied to the configuration a
fresh OpenWrt 24.10 writes at first boot, and the result is checked with the
daemon's own validator (carp.uciconfig.from_sections).
"""
import ipaddress
import os
import re
import shlex
import shutil
import stat
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BOARD = os.path.join(ROOT, "board")
FIRMWARE_PY = os.path.join(BOARD, "firmware.py")
ROLES = ("primary", "secondary")

from board import firmware
from carp import uci, uciconfig

BOARDS = firmware.boards()
BUSYBOX = shutil.which("busybox")
needs_busybox = pytest.mark.skipif(BUSYBOX is None, reason="busybox is not installed (make deps installs it)")


def role_file(role, *path):
    return os.path.join(BOARD, "roles", role, "files", *path)


def read(path):
    with open(path) as f:
        return f.read()


def recipe_of(board):
    return firmware.load_recipe(board)


def run_firmware(*args, env=None):
    return subprocess.run([sys.executable, FIRMWARE_PY] + list(args), capture_output=True, text=True,
                          env=env, timeout=60)


def make_image_line(stdout):
    """The words of the printed `make image` command."""
    lines = [line for line in stdout.splitlines() if not line.startswith("#") and "make image" in line]
    assert len(lines) == 1, stdout
    words = shlex.split(lines[0].split("&&")[-1])
    assert words[:2] == ["make", "image"], lines[0]
    return dict(word.split("=", 1) for word in words[2:])


# --- what a fresh OpenWrt 24.10 has at first boot -----------------------

# config_generate's output for a DSA router; x86 and swconfig devices differ
# only in the device lines, which the script never touches.
FRESH_NETWORK = """
config interface 'loopback'
	option device 'lo'
	option proto 'static'
	option ipaddr '127.0.0.1'
	option netmask '255.0.0.0'

config globals 'globals'
	option ula_prefix 'fd5e:1c2a:93b0::/48'

config device
	option name 'br-lan'
	option type 'bridge'
	list ports 'lan1'
	list ports 'lan2'

config interface 'lan'
	option device 'br-lan'
	option proto 'static'
	option ipaddr '192.168.1.1'
	option netmask '255.255.255.0'
	option ip6assign '60'

config interface 'wan'
	option device 'wan'
	option proto 'dhcp'

config interface 'wan6'
	option device 'wan'
	option proto 'dhcpv6'
"""

GUEST_NETWORK = """
config device
	option name 'br-guest'
	option type 'bridge'

config interface 'guest'
	option device 'br-guest'
	option proto 'static'
	option ipaddr '192.168.2.2'
	option netmask '255.255.255.0'
"""

# dnsmasq's dhcp.conf plus what odhcpd's first boot adds.
FRESH_DHCP = """
config dnsmasq
	option domainneeded '1'
	option localise_queries '1'
	option local '/lan/'
	option domain 'lan'
	option authoritative '1'
	option leasefile '/tmp/dhcp.leases'
	option nonwildcard '1'
	option localservice '1'

config dhcp 'lan'
	option interface 'lan'
	option start '100'
	option limit '150'
	option leasetime '12h'
	option dhcpv4 'server'
	option ra 'server'

config dhcp 'wan'
	option interface 'wan'
	option ignore '1'

config odhcpd 'odhcpd'
	option maindhcp '0'
"""

FRESH_SYSTEM = """
config system
	option hostname 'OpenWrt'
	option timezone 'UTC'
"""

# What `uci -q get` finds on a fresh router: the recording double says yes
# to these and no to anything else.
FRESH_SECTIONS = "network.lan dhcp.lan dhcp.@dnsmasq[0] system.@system[0] carp.globals carp.lan"


class UciStore:
    """Enough of libuci to apply recorded `uci` calls: set, add_list, delete
    and commit on named or @type[n] sections that exist, as `uci` refuses to
    set an option of a section that does not."""

    def __init__(self, texts):
        self.configs = {name: uci.parse(text) for name, text in texts.items()}
        self.committed = set()
        self.changed = set()

    def section(self, config, name):
        for section in self.configs[config]:
            if section.name == name:
                return section
        raise AssertionError("uci: %s.%s does not exist" % (config, name))

    def apply(self, argv):
        words = [word for word in argv if not word.startswith("-")]
        command, rest = words[0], words[1:]
        if command == "get":
            return
        if command == "commit":
            self.committed.add(rest[0])
            self.changed.discard(rest[0])
            return
        path, _, value = rest[0].partition("=")
        config, name, option = path.split(".")
        options = self.section(config, name).options
        if command == "set":
            options[option] = value
        elif command == "add_list":
            old = options.get(option)
            options[option] = (old if isinstance(old, list) else [old] if old else []) + [value]
        elif command == "delete":
            options.pop(option, None)
        else:
            raise AssertionError("unexpected uci command %r" % argv)
        self.changed.add(config)

    def text(self, config):
        """The config as UCI text, as `uci export` would write it."""
        out = []
        for section in self.configs[config]:
            out.append("config %s%s" % (section.type, "" if section.anonymous else " '%s'" % section.name))
            for option, value in section.options.items():
                for item in (value if isinstance(value, list) else [value]):
                    kind = "list" if isinstance(value, list) else "option"
                    out.append("\t%s %s %s" % (kind, option, firmware.uci_quote(item)))
            out.append("")
        return "\n".join(out)

    def get(self, config, name, option):
        return self.section(config, name).options.get(option)


# --- running the first-boot script under busybox ash ---------------------

UCI_DOUBLE = r"""#!/bin/sh
# RECORDING test double for OpenWrt's `uci`: writes each call to
# $UCI_DOUBLE_LOG (one line, arguments separated by 0x1f) and answers
# `uci get` for the sections in $UCI_DOUBLE_KNOWN; changes nothing.
set -f
first=1
for arg in "$@"; do
	[ "$first" = 1 ] || printf '\037' >>"$UCI_DOUBLE_LOG"
	printf '%s' "$arg" >>"$UCI_DOUBLE_LOG"
	first=0
done
printf '\n' >>"$UCI_DOUBLE_LOG"
command= path=
for arg in "$@"; do
	case "$arg" in -*) continue ;; esac
	if [ -z "$command" ]; then command=$arg; elif [ -z "$path" ]; then path=$arg; fi
done
if [ "$command" = get ]; then
	for known in $UCI_DOUBLE_KNOWN; do
		[ "$known" = "$path" ] && { echo section; exit 0; }
	done
	exit 1
fi
exit 0
"""

LOGGER_DOUBLE = r"""#!/bin/sh
# RECORDING test double for logger: appends its arguments to $LOGGER_DOUBLE_LOG.
printf '%s\n' "$*" >>"$LOGGER_DOUBLE_LOG"
"""


def run_first_boot(tmp_path, script_text, known=FRESH_SECTIONS):
    """Run a 90-carp-role the way /etc/init.d/boot does (sourced in a
    subshell from /etc/uci-defaults) under busybox ash, with the recording
    `uci` and `logger` doubles first on PATH. Returns (exit status, the
    recorded uci calls as argv lists, the logger lines)."""
    bin_dir = tmp_path / "bin"
    defaults = tmp_path / "etc" / "uci-defaults"
    bin_dir.mkdir()
    defaults.mkdir(parents=True)
    for name, text in (("uci", UCI_DOUBLE), ("logger", LOGGER_DOUBLE)):
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    (defaults / "90-carp-role").write_text(script_text)
    uci_log, logger_log = tmp_path / "uci.log", tmp_path / "logger.log"
    uci_log.write_text("")
    logger_log.write_text("")
    env = {"PATH": "%s:/usr/bin:/bin" % bin_dir, "UCI_DOUBLE_LOG": str(uci_log),
           "UCI_DOUBLE_KNOWN": known, "LOGGER_DOUBLE_LOG": str(logger_log)}
    result = subprocess.run([BUSYBOX, "ash", "-c", 'cd "$1" && ( . ./90-carp-role )', "boot", str(defaults)],
                            env=env, capture_output=True, text=True, timeout=30)
    assert result.stderr == "", result.stderr
    calls = [line.split("\x1f") for line in uci_log.read_text().splitlines()]
    return result.returncode, calls, logger_log.read_text().splitlines()


def boot_and_validate(tmp_path, role, script_text=None, carp_text=None, extra_network=""):
    """First boot of a fresh router with this role's overlay: returns the
    store after the recorded uci calls and carp's validated config."""
    script_text = script_text or read(role_file(role, "etc", "uci-defaults", "90-carp-role"))
    carp_text = carp_text or read(role_file(role, "etc", "config", "carp"))
    status, calls, _ = run_first_boot(tmp_path, script_text)
    assert status == 0
    store = UciStore({"network": FRESH_NETWORK + extra_network, "dhcp": FRESH_DHCP,
                      "system": FRESH_SYSTEM, "carp": carp_text})
    for call in calls:
        store.apply(call)
    assert store.changed == set(), "changed and never committed: %s" % store.changed
    network = uci.parse(store.text("network"))
    settings, vhids = uciconfig.from_sections(uci.parse(store.text("carp")), network)
    return store, calls, settings, vhids


# --- recipes ---------------------------------------------------------------

def test_there_are_recipes_for_the_four_kinds_of_target():
    targets = {(recipe_of(b)["TARGET"], recipe_of(b)["SUBTARGET"]) for b in BOARDS}
    assert ("ath79", "generic") in targets  # MIPS big-endian
    assert ("ramips", "mt7621") in targets  # MIPS little-endian
    assert targets & {("ipq40xx", "generic"), ("mediatek", "filogic")}  # ARM
    assert ("x86", "64") in targets


@pytest.mark.parametrize("board", BOARDS)
def test_every_recipe_parses_and_says_where_its_profile_is_defined(board):
    recipe = recipe_of(board)
    assert "define Device/%s" % recipe["PROFILE"] in recipe["PROFILE_SOURCE"]
    assert "target/linux/%s/image/" % recipe["TARGET"] in recipe["PROFILE_SOURCE"]
    carp = [p for p in recipe["PACKAGES"].split() if p.startswith("carp")]
    assert carp in (["carp"], ["carp-python3"]), "exactly one carp variant"


@pytest.mark.parametrize("board", BOARDS)
def test_small_nor_flash_gets_the_micropython_variant(board):
    # docs/openwrt-notes.md: carp + python3-light needs several MB more, borderline on 16 MB NOR.
    recipe = recipe_of(board)
    size = re.match(r"(\d+) MB NOR", recipe["FLASH"])
    if size and int(size.group(1)) <= 16:
        assert "carp-python3" not in recipe["PACKAGES"].split()


@pytest.mark.parametrize("text, message", [
    ("NAME=x\nTARGET=ath79\n", "missing SUBTARGET"),
    ("TARGETS=ath79\n", "unknown key 'TARGETS'"),
    ("NAME=a\nNAME=b\n", "NAME is given twice"),
    ("just words\n", "not key=value"),
])
def test_a_broken_recipe_is_refused_with_its_line(text, message):
    with pytest.raises(firmware.Error, match=message):
        firmware.parse_recipe(text, "board/x/recipe")


def test_a_recipe_package_the_image_builder_would_misread_is_refused():
    good = read(os.path.join(BOARD, BOARDS[0], "recipe"))
    bad = re.sub(r"^PACKAGES=.*$", 'PACKAGES=luci "carp"', good, flags=re.M)
    with pytest.raises(firmware.Error, match="PACKAGES: '\"carp\"' is not a package name"):
        firmware.parse_recipe(bad)


# --- the printed command ---------------------------------------------------

@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("board", BOARDS)
def test_the_printed_command_has_the_recipes_profile_packages_and_the_role_overlay(board, role):
    recipe = recipe_of(board)
    result = run_firmware("--board", board, "--role", role)
    assert result.returncode == 0, result.stderr
    words = make_image_line(result.stdout)
    assert words["PROFILE"] == recipe["PROFILE"]
    assert words["PACKAGES"].split() == recipe["PACKAGES"].split()
    assert words["FILES"] == role_file(role)
    assert os.path.isabs(words["FILES"]) and os.path.isdir(words["FILES"])
    url = "%s/%s/targets/%s/%s/openwrt-imagebuilder-%s-%s-%s.Linux-x86_64.tar.zst" % (
        firmware.DOWNLOADS, firmware.DEFAULT_RELEASE, recipe["TARGET"], recipe["SUBTARGET"],
        firmware.DEFAULT_RELEASE, recipe["TARGET"], recipe["SUBTARGET"])
    assert url in result.stdout
    assert "placeholder" in result.stderr  # the password still has to be chosen


def test_make_firmware_prints_the_same_command():
    result = subprocess.run(["make", "-s", "firmware", "BOARD=archer-c7-v5", "ROLE=secondary",
                             "RELEASE=24.10.5", "EXTRA_PACKAGES=luci-app-carp"],
                            cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    words = make_image_line(result.stdout)
    assert words == {"PROFILE": "tplink_archer-c7-v5", "PACKAGES": "luci carp luci-app-carp",
                     "FILES": role_file("secondary")}
    assert ("https://downloads.openwrt.org/releases/24.10.5/targets/ath79/generic/"
            "openwrt-imagebuilder-24.10.5-ath79-generic.Linux-x86_64.tar.zst") in result.stdout
    assert "carp_*.ipk" in result.stdout and "luci-app-carp_*.ipk" in result.stdout


def test_release_25_12_builds_with_apk_packages():
    result = run_firmware("--board", "gl-mt3000", "--role", "primary", "--release", "25.12.0")
    assert result.returncode == 0, result.stderr
    assert "apk, .apk packages" in result.stdout and "carp-python3-*.apk" in result.stdout
    assert "/releases/25.12.0/targets/mediatek/filogic/openwrt-imagebuilder-25.12.0-mediatek-filogic" \
        in result.stdout


@pytest.mark.parametrize("release, message", [
    ("23.05.5", "needs OpenWrt 24.10 or later"),
    ("24.10", "is not an OpenWrt release number"),
])
def test_a_release_carp_cannot_run_on_is_refused(release, message):
    result = run_firmware("--board", "x86-64", "--role", "primary", "--release", release)
    assert result.returncode == 2 and message in result.stderr


@pytest.mark.parametrize("args, listed", [
    (["BOARD=nope", "ROLE=primary"], BOARDS),
    (["ROLE=primary"], BOARDS),
    (["BOARD=x86-64", "ROLE=tertiary"], list(ROLES)),
    (["BOARD=x86-64"], list(ROLES)),
])
def test_an_unknown_or_missing_board_or_role_is_an_error_listing_the_valid_ones(args, listed):
    result = subprocess.run(["make", "-s", "firmware"] + args, cwd=ROOT, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode != 0 and "make image" not in result.stdout
    message = [line for line in result.stderr.splitlines() if line.startswith("firmware: ")][0]
    assert ("unknown" in message or "is required" in message) and ", ".join(listed) in message


def test_run_needs_an_image_builder_directory():
    result = run_firmware("--board", "x86-64", "--role", "primary", "--run")
    assert result.returncode == 2 and "RUN=1 needs IB=" in result.stderr


def fake_imagebuilder(path, board="x86", subtarget="64", packages=("carp-python3_1.0.0-r1_all.ipk",)):
    """A stand-in Image Builder: `make image` writes down what it got."""
    path.mkdir()
    (path / "Makefile").write_text(
        "image:\n\t@printf '%s\\n' 'PROFILE=$(PROFILE)' 'PACKAGES=$(PACKAGES)' 'FILES=$(FILES)' "
        "'BOARD=$(BOARD)' 'ROLE=$(ROLE)' > made.txt\n")
    (path / ".config").write_text('CONFIG_TARGET_BOARD="%s"\nCONFIG_TARGET_SUBTARGET="%s"\n' % (board, subtarget))
    (path / "packages").mkdir()
    for name in packages:
        (path / "packages" / name).write_text("")
    return path


def test_run_1_runs_make_image_inside_the_image_builder(tmp_path):
    ib = fake_imagebuilder(tmp_path / "ib")
    result = subprocess.run(["make", "-s", "firmware", "BOARD=x86-64", "ROLE=secondary", "IB=%s" % ib, "RUN=1"],
                            cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "cd %s && make image" % ib in result.stdout
    made = dict(line.split("=", 1) for line in (ib / "made.txt").read_text().splitlines())
    assert made["PROFILE"] == "generic" and made["PACKAGES"] == "luci carp-python3"
    assert made["FILES"] == role_file("secondary")
    # Our make's BOARD=x86-64 must not reach the Image Builder's make, which
    # has a BOARD of its own (the target).
    assert made["BOARD"] == "" and made["ROLE"] == ""
    assert "no carp-python3_*.ipk" not in result.stderr


def test_an_image_builder_of_another_target_is_refused(tmp_path):
    ib = fake_imagebuilder(tmp_path / "ib", board="ath79", subtarget="generic")
    result = run_firmware("--board", "x86-64", "--role", "primary", "--ib", str(ib), "--run")
    assert result.returncode == 2 and "of ath79/generic, not of x86/64" in result.stderr
    assert not (ib / "made.txt").exists()


def test_a_missing_local_carp_package_is_warned_about(tmp_path):
    ib = fake_imagebuilder(tmp_path / "ib", packages=())
    result = run_firmware("--board", "x86-64", "--role", "primary", "--ib", str(ib))
    assert result.returncode == 0
    assert "no carp-python3_*.ipk in %s" % (ib / "packages") in result.stderr


def test_a_password_file_gives_a_private_copy_of_the_overlay(tmp_path):
    (tmp_path / "secret").write_text("n0t-the-default\n")
    env = dict(os.environ, CARP_FIRMWARE_BUILD=str(tmp_path / "build"))
    result = run_firmware("--board", "gl-b1300", "--role", "primary", "--password-file",
                          str(tmp_path / "secret"), env=env)
    assert result.returncode == 0, result.stderr
    files = make_image_line(result.stdout)["FILES"]
    assert files == str(tmp_path / "build" / "primary" / "files")
    config = os.path.join(files, "etc", "config", "carp")
    assert stat.S_IMODE(os.stat(config).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(os.path.dirname(files)).st_mode) & 0o077 == 0
    text = read(config)
    assert "change-me" not in text and text.count("'n0t-the-default'") == 2  # lan and the guest example
    assert read(role_file("primary", "etc", "config", "carp")).count("'change-me'") == 2  # untouched
    assert os.path.isfile(os.path.join(files, "etc", "uci-defaults", "90-carp-role"))
    _, vhids = uciconfig.from_sections(uci.parse(text), uci.parse(FRESH_NETWORK))
    assert vhids[0].passphrase == b"n0t-the-default"
    assert "placeholder" not in result.stderr


@pytest.mark.parametrize("content, message", [
    ("x" * 20 + "\n", "1..19 bytes, not 20"),
    ("\n", "1..19 bytes, not 0"),
    ("change-me\n", "placeholder"),
])
def test_a_password_carp_cannot_use_is_refused(tmp_path, content, message):
    (tmp_path / "secret").write_text(content)
    env = dict(os.environ, CARP_FIRMWARE_BUILD=str(tmp_path / "build"))
    result = run_firmware("--board", "x86-64", "--role", "primary", "--password-file",
                          str(tmp_path / "secret"), env=env)
    assert result.returncode == 2 and message in result.stderr


# --- the role overlays -----------------------------------------------------

@pytest.mark.parametrize("role", ROLES)
def test_first_boot_scripts_pass_sh_n(role):
    script = role_file(role, "etc", "uci-defaults", "90-carp-role")
    assert subprocess.run(["sh", "-n", script]).returncode == 0
    if BUSYBOX:
        assert subprocess.run([BUSYBOX, "ash", "-n", script]).returncode == 0


def test_the_two_first_boot_scripts_differ_only_in_this_routers_settings():
    primary, secondary = (read(role_file(role, "etc", "uci-defaults", "90-carp-role")) for role in ROLES)
    mine = re.compile(r"^(ROLE|LAN_ADDR|PEER_ADDR|DHCP_START)=.*$", re.M)
    assert mine.sub("", primary) == mine.sub("", secondary)


EXPECTED_CALLS = {
    "primary": ("192.168.1.2", "100"),
    "secondary": ("192.168.1.3", "150"),
}


@needs_busybox
@pytest.mark.parametrize("role", ROLES)
def test_first_boot_issues_the_expected_uci_commands(tmp_path, role):
    status, calls, logged = run_first_boot(tmp_path, read(role_file(role, "etc", "uci-defaults", "90-carp-role")))
    address, start = EXPECTED_CALLS[role]
    assert status == 0 and logged == []
    assert calls == [
        ["-q", "get", "network.lan"],
        ["set", "system.@system[0].hostname=carp-%s" % role],
        ["set", "network.lan.ipaddr=%s" % address],
        ["set", "network.lan.netmask=255.255.255.0"],
        ["-q", "delete", "dhcp.lan.dhcp_option"],
        ["add_list", "dhcp.lan.dhcp_option=3,192.168.1.1"],
        ["add_list", "dhcp.lan.dhcp_option=6,192.168.1.1"],
        ["set", "dhcp.@dnsmasq[0].nonwildcard=0"],
        ["set", "dhcp.lan.start=%s" % start],
        ["set", "dhcp.lan.limit=50"],
        ["set", "dhcp.@dnsmasq[0].authoritative=0"],
        ["commit", "system"],
        ["commit", "network"],
        ["commit", "dhcp"],
        ["set", "carp.globals.enabled=1"],
        ["commit", "carp"],
    ]


@needs_busybox
def test_first_boot_changes_nothing_on_a_device_without_a_lan(tmp_path):
    status, calls, logged = run_first_boot(
        tmp_path, read(role_file("primary", "etc", "uci-defaults", "90-carp-role")), known="")
    assert status == 0  # nothing to retry at the next boot
    assert calls == [["-q", "get", "network.lan"]]
    assert logged == ["-t carp-role no network.lan on this device: nothing changed"]


@needs_busybox
@pytest.mark.parametrize("role", ROLES)
def test_after_first_boot_the_carp_config_validates_with_the_daemons_validator(tmp_path, role):
    store, _, settings, vhids = boot_and_validate(tmp_path, role)
    assert settings.enabled  # turned on by the script, off in the file until then
    [lan] = vhids
    assert lan.name == "lan" and lan.device == "br-lan" and lan.vhid == 1
    assert lan.advskew == {"primary": 0, "secondary": 100}[role]
    assert lan.preempt and lan.advbase == 1
    assert [v.text for v in lan.vips] == ["192.168.1.1/24"]
    assert lan.passphrase == b"change-me"  # the placeholder, the same on both

    # The VIP is the gateway and DNS server DHCP hands out, on this router's
    # subnet, and is not its own address.
    vip = ipaddress.ip_interface(lan.vips[0].text)
    assert store.get("dhcp", "lan", "dhcp_option") == ["3,%s" % vip.ip, "6,%s" % vip.ip]
    own = ipaddress.ip_interface("%s/%s" % (store.get("network", "lan", "ipaddr"),
                                            store.get("network", "lan", "netmask")))
    assert own.network == vip.network and own.ip != vip.ip
    assert store.get("system", "@system[0]", "hostname") == "carp-" + role


@needs_busybox
def test_the_two_routers_differ_in_address_advskew_and_pool_only(tmp_path):
    for role in ROLES:
        (tmp_path / role).mkdir()
    boots = {role: boot_and_validate(tmp_path / role, role) for role in ROLES}
    (p_store, _, _, [p_lan]), (s_store, _, _, [s_lan]) = boots["primary"], boots["secondary"]
    assert p_store.get("network", "lan", "ipaddr") != s_store.get("network", "lan", "ipaddr")
    assert (p_lan.vhid, p_lan.passphrase, p_lan.vips[0].text, p_lan.advbase, p_lan.preempt) == \
        (s_lan.vhid, s_lan.passphrase, s_lan.vips[0].text, s_lan.advbase, s_lan.preempt)
    assert p_lan.advskew < s_lan.advskew

    # Split pools: disjoint, inside the subnet, clear of .1 (VIP), .2 and .3.
    def pool(store):
        start, limit = int(store.get("dhcp", "lan", "start")), int(store.get("dhcp", "lan", "limit"))
        return set(range(start, start + limit))
    assert not pool(p_store) & pool(s_store)
    assert all(3 < host < 255 for host in pool(p_store) | pool(s_store))
    assert p_store.get("dhcp", "@dnsmasq[0]", "authoritative") == "0"


@needs_busybox
def test_dhcp_mode_master_uses_the_carp_dnsmasq_hook_instead_of_split_pools(tmp_path):
    script = read(role_file("secondary", "etc", "uci-defaults", "90-carp-role"))
    assert "\nDHCP_MODE=split\n" in script
    script = script.replace("\nDHCP_MODE=split\n", "\nDHCP_MODE=master\n")
    store, calls, _, [lan] = boot_and_validate(tmp_path, "secondary", script_text=script)
    assert ["set", "carp.lan.dnsmasq=1"] in calls
    assert not [call for call in calls if call[1].startswith(("dhcp.lan.start", "dhcp.lan.limit",
                                                              "dhcp.@dnsmasq[0].authoritative"))]
    assert lan.dnsmasq is True
    assert store.get("dhcp", "@dnsmasq[0]", "authoritative") == "1"  # one server at a time


@needs_busybox
def test_dhcp_mode_sync_replicates_leases_with_the_other_router(tmp_path):
    script = read(role_file("primary", "etc", "uci-defaults", "90-carp-role"))
    script = script.replace("\nDHCP_MODE=split\n", "\nDHCP_MODE=sync\n")
    store, calls, _, [lan] = boot_and_validate(tmp_path, "primary", script_text=script)
    assert ["set", "carp.lan.dnsmasq=1"] in calls and ["add_list", "carp.lan.lease_sync=192.168.1.3"] in calls
    assert lan.dnsmasq is True and lan.lease_sync == [bytes([192, 168, 1, 3])]
    assert store.get("dhcp", "@dnsmasq[0]", "authoritative") == "1"


def uncomment(text, pattern):
    return re.sub(pattern, lambda m: m.group(0).replace("#", "", 1), text, flags=re.M)


@needs_busybox
@pytest.mark.parametrize("role", ROLES)
def test_the_commented_hook_and_ipv6_lines_validate_once_uncommented(tmp_path, role):
    text = read(role_file(role, "etc", "config", "carp"))
    lan = text.split("config vhid 'lan'")[1].split("\n\n")[0]
    enabled = uncomment(lan, r"^\t#(option|list) .*$")
    assert enabled != lan
    _, _, _, [vhid] = boot_and_validate(tmp_path, role, carp_text=text.replace(lan, enabled))
    assert vhid.dnsmasq is True and vhid.wan == ["wan"] and vhid.conntrackd is True
    assert [v.text for v in vhid.vips] == ["192.168.1.1/24", "fd12:3456:789a::1/64"]


@needs_busybox
@pytest.mark.parametrize("role", ROLES)
def test_the_commented_guest_vlan_example_validates_once_uncommented(tmp_path, role):
    text = read(role_file(role, "etc", "config", "carp"))
    guest = text[text.index("#config vhid 'guest'"):]
    with_guest = text.replace(guest, uncomment(guest, r"^#(config|\t).*$"))
    _, _, _, vhids = boot_and_validate(tmp_path, role, carp_text=with_guest, extra_network=GUEST_NETWORK)
    lan, guest_vhid = vhids
    assert (guest_vhid.name, guest_vhid.device, guest_vhid.vhid) == ("guest", "br-guest", 2)
    assert guest_vhid.advskew == lan.advskew and [v.text for v in guest_vhid.vips] == ["192.168.2.1/24"]


def test_the_overlays_ship_carp_off_until_first_boot_turns_it_on():
    # A router flashed without running its first-boot script (or with one
    # that failed) must not claim the VIP on a network it does not know.
    for role in ROLES:
        sections = uci.parse(read(role_file(role, "etc", "config", "carp")))
        settings, vhids = uciconfig.from_sections(sections, uci.parse(FRESH_NETWORK))
        assert settings.enabled is False and len(vhids) == 1
