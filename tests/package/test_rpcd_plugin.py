"""/usr/libexec/rpcd/carp under busybox ash, called the way rpcd calls an
exec plugin: `carp list` once, then `carp call status` with the arguments
on stdin. `uci` is a test double (tests/package/fakeroot/bin/uci) that
reads a UCI file from a temporary directory; OpenWrt's uci is not in
Debian."""
import json
import os
import subprocess

import pytest

from pkgtools import FILES, busybox, copy_fakeroot

PLUGIN = os.path.join(FILES, "carp.rpcd")

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


def plugin(tmp_path, *args, config=None, stdin="{}", run_dir=None):
    """Run the plugin with the uci double on PATH and CARP_RUN_DIR=run_dir
    (root's environment, as procd gives it); return (code, stdout)."""
    os.makedirs(str(tmp_path), exist_ok=True)
    root = copy_fakeroot(tmp_path)
    bindir = os.path.join(str(tmp_path), "bin")
    os.makedirs(bindir)
    with open(os.path.join(bindir, "uci"), "w") as f:  # the double, run by busybox ash
        f.write("#!%s ash\n. %s/bin/uci\n" % (busybox(), root))
    os.chmod(os.path.join(bindir, "uci"), 0o755)
    if config is not None:
        with open(os.path.join(root, "etc", "config", "carp"), "w") as f:
            f.write(config)
    env = {"PATH": bindir + ":/usr/sbin:/usr/bin:/sbin:/bin", "IPKG_INSTROOT": root,
           "UCI_CONFIG_DIR": os.path.join(root, "etc", "config")}
    if run_dir is not None:
        env["CARP_RUN_DIR"] = str(run_dir)
    r = subprocess.run([busybox(), "ash", PLUGIN] + list(args), env=env, input=stdin,
                       capture_output=True, text=True, timeout=30)
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
    assert json.loads(out) == {"status": {}}


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
    assert "not running" in reply["error"]
    assert reply["status_file"] == str(missing)


def test_an_empty_status_file_is_no_status(tmp_path):
    empty = tmp_path / "status.json"
    empty.write_text("")
    code, out = plugin(tmp_path, "call", "status", run_dir=tmp_path)
    assert "error" in json.loads(out)


def test_the_error_object_stays_valid_json_for_any_path(tmp_path):
    odd = tmp_path / 'we"ird\\dir'
    code, out = plugin(tmp_path, "call", "status", run_dir=odd)
    assert json.loads(out)["status_file"] == str(odd / "status.json")


def test_the_default_path_is_read_whatever_the_config_says(tmp_path):
    if os.path.exists("/var/run/carp/status.json"):
        pytest.skip("this machine has a /var/run/carp/status.json")
    code, out = plugin(tmp_path, "call", "status", config="config globals 'globals'\n\toption enabled '1'\n")
    assert json.loads(out)["status_file"] == "/var/run/carp/status.json"
    code, out = plugin(tmp_path / "bare", "call", "status", config=None)  # no /etc/config/carp at all
    assert json.loads(out)["status_file"] == "/var/run/carp/status.json"


def test_a_file_named_in_the_config_is_never_returned(tmp_path):
    # issue 13: LuCI's ACL grants `uci write carp`; the plugin runs as root.
    secret = tmp_path / "shadow"
    secret.write_text('{"root": "$6$hash"}\n')
    run = tmp_path / "run"
    run.mkdir()
    code, out = plugin(tmp_path, "call", "status", config=config_with(secret), run_dir=run)
    assert "$6$hash" not in out
    assert json.loads(out)["status_file"] == str(run / "status.json")


def test_a_symlink_in_place_of_the_status_file_is_not_followed(tmp_path):
    secret = tmp_path / "shadow"
    secret.write_text('{"root": "$6$hash"}\n')
    run = tmp_path / "run"
    run.mkdir()
    (run / "status.json").symlink_to(secret)
    code, out = plugin(tmp_path, "call", "status", run_dir=run)
    assert "$6$hash" not in out and "error" in json.loads(out)


def test_an_unknown_method_is_an_error(tmp_path):
    code, out = plugin(tmp_path, "call", "dump")
    assert code != 0
    assert "unknown method" in json.loads(out)["error"]
