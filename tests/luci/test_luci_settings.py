"""Services -> CARP (view/carp/settings.js), run under node with recording
stand-ins for LuCI's view, form, uci and tools.widgets modules
(tests/luci/standins.js; not LuCI itself).

One source of truth: SCHEMA in firmware/carp/uciconfig.py is what the
daemon validates with. These tests prove the page offers every option of
it, with the same widget kind, datatype, range and default, and nothing
else; and that on a corpus of values every value the page accepts the
daemon accepts too, and the other way round except for a few odd
spellings listed here that only the daemon tolerates."""
import json
import os
import subprocess

import pytest

from carp import uciconfig
from carp.config import ConfigError
from tests.luci.luciviews import APP, VIEWS, node_command, run_views, uci_sections_json

SETTINGS = os.path.join(VIEWS, "settings.js")
SHIPPED = os.path.join(os.path.dirname(APP), "carp", "files", "carp.config")
WORDS = list(uciconfig.TRUE_WORDS + uciconfig.FALSE_WORDS) + ["maybe", "YES"]

# Values for each kind of option: boundaries, typical values and mistakes.
INTEGER_SAMPLES = ["{low}", "{high}", "{below}", "{above}", "{mid}", "1.5", "x", "-1", "0x10", "1e2", "{low} ",
                   "+{mid}", " {mid}", "0{mid}", "-0"]
CORPUS = {
    "statusfile": ["/var/run/carp/status.json", "/tmp/x", "/etc/shadow", "relative/path", "/", "/var/run/", "x",
                   "//x", "/var/run/carp/../../../etc/shadow", "/var/run/carp/status.json "],
    "secret": ["", "a", "1234567890123456789", "12345678901234567890", "é" * 9 + "a", "é" * 10,
               "with space", "quote'\""],
    "netdev": ["br-lan", "eth0.2", "lan0", "123456789012345", "1234567890123456", ".", "..", "a/b", "a:b",
               "a b", "a\tb", "a%d", "é" * 7, "é" * 8, "wg-ü"],
    "netifd": ["wan", "wan6", "lan_2", "123456789012345", "1234567890123456", "a-b", "a.b", "a b", "wän", "_"],
    "vip": ["192.168.1.254", "192.168.1.254/24", "10.0.0.1/32", "10.0.0.1/0", "10.0.0.1/33", "10.0.0.1/",
            "10.0.0.1/+24", "10.0.0.1/024", "224.0.0.18", "239.1.1.1/8", "255.255.255.255", "0.0.0.0",
            "0.0.0.0/0", "01.2.3.4", "1.2.3.04/24", "1.2.3", "1.2.3.4.5", "256.1.1.1", "fd00::1", "fd00::1/64",
            "fd00::1/128", "fd00::1/129", "fe80::1/64", "ff02::12", "::", "::/0", "::1", "::ffff:10.0.0.1",
            "::ffff:10.0.0.01", "1::2::3", "12345::", "fd00::1%lan", "192.168.1.1/255.255.255.0", "127.0.0.1", "127.1.2.3/8", "::ffff:127.0.0.1",
            " 10.0.0.1", "x", "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7::", "::2:3:4:5:6:7:8"],
    "unicast": ["192.168.1.2", "127.0.0.1", "::1", "fd00::2", "fe80::1", "224.0.0.18", "ff02::12", "0.0.0.0", "::", "10.0.0.1/24",
                "fd00::2/64", "01.2.3.4", "256.0.0.1", "::ffff:1.2.3.4", " 10.0.0.1", "x"],
    "ip4addr": ["192.168.1.1", "127.0.0.1", "10.0.0.1", "224.0.0.18", "0.0.0.0", "255.255.255.255", "01.2.3.4",
                "10.0.0.1/24", "fd00::1", "1.2.3", "256.1.1.1", "x"],
    "name": ["carp", "lan_wan", "G1", "_", "x" * 32, "x" * 33, "a-b", "a b", "", "grüppe"],
}

