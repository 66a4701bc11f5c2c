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

from tests.package.pkgtools import FILES, busybox, rpcd_plugin

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


def plugin(tmp_path, *args, config=None, stdin="{}", running="1", run_dir=None):
    """Run the plugin; return (code, stdout). running, run_dir (CARP_RUN_DIR,
    root's environment): see pkgtools.rpcd_plugin."""
    r = rpcd_plugin(tmp_path, *args, config=config, stdin=stdin, running=running, run_dir=run_dir)
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
    code, out = plugin(tmp_path, "call", "status", run_dir=status_file.parent)
    assert code == 0
    assert json.loads(out) == STATUS


def test_call_status_without_the_file_returns_an_error_object(tmp_path):
    missing = tmp_path / "nowhere" / "status.json"
    code, out = plugin(tmp_path, "call", "status", run_dir=missing.parent)
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
    code, out = plugin(tmp_path, "call", "status", running=running, run_dir=tmp_path)
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
        "carp.guest.vhid: '300' is not valid: an integer 1..255 (decimal digits only)"]


def test_json_is_built_with_jshn_not_sed():
    with open(PLUGIN) as f:
        text = f.read()
    assert ". \"$IPKG_INSTROOT/usr/share/libubox/jshn.sh\"" in text
    assert "sed" not in text and "printf '{" not in text


def test_an_empty_status_file_is_no_status(tmp_path):
    empty = tmp_path / "status.json"
    empty.write_text("")
    code, out = plugin(tmp_path, "call", "status", run_dir=tmp_path)
    assert "error" in json.loads(out)


def test_the_error_object_stays_valid_json_for_any_path(tmp_path):
    odd = tmp_path / 'we"ird\\dir'
    code, out = plugin(tmp_path, "call", "status", run_dir=odd)
    assert json.loads(out)["status_file"] == str(odd / "status.json")


def secret_and_run_dir(tmp_path):
    """A root-only file (valid JSON, so cat would pass it on) and an empty run directory."""
    secret = tmp_path / "shadow"
    secret.write_text('{"root": "$6$hash"}\n')
    run = tmp_path / "run"
    run.mkdir()
    return secret, run


def test_a_file_named_in_the_config_is_never_returned(tmp_path):
    # issue 13: LuCI's ACL grants `uci write carp`; the plugin runs as root.
    secret, run = secret_and_run_dir(tmp_path)
    code, out = plugin(tmp_path / "p", "call", "status", config=config_with(secret), run_dir=run)
    assert "$6$hash" not in out
    assert json.loads(out)["status_file"] == str(run / "status.json")


def test_a_symlink_in_place_of_the_status_file_is_not_followed(tmp_path):
    secret, run = secret_and_run_dir(tmp_path)
    (run / "status.json").symlink_to(secret)
    code, out = plugin(tmp_path / "p", "call", "status", run_dir=run)
    assert "$6$hash" not in out and "error" in json.loads(out)


def test_the_default_path_is_read_whatever_the_config_says(tmp_path):
    if os.path.exists("/var/run/carp/status.json"):
        pytest.skip("this machine has a /var/run/carp/status.json")
    code, out = plugin(tmp_path, "call", "status", config=config_with("/etc/shadow"))
    assert json.loads(out)["status_file"] == "/var/run/carp/status.json"
    code, out = plugin(tmp_path / "bare", "call", "status", config=None)  # no /etc/config/carp at all
    assert json.loads(out)["status_file"] == "/var/run/carp/status.json"


def test_an_unknown_method_is_an_error(tmp_path):
    code, out = plugin(tmp_path, "call", "dump")
    assert code != 0
    assert "unknown method" in json.loads(out)["error"]


SIGNAL_CATCHER = r'''
import signal, sys, time
signal.signal(signal.SIGUSR1, lambda *_: open(sys.argv[1], "a").write("USR1\n"))
print("ready", flush=True)
time.sleep(20)
'''


@pytest.mark.parametrize("age,asked", [(60, True), (0, False)])
def test_a_stale_document_gets_a_refresh_request_a_fresh_one_does_not(tmp_path, age, asked):
    """carpd writes its counters only now and then (issue 17): the plugin sends
    SIGUSR1 to the launcher (its PID beside the file) when the document is
    older than 10 s, so LuCI's 3 s poll wakes the daemon at most every 10 s."""
    import sys
    import time
    run = tmp_path / "run"
    run.mkdir()
    status_file = run / "status.json"
    status_file.write_text(json.dumps(STATUS) + "\n")
    os.utime(str(status_file), (time.time() - age, time.time() - age))
    got = tmp_path / "signals"
    launcher = subprocess.Popen([sys.executable, "-c", SIGNAL_CATCHER, str(got)], stdout=subprocess.PIPE, text=True)
    try:
        assert launcher.stdout.readline().strip() == "ready"
        (run / "carpd.pid").write_text("%d\n" % launcher.pid)
        code, out = plugin(tmp_path / "plugin", "call", "status", run_dir=run)
        assert code == 0 and json.loads(out) == STATUS  # this call answers with what is there
        time.sleep(0.3)
        assert (got.exists() and got.read_text() == "USR1\n") == asked
    finally:
        launcher.kill()
        launcher.wait()
