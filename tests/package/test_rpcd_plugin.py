"""/usr/libexec/rpcd/carp under busybox ash, called the way rpcd calls an
exec plugin: `carp list` once, then `carp call <method>` with the arguments
on stdin. OpenWrt's uci, ubus, jshn and rc.common are not in Debian, so
these are the doubles of tests/package/fakeroot (each file says what real
behaviour it keeps): `uci` reads a UCI file from a temporary directory,
jshn.sh builds and reads JSON in ash (json_load through a jshn double),
`ubus call service list` answers as procd does for a running, stopped or
unknown carp service ($FAKE_PROCD_RUNNING), and /etc/init.d/carp is the
real init script run by the rc.common double, as its `#!/bin/sh
/etc/rc.common` line makes the kernel do. /usr/sbin/carpd is the real
launcher with the real carp package (for `check`)."""
import json
import os
import subprocess

import pytest

from pkgtools import FILES, busybox, rpcd_plugin

PLUGIN = os.path.join(FILES, "carp.rpcd")  # pkgtools.rpcd_plugin runs it

STATUS = {
    "version": "0.1.0",
    "updated": 1795550000,
    "drops": {},
    "hooks": {"sent": 2, "dropped": 0},
    "vhids": [{"name": "lan", "device": "br-lan", "vhid": 1, "state": "MASTER", "previous": "BACKUP",
               "since": 1795549990, "reason": "master down: no advertisement for 3390 ms",
               "transitions": 2, "master": "192.168.1.1", "addresses": ["192.168.1.254/24"],
               "advbase": 1, "advskew": 0, "demote": 0, "rx": 10, "tx": 3, "tx_errors": 0, "drops": {}}],
}


def plugin(tmp_path, *args, config=None, stdin="{}", running="1"):
    """Run the plugin; return (code, stdout). running: see pkgtools.rpcd_plugin."""
    r = rpcd_plugin(tmp_path, *args, config=config, stdin=stdin, running=running)
    assert r.stderr == "", r.stderr
    return r.returncode, r.stdout


def config_with(path):
    return "config globals 'globals'\n\toption enabled '1'\n\toption status_file '%s'\n" % path


def test_plugin_parses_under_busybox_ash_and_is_executable():
    r = subprocess.run([busybox(), "ash", "-n", PLUGIN], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert os.access(PLUGIN, os.X_OK)


def test_list_prints_the_method_map_as_json(tmp_path):
    code, out = plugin(tmp_path, "list")
    assert code == 0
    assert json.loads(out) == {"status": {}, "check": {}}


def test_call_status_returns_the_status_file(tmp_path):
    status_file = tmp_path / "run" / "status.json"
    status_file.parent.mkdir()
    status_file.write_text(json.dumps(STATUS) + "\n")
    code, out = plugin(tmp_path, "call", "status", config=config_with(status_file))
    assert code == 0
    assert json.loads(out) == STATUS


def test_call_status_without_the_file_returns_an_error_object(tmp_path):
    missing = tmp_path / "nowhere" / "status.json"
    code, out = plugin(tmp_path, "call", "status", config=config_with(missing))
    assert code == 0  # an object LuCI can show, not a failed call
    reply = json.loads(out)
    assert "not written it yet" in reply["error"]
    assert reply["status_file"] == str(missing)


@pytest.mark.parametrize("running", ["none", "0"])
def test_after_stop_the_last_document_is_not_passed_off_as_live(tmp_path, running):
    """The status file outlives the daemon: `stop` (procd knows no carp
    service) or a daemon procd gave up on (instance not running)."""
    status_file = tmp_path / "status.json"
    status_file.write_text(json.dumps(STATUS) + "\n")
    code, out = plugin(tmp_path, "call", "status", config=config_with(status_file), running=running)
    reply = json.loads(out)
    assert code == 0
    assert "carpd is not running" in reply["error"] and reply["running"] is False
    assert reply["status_file"] == str(status_file)


def test_check_says_valid_for_a_file_carpd_takes(tmp_path):
    code, out = plugin(tmp_path, "call", "check", config=config_with("/var/run/carp/status.json"))
    assert code == 0
    assert json.loads(out) == {"valid": True, "errors": []}


def test_check_lists_every_error_of_a_file_carpd_refuses(tmp_path):
    config = config_with("/var/run/carp/status.json") + (
        "\nconfig vhid 'guest'\n\toption device 'br-guest'\n\toption vhid '300'\n"
        "\tlist address '192.168.1.253/24'\n\tlist address '192.168.1.253'\n")
    code, out = plugin(tmp_path, "call", "check", config=config)
    reply = json.loads(out)
    assert code == 0 and reply["valid"] is False
    assert sorted(reply["errors"]) == [
        "carp.guest.address: '192.168.1.253' is not valid: each address once (it is already listed)",
        "carp.guest.vhid: '300' is not valid: an integer 1..255"]


def test_json_is_built_with_jshn_not_sed():
    with open(PLUGIN) as f:
        text = f.read()
    assert ". \"$IPKG_INSTROOT/usr/share/libubox/jshn.sh\"" in text
    assert "sed" not in text and "printf '{" not in text


def test_an_empty_status_file_is_no_status(tmp_path):
    empty = tmp_path / "status.json"
    empty.write_text("")
    code, out = plugin(tmp_path, "call", "status", config=config_with(empty))
    assert "error" in json.loads(out)


def test_the_error_object_stays_valid_json_for_any_path(tmp_path):
    odd = str(tmp_path / 'we"ird\\dir' / "status.json")
    code, out = plugin(tmp_path, "call", "status", config=config_with(odd))  # single quotes: literal
    assert json.loads(out)["status_file"] == odd


def test_without_status_file_option_the_default_path_is_read(tmp_path):
    if os.path.exists("/var/run/carp/status.json"):
        pytest.skip("this machine has a /var/run/carp/status.json")
    code, out = plugin(tmp_path, "call", "status", config="config globals 'globals'\n\toption enabled '1'\n")
    assert json.loads(out)["status_file"] == "/var/run/carp/status.json"
    code, out = plugin(tmp_path / "bare", "call", "status", config=None)  # no /etc/config/carp at all
    assert json.loads(out)["status_file"] == "/var/run/carp/status.json"


def test_an_unknown_method_is_an_error(tmp_path):
    code, out = plugin(tmp_path, "call", "dump")
    assert code != 0
    assert "unknown method" in json.loads(out)["error"]
