"""SCHEMA (firmware/carp/uciconfig.py) against the daemon itself: what the
table says is what from_sections() does with a whole configuration, on
CPython and on MicroPython. test_settings.py then holds the page to the
same table."""
import json
import os
import subprocess
import sys

import pytest

from carp import config, uci, uciconfig
from tests.tools import FIRMWARE, command

DEVICE = "\toption device 'br-lan'\n"
ADDRESS = "\tlist address '192.168.1.254/24'\n"


def vhid_text(extra, vhid="1"):
    return "config vhid 'lan'\n" + DEVICE + "\toption vhid '%s'\n" % vhid + ADDRESS + extra


def parse(text):
    return uciconfig.from_sections(uci.parse(text))


def accepted(stype, name, value):
    if stype == "globals":
        text = "config globals 'globals'\n\toption %s '%s'\n" % (name, value)
    elif name == "vhid":
        text = "config vhid 'lan'\n" + DEVICE + ADDRESS + "\toption vhid '%s'\n" % value
    else:
        text = vhid_text("\toption %s '%s'\n" % (name, value))
    try:
        parse(text)
        return True
    except uciconfig.ConfigErrors as e:
        assert all(err.where == "carp.%s.%s" % ("globals" if stype == "globals" else "lan", name) for err in e.errors)
        return False


INTEGERS = [(t, n, s) for t, opts in sorted(uciconfig.SCHEMA.items()) for n, s in sorted(opts.items())
            if s["kind"] == "integer"]


@pytest.mark.parametrize("stype,name,spec", INTEGERS, ids=["%s.%s" % (t, n) for t, n, _ in INTEGERS])
def test_integer_ranges_are_the_daemons(stype, name, spec):
    low, high = spec["low"], spec["high"]
    assert accepted(stype, name, low) and accepted(stype, name, high)
    assert not accepted(stype, name, low - 1) and not accepted(stype, name, high + 1)


def test_defaults_are_what_the_daemon_assumes():
    settings, [lan] = parse(vhid_text(""))
    g = uciconfig.SCHEMA["globals"]
    v = uciconfig.SCHEMA["vhid"]
    assert settings.enabled is (g["enabled"]["default"] == "1")
    assert settings.status_file == g["status_file"]["default"]
    assert str(settings.status_interval) == g["status_interval"]["default"]
    assert settings.user_script is (g["user_script"]["default"] == "1")
    assert str(settings.hook_timeout) == g["hook_timeout"]["default"]
    for name in ("advbase", "advskew", "deadratio", "demote"):
        assert str(getattr(lan, name)) == v[name]["default"], name
    for name in ("preempt", "dnsmasq", "conntrackd", "enabled"):
        assert getattr(lan, name) is (v[name]["default"] == "1"), name
    assert lan.passphrase == v["password"]["default"].encode()
    assert lan.source is None and v["source"]["default"] is None
    # And they match the classes' own defaults (CLI mode uses those).
    plain = config.Globals()
    assert (plain.enabled, plain.status_file, plain.status_interval, plain.user_script, plain.hook_timeout) == \
        (settings.enabled, settings.status_file, settings.status_interval, settings.user_script, settings.hook_timeout)


def test_the_password_limit_is_the_wire_formats():
    spec = uciconfig.SCHEMA["vhid"]["password"]
    assert accepted("vhid", "password", "x" * spec["high"])
    assert not accepted("vhid", "password", "x" * (spec["high"] + 1))


def test_required_options_are_required():
    for stype, opts in uciconfig.SCHEMA.items():
        for name, spec in opts.items():
            if spec["required"]:
                assert stype == "vhid" and name in ("vhid", "address", "device", "interface")
    with pytest.raises(uciconfig.ConfigErrors) as e:
        parse("config vhid 'lan'\n" + DEVICE)
    assert sorted(err.where for err in e.value.errors) == ["carp.lan.address", "carp.lan.vhid"]
    # device or interface, not both, not neither
    assert uciconfig.SCHEMA["vhid"]["device"]["instead"] == "interface"
    assert uciconfig.SCHEMA["vhid"]["interface"]["instead"] == "device"
    with pytest.raises(uciconfig.ConfigErrors):
        parse("config vhid 'lan'\n\toption vhid '1'\n" + ADDRESS)


def test_list_options_take_several_values_and_single_ones_refuse_lists():
    for stype, opts in uciconfig.SCHEMA.items():
        for name, spec in opts.items():
            if spec["list"] or stype != "vhid" or name in ("vhid", "interface", "device"):
                continue
            with pytest.raises(uciconfig.ConfigErrors):
                parse(vhid_text("\tlist %s 'a'\n\tlist %s 'b'\n" % (name, name)))
    _, [lan] = parse(vhid_text("\tlist address '10.0.0.1'\n\tlist peer '192.168.1.2'\n\tlist peer 'fd00::2'\n"
                               "\tlist wan 'wan'\n\tlist wan 'wan6'\n"))
    assert len(lan.vips) == 2 and len(lan.peers) == 2 and lan.wan == ["wan", "wan6"]


SCRIPT = ("import json\nfrom carp import uciconfig\n"
          "print(json.dumps(uciconfig.SCHEMA))\n"
          "print(json.dumps([uciconfig.GLOBALS_OPTIONS, uciconfig.VHID_OPTIONS, uciconfig.SECTION_TYPES]))\n")


def test_micropython_has_the_same_schema():
    out = {}
    for name, argv, env in (("micropython", [command("micropython"), "-c", SCRIPT], {"MICROPYPATH": FIRMWARE}),
                            ("cpython", [sys.executable, "-c", SCRIPT], {"PYTHONPATH": FIRMWARE})):
        r = subprocess.run(argv, capture_output=True, text=True, timeout=60, env=dict(os.environ, **env))
        assert r.returncode == 0, r.stderr
        out[name] = [json.loads(line) for line in r.stdout.splitlines()]
    assert out["micropython"] == out["cpython"]
    assert out["cpython"][0] == json.loads(json.dumps(uciconfig.SCHEMA))
