"""What Save in Services -> CARP lets through, against what carpd takes.

carpd refuses a file for rules across values too: each address once in a
group and in one enabled group only, one vhid per device, an interface or
a device, peers that are neither listed twice nor the group's own address.
Each case here is a file as a user would have typed it into the page; the
page runs under node with the recording stand-ins (tests/luci/standins.js,
not LuCI), whose saveErrors() does what LuCI's form.js parse() does on Save
(every shown option valid, then not empty unless optional), with LuCI's
validation semantics (standins.validateField) and LuCI's dropdowns, which
show their first choice when they are not optional. The daemon judges the
same text with its own reader (uciconfig.from_sections)."""
import os

import pytest

from carp import uci, uciconfig
from tests.luci.luciviews import VIEWS, run_views, uci_sections_json

SETTINGS = os.path.join(VIEWS, "settings.js")
NETWORK = "config interface 'lan'\n\toption device 'br-lan'\n\nconfig interface 'guest'\n\toption device 'br-guest'\n"
CHOICES = {"networks": ["lan", "guest"], "devices": ["br-lan", "br-guest", "eth0", "eth1"]}


def group(name, *lines):
    return "config vhid '%s'\n" % name + "".join("\t%s\n" % line for line in lines) + "\n"


LAN = group("lan", "option interface 'lan'", "option vhid '1'", "list address '192.168.1.253/24'")
GUEST = group("guest", "option interface 'guest'", "option vhid '2'", "list address '192.168.3.1/24'")

CASES = {
    "distinct groups": LAN + GUEST,
    "one address twice in a group": group("lan", "option interface 'lan'", "option vhid '1'",
                                          "list address '192.168.1.253/24'", "list address '192.168.1.253'"),
    "one IPv6 address twice, spelt two ways": group("lan", "option interface 'lan'", "option vhid '1'",
                                                    "list address 'fd00::253/64'", "list address 'fd00:0::253'"),
    "one address in two groups": LAN + GUEST.replace("192.168.3.1/24", "192.168.1.253/32"),
    "one address in a group and a disabled one": LAN + GUEST.replace("192.168.3.1/24", "192.168.1.253/32")
    .replace("option vhid '2'", "option vhid '2'\n\toption enabled '0'"),
    "one vhid twice on an interface": LAN + GUEST.replace("'guest'\n\toption vhid '2'", "'lan'\n\toption vhid '1'"),
    "one vhid twice on a device": group("a", "option device 'eth0'", "option vhid '7'", "list address '10.0.0.1'")
    + group("b", "option device 'eth0'", "option vhid '7'", "list address '10.0.0.2'"),
    "one vhid on two devices": group("a", "option device 'eth0'", "option vhid '7'", "list address '10.0.0.1'")
    + group("b", "option device 'eth1'", "option vhid '7'", "list address '10.0.1.1'"),
    "one vhid twice, one group disabled": LAN + GUEST.replace("'guest'\n\toption vhid '2'",
                                                              "'lan'\n\toption vhid '1'\n\toption enabled 'no'"),
    "a peer that is our own address": LAN.replace("list address", "list peer '192.168.1.253'\n\tlist address"),
    "a peer twice": LAN.replace("list address", "list peer 'fd00::2'\n\tlist peer 'fd00:0:0::2'\n\tlist address"),
    "a peer and our address": LAN.replace("list address", "list peer '192.168.1.2'\n\tlist address"),
    "neither interface nor device": group("new", "option vhid '3'", "list address '10.9.9.9/24'"),
}


def daemon_errors(text):
    try:
        uciconfig.from_sections(uci.parse(text), uci.parse(NETWORK))
        return set()
    except uciconfig.ConfigErrors as e:
        return {tuple(err.where.split(".")[1:3]) for err in e.errors}


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    out = {}
    for name, text in CASES.items():
        request = {"settings": {"path": SETTINGS, "choices": CHOICES,
                                "configs": {"carp": uci_sections_json("config globals 'globals'\n" + text)}}}
        out[name] = run_views(request, tmp_path_factory.mktemp("save"))["settings"]
    return out


@pytest.mark.parametrize("name", sorted(CASES))
def test_save_stops_where_carpd_refuses_and_says_where(saved, name):
    daemon = daemon_errors(CASES[name])
    page = {(sid, e["option"]) for sid, errors in saved[name]["saved"].items() for e in errors}
    assert bool(page) == bool(daemon), (page, daemon)
    assert daemon <= page, (page, daemon)


def test_a_new_group_without_interface_gets_no_device_unasked(saved):
    """A required DeviceSelect shows (and Save writes) its first device."""
    shown = saved["neither interface nor device"]
    assert shown["formvalues"]["new"]["device"] == ""
    assert [e["error"] for e in shown["saved"]["new"]] == ["Choose an interface, or a device"]


def test_the_error_names_both_spellings_of_an_address(saved):
    [error] = saved["one address twice in a group"]["saved"]["lan"]
    assert error["option"] == "address"
    assert "192.168.1.253/24" in error["error"] and "192.168.1.253" in error["error"]