# Values only the daemon takes: '%' in a device name (the kernel takes it,
# LuCI's netdevname does not). The page is stricter there, never looser.
# Integers, prefixes and names are read exactly as LuCI's datatypes read
# them (issue 13); virtual addresses have no LuCI datatype: the page's own
# check is the daemon's rule.
DAEMON_ONLY = {
    "netdev": {"a%d"},
}


def samples(spec):
    if spec["kind"] != "integer":
        return CORPUS.get(spec["kind"], [])
    low, high = spec["low"], spec["high"]
    fields = dict(low=low, high=high, below=low - 1, above=high + 1, mid=(low + high) // 2)
    return list(dict.fromkeys(s.format(**fields) for s in INTEGER_SAMPLES))


def daemon_only(spec):
    return DAEMON_ONLY.get(spec["kind"], set())


def daemon_accepts(spec, value):
    if value == "" and not spec["required"]:
        return True  # an empty field: LuCI removes the option, and the daemon's default applies
    try:
        uciconfig.validator(spec)("carp.x.y", value)
        return True
    except ConfigError:
        return False


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    """The shipped file in the page; the samples typed into a group of a
    file that has no other group (so no rule across groups applies)."""
    request = {"settings": {
        "path": SETTINGS,
        "configs": {"carp": uci_sections_json(open(SHIPPED).read())},
        "words": WORDS,
    }}
    page = run_views(request, tmp_path_factory.mktemp("settings"))["settings"]
    request["settings"].update(configs={"carp": uci_sections_json("config globals 'globals'\n")}, samples={
        stype: {name: samples(spec) for name, spec in options.items()} for stype, options in uciconfig.SCHEMA.items()})
    page["verdicts"] = run_views(request, tmp_path_factory.mktemp("samples"))["settings"]["verdicts"]
    return page


@pytest.fixture(scope="module")
def options(page):
    """section type -> option name -> what the page declared."""
    [the_map] = page["maps"]
    return {s["type"]: {o["name"]: o for o in s["options"]} for s in the_map["sections"]}


def each_option():
    for stype, opts in sorted(uciconfig.SCHEMA.items()):
        for name, spec in sorted(opts.items()):
            yield stype, name, spec


ALL = list(each_option())
IDS = ["%s.%s" % (t, n) for t, n, _ in ALL]


# --- syntax ----------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["settings.js", "status.js"])
def test_the_view_is_valid_javascript_for_node(name, tmp_path):
    """`node --check` on the view as LuCI's loader runs it: the file is the
    body of a function (its top-level `return view.extend(...)`)."""
    with open(os.path.join(VIEWS, name)) as f:
        wrapped = tmp_path / name
        wrapped.write_text("(function(_, N_, E, L) {\n" + f.read() + "\n});\n")
    r = subprocess.run([node_command(), "--check", str(wrapped)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr


def test_the_views_require_only_modules_luci_has():
    for name in ("settings.js", "status.js"):
        with open(os.path.join(VIEWS, name)) as f:
            head = [line for line in f.read().split("\n") if line.startswith("'require ")]
        assert head, name
        for line in head:
            assert line.split()[1].rstrip("';") in ("view", "form", "uci", "rpc", "poll", "dom", "tools.widgets")


# --- one schema ------------------------------------------------------------------------------

def test_the_page_edits_every_section_type_of_the_daemon(page, options):
    [the_map] = page["maps"]
    assert the_map["config"] == "carp"
    assert sorted(options) == sorted(uciconfig.SCHEMA) == list(uciconfig.SECTION_TYPES)
    kinds = {s["type"]: s for s in the_map["sections"]}
    assert kinds["globals"]["class"] == "TypedSection" and not kinds["globals"]["addremove"]
    assert kinds["vhid"]["class"] == "GridSection" and kinds["vhid"]["addremove"]
    assert page["required"] == ["carp"]


@pytest.mark.parametrize("stype", sorted(uciconfig.SCHEMA))
def test_the_page_offers_exactly_the_options_the_daemon_accepts(options, stype):
    assert sorted(options[stype]) == sorted(uciconfig.SCHEMA[stype])
    known = uciconfig.GLOBALS_OPTIONS if stype == "globals" else uciconfig.VHID_OPTIONS
    assert sorted(options[stype]) == list(known)


def expected_widget(spec):
    """SCHEMA kind -> (stand-in class, LuCI datatype) the page must use."""
    kind = spec["kind"]
    if kind == "integer":
        return "Value", "and(uinteger,range(%d,%d))" % (spec["low"], spec["high"])
    if kind == "secret":
        return "Value", "maxlength(%d)" % spec["high"]
    many = "DynamicList" if spec["list"] else "Value"
    return {
        "bool": ("Flag", None),
        "statusfile": ("Value", "file"),
        "name": ("Value", "and(uciname,maxlength(32))"),
        "netdev": ("widgets.DeviceSelect", "and(netdevname,maxlength(15))"),
        "netifd": (many, "and(uciname,maxlength(15))"),
        "network": ("widgets.NetworkSelect", None),
        # No datatype: LuCI's cidr and ip4addr/ip6addr hand validate() only the
        # prefix length of an address with a /prefix.
        "vip": ("DynamicList", None),
        "unicast": (many, "ipaddr(1)"),
        "ip4addr": (many, "ip4addr(1)"),
    }[kind]


@pytest.mark.parametrize("stype,name,spec", ALL, ids=IDS)
def test_each_option_has_the_daemons_datatype_range_and_default(options, stype, name, spec):
    o = options[stype][name]
    cls, datatype = expected_widget(spec)
    assert (o["class"], o["datatype"]) == (cls, datatype)
    # Several values: a DynamicList, or a select that takes several.
    assert (o["class"] == "DynamicList" or o["multiple"]) == spec["list"]
    if spec["kind"] == "bool":
        assert (o["enabled"], o["disabled"], o["default"]) == ("1", "0", spec["default"])
        assert not o["rmempty"]  # always written as 1 or 0
    else:
        # Left empty, the option is absent and the daemon's default applies:
        # the page shows that default as the placeholder, and writes none.
        assert o["placeholder"] == spec["default"] or (spec["default"] == "" and o["placeholder"] is None)
        assert o["default"] is None
    if spec["required"] and not spec["instead"]:
        assert not o["rmempty"] and not o["optional"]
    if spec["instead"] == "interface":
        # `device` only when no interface is chosen; then it is required, by
        # validate(): a required select would show (and save) its first device.
        assert o["depends"] == [{"interface": ""}] and o["rmempty"] and o["validate"]
    if spec["kind"] == "network":
        assert o["nocreate"]  # only interfaces that exist in /etc/config/network
    if spec["kind"] in ("statusfile", "vip", "unicast", "ip4addr"):
        assert o["validate"], "LuCI's datatype alone accepts more than the daemon"


def test_only_the_password_is_masked(options):
    masked = ["%s.%s" % (t, n) for t, opts in options.items() for n, o in opts.items() if o["password"]]
    assert masked == ["vhid.password"]
    assert [n for t, n, s in ALL if s["kind"] == "secret"] == ["password"]
    assert options["vhid"]["password"]["modalonly"]  # never a column of the grid


@pytest.mark.parametrize("stype,name,spec", [a for a in ALL if a[2]["kind"] not in ("bool", "network")],
                         ids=[i for i, a in zip(IDS, ALL) if a[2]["kind"] not in ("bool", "network")])
def test_the_page_and_the_daemon_accept_the_same_values(page, stype, name, spec):
    verdicts = page["verdicts"][stype][name]
    values = samples(spec)
    assert sorted(verdicts) == sorted(values)
    tolerated = daemon_only(spec)
    wrong = []
    for value in values:
        daemon = daemon_accepts(spec, value)
        if value in tolerated:
            if not (daemon and not verdicts[value]):
                wrong.append((value, "listed as daemon-only", daemon, verdicts[value]))
        elif daemon != verdicts[value]:
            wrong.append((value, "daemon" if daemon else "page only", daemon, verdicts[value]))
    assert not wrong, wrong
    assert any(verdicts.values()) and not all(verdicts.values())


@pytest.mark.parametrize("stype,name,spec", [a for a in ALL if a[2]["kind"] == "bool"],
                         ids=[i for i, a in zip(IDS, ALL) if a[2]["kind"] == "bool"])
def test_flags_show_every_boolean_spelling_the_daemon_takes(page, stype, name, spec):
    shown = page["flags"][stype][name]
    for word in uciconfig.TRUE_WORDS:
        assert shown[word] == "1", word
    for word in uciconfig.FALSE_WORDS:
        assert shown[word] == "0", word
    for word in ("maybe", "YES"):  # refused by the daemon: left as found, not turned into a choice
        assert shown[word] == word
    assert shown.get("") is None  # absent: the Flag shows its default, the daemon's


# --- layout ----------------------------------------------------------------------------------

def test_vhid_options_sit_on_the_five_tabs(page, options):
    [the_map] = page["maps"]
    grid = [s for s in the_map["sections"] if s["type"] == "vhid"][0]
    assert [t["name"] for t in grid["tabs"]] == ["general", "addresses", "timing", "tracking", "hooks"]
    tabs = {}
    for name, o in options["vhid"].items():
        tabs.setdefault(o["tab"], []).append(name)
    assert sorted(tabs) == sorted(t["name"] for t in grid["tabs"])
    assert sorted(tabs["general"]) == ["device", "enabled", "interface", "password", "vhid"]
    assert sorted(tabs["addresses"]) == ["address", "peer", "source", "vmac"]
    assert sorted(tabs["timing"]) == ["advbase", "advskew", "deadratio"]
    assert sorted(tabs["tracking"]) == ["demote", "group", "ping_fall", "ping_interval", "ping_rise", "preempt",
                                        "preempt_delay", "track_interface", "track_ping", "up_delay"]
    assert sorted(tabs["hooks"]) == ["conntrackd", "dnsmasq", "lease_sync", "wan"]


def test_the_grid_shows_the_essentials_and_the_dialog_the_rest(options):
    columns = sorted(n for n, o in options["vhid"].items() if not o["modalonly"])
    assert columns == ["address", "advskew", "device", "enabled", "interface", "preempt", "vhid"]


def test_every_field_says_what_it_is(options):
    for stype, opts in options.items():
        for name, o in opts.items():
            assert o["title"] and o["description"], "%s.%s" % (stype, name)


def test_ranges_in_descriptions_match_the_schema(options):
    """Where a description quotes a range, it is the daemon's."""
    for stype, name, spec in ALL:
        if spec["kind"] == "integer" and "%d..%d" % (spec["low"], spec["high"]) not in options[stype][name]["description"]:
            pytest.fail("%s.%s: description lacks %d..%d" % (stype, name, spec["low"], spec["high"]))


def test_the_shipped_config_renders_its_values(page):
    html = page["html"]
    assert 'value="192.168.1.254/24"' not in html  # a list: items, not an input value
    assert "192.168.1.254/24" in html and 'type="password"' in html and 'value="change-me"' in html
    assert 'data-sid="lan"' in html


# --- the stand-in's validation is LuCI's -------------------------------------------------------

def test_validate_gets_the_value_luci_hands_it(tmp_path):
    """luci-base validation.js: a datatype that checks a part of the value
    (cidr4 and ip4addr the prefix length) replaces the value the option's
    validate() then receives; an empty field passes only if optional."""
    script = tmp_path / "probe.js"
    script.write_text(
        "const S = require(%r);\n"
        "const got = [];\n"
        "const seen = v => { got.push(v); return true; };\n"
        "S.validateField('or(cidr,ipaddr(1))', false, seen, '192.168.1.253/24');\n"
        "S.validateField('or(cidr,ipaddr(1))', false, seen, 'fd00::253/64');\n"
        "S.validateField('or(cidr,ipaddr(1))', false, seen, '192.168.1.253');\n"
        "S.validateField('ipaddr', false, seen, '10.0.0.1/8');\n"
        "S.validateField(null, false, seen, 'fd00::253/64');\n"
        "got.push(S.validateField('ipaddr(1)', false, seen, ''), S.validateField('ipaddr(1)', true, seen, ''));\n"
        "process.stdout.write(JSON.stringify(got));\n" % os.path.join(os.path.dirname(__file__), "standins.js"))
    r = subprocess.run([node_command(), str(script)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == ["24", "64", "192.168.1.253", "8", "fd00::253/64", "", "non-empty value", True]
