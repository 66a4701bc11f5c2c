"""/etc/init.d/carp under busybox ash, with test doubles that RECORD what
would be sent to procd instead of sending it.

OpenWrt's rc.common, /lib/functions.sh, procd.sh and network.sh are not in
Debian, so tests/package/fakeroot holds doubles written for these tests:
the rc.common double dispatches start/stop/reload/running like the real one
with USE_PROCD=1, the procd.sh double writes one line per procd_* call (name
and arguments, tab separated) to a record file, except procd_running, which
runs the real one's `ubus call service list | jsonfilter` pipeline through
the ubus and jsonfilter doubles in usr/bin (jsonfilter as OpenWrt 25.12.0
shipped it, ignoring stdin, or as fixed), jshn.sh is a double of libubox's
(json_load through a double of the jshn binary), functions.sh implements
config_load/config_get/config_get_bool/config_foreach with the real
semantics, and network_get_device answers from a table; logger records what
would go to syslog. /usr/sbin/carpd is the real launcher (firmware/carpd)
with the real carp package, so `carpd --check` is the daemon's own reader.
Each test runs
`ash rc.common /etc/init.d/carp <action>` as `#!/bin/sh /etc/rc.common`
would, then reads what procd would have been told.
"""
import os
import shutil
import subprocess

import pytest

from tests.package.pkgtools import FILES, busybox, openwrt_env, openwrt_root

INIT = os.path.join(FILES, "carp.init")

ENABLED = """
config globals 'globals'
	option enabled '1'
	option status_file '/var/run/carp/status.json'

config vhid 'lan'
	option interface 'lan'
	option vhid '1'
	list address '192.168.1.254/24'

config vhid 'lan6'
	option interface 'lan'
	option vhid '2'
	list address 'fd00::1/64'

config vhid 'dmz'
	option device 'eth2'
	option vhid '3'
	list address '10.0.0.1/24'

config vhid 'guest'
	option interface 'guest'
	option vhid '4'
	list address '192.168.3.1/24'

config vhid 'iot'
	option enabled '0'
	option interface 'iot'
	option vhid '5'
	list address '192.168.4.1/24'
"""

NETWORK = """
config interface 'lan'
	option device 'br-lan'

config interface 'guest'
	option device 'br-guest'

config interface 'iot'
	option device 'br-iot'
"""

# lan and iot are up; guest is not (no device yet).
DEVICES = "lan=br-lan iot=br-iot wan=eth1"


JSONFILTERS = ["fixed", "broken"]


def run(tmp_path, action, config=ENABLED, running=False, devices=DEVICES, jsonfilter="fixed", code=0):
    """Run the init script action; return the recorded procd calls as lists.

    running: True/False is procd's answer for the instance carpd, "none" a
    procd that knows no carp service."""
    root = openwrt_root(tmp_path)
    initscript = os.path.join(root, "etc", "init.d", "carp")
    shutil.copy(INIT, initscript)
    with open(os.path.join(root, "etc", "config", "network"), "w") as f:
        f.write(NETWORK)
    if config is not None:
        with open(os.path.join(root, "etc", "config", "carp"), "w") as f:
            f.write(config)
    record = os.path.join(str(tmp_path), "procd.record")
    open(record, "w").close()
    env = openwrt_env(root, record, running if running == "none" else "1" if running else "0", jsonfilter,
                      FAKE_NETWORK_DEVICES=devices)
    r = subprocess.run([busybox(), "ash", os.path.join(root, "etc", "rc.common"), initscript, action],
                       env=env, capture_output=True, text=True, timeout=30)
    assert r.returncode == code, r.stdout + r.stderr
    logged = [c[-1] for c in read_record(record) if c[0] == "logger"]
    assert r.stderr == "".join(line + "\n" for line in logged), r.stderr
    return read_record(record)


def read_record(record):
    with open(record) as f:
        return [line.rstrip("\n").split("\t") for line in f]


def calls(record, name):
    return [c[1:] for c in record if c[0] == name]


def instance(record):
    """The parameters of the one instance declared, in order."""
    opened = [i for i, c in enumerate(record) if c[0] == "procd_open_instance"]
    assert len(opened) == 1, record
    start = opened[0]
    end = next(i for i in range(start, len(record)) if record[i][0] == "procd_close_instance")
    return record[start:end + 1]


def test_script_parses_and_has_the_rc_common_header():
    r = subprocess.run([busybox(), "ash", "-n", INIT], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    with open(INIT) as f:
        text = f.read()
    assert text.startswith("#!/bin/sh /etc/rc.common\n")
    # After network (20) and firewall (19); stopped first, so a master bows
    # out while the network is still up.
    for line in ("START=70", "STOP=01", "USE_PROCD=1"):
        assert "\n" + line + "\n" in text
    assert os.access(INIT, os.X_OK)


def test_shipped_config_is_disabled_so_start_declares_no_instance(tmp_path):
    with open(os.path.join(FILES, "carp.config")) as f:
        shipped = f.read()
    record = run(tmp_path, "start", config=shipped)
    assert calls(record, "procd_open_instance") == []
    assert calls(record, "procd_open_service")[0][0] == "carp"
    # Triggers are declared all the same: enabling it later is a config
    # change, and the reload that follows starts it.
    assert calls(record, "procd_add_reload_trigger") == [["carp"]]
    assert calls(record, "procd_add_reload_interface_trigger") == [["lan"]]
    assert calls(record, "procd_close_service") == [["set"]]


def test_enabled_start_declares_the_daemon(tmp_path):
    record = run(tmp_path, "start")
    params = instance(record)
    assert params[0] == ["procd_open_instance", "carpd"]
    assert ["procd_set_param", "command", "/usr/sbin/carpd", "-c", "/etc/config/carp"] in params
    assert ["procd_set_param", "respawn"] in params  # procd's defaults: 3600 5 5
    assert ["procd_set_param", "stdout", "1"] in params
    assert ["procd_set_param", "stderr", "1"] in params
    assert calls(record, "procd_close_service") == [["set"]]


def test_logs_go_to_syslog_under_the_name_carpd(tmp_path):
    """procd tags stdout/stderr lines with basename(command[0])."""
    command = [c for c in calls(run(tmp_path, "start"), "procd_set_param") if c[0] == "command"]
    assert len(command) == 1 and os.path.basename(command[0][1]) == "carpd"


def test_term_timeout_is_within_procds_five_seconds(tmp_path):
    timeout = [c for c in calls(run(tmp_path, "start"), "procd_set_param") if c[0] == "term_timeout"]
    assert len(timeout) == 1 and 1 <= int(timeout[0][1]) <= 5


def test_netdev_lists_every_bound_device_once(tmp_path):
    record = run(tmp_path, "start")
    netdevs = [c[1:] for c in calls(record, "procd_append_param") if c[0] == "netdev"]
    # lan (twice: one device), dmz's own device; not guest (down: no device
    # yet) nor iot (vhid disabled).
    assert netdevs == [["br-lan"], ["eth2"]]
    assert calls(record, "network_get_device") == [["lan"], ["lan"], ["guest"]]


def test_triggers_reload_on_config_change_and_on_every_vhid_interface(tmp_path):
    record = run(tmp_path, "start")
    assert calls(record, "procd_add_reload_trigger") == [["carp"]]
    assert calls(record, "procd_add_reload_interface_trigger") == [["lan"], ["guest"], ["iot"]]


def test_missing_globals_section_means_enabled(tmp_path):
    config = ENABLED.replace("config globals 'globals'\n\toption enabled '1'\n", "config globals 'other'\n")
    assert "enabled '1'" not in config.split("config vhid")[0]
    record = run(tmp_path, "start", config=config)
    assert calls(record, "procd_open_instance") == [["carpd"]]


@pytest.mark.parametrize("value,expected", [("1", 1), ("yes", 1), ("on", 1), ("true", 1), ("enabled", 1),
                                            ("0", 0), ("no", 0), ("off", 0), ("false", 0), ("disabled", 0)])
def test_enabled_takes_uci_booleans(tmp_path, value, expected):
    record = run(tmp_path, "start", config=ENABLED.replace("option enabled '1'", "option enabled '%s'" % value, 1))
    assert len(calls(record, "procd_open_instance")) == expected


def test_no_config_file_no_instance(tmp_path):
    record = run(tmp_path, "start", config=None)
    assert calls(record, "procd_open_instance") == []
    assert calls(record, "procd_add_reload_trigger") == [["carp"]]


@pytest.mark.parametrize("jsonfilter", JSONFILTERS)
def test_reload_of_a_running_daemon_is_a_sighup_not_a_restart(tmp_path, jsonfilter):
    """With OpenWrt 25.12.0's jsonfilter, procd_running is never true: a
    reload built on it re-registered an unchanged instance and the daemon
    kept its old settings."""
    record = run(tmp_path, "reload", running=True, jsonfilter=jsonfilter)
    assert calls(record, "procd_send_signal") == [["carp", "*", "HUP"]]
    for restart in ("procd_open_service", "procd_open_instance", "procd_kill", "procd_close_service"):
        assert calls(record, restart) == [], restart


@pytest.mark.parametrize("jsonfilter", JSONFILTERS)
@pytest.mark.parametrize("running", [False, "none"])
def test_reload_starts_the_daemon_once_it_is_enabled(tmp_path, jsonfilter, running):
    record = run(tmp_path, "reload", running=running, jsonfilter=jsonfilter)
    assert calls(record, "procd_send_signal") == []
    assert calls(record, "procd_open_instance") == [["carpd"]]
    assert calls(record, "procd_kill") == []


def test_reload_after_disabling_declares_no_instance_so_procd_stops_it(tmp_path):
    """`ubus call service set` with no instances makes procd drop the running one."""
    disabled = ENABLED.replace("option enabled '1'", "option enabled '0'", 1)
    record = run(tmp_path, "reload", config=disabled, running=True)
    assert calls(record, "procd_send_signal") == []
    assert calls(record, "procd_open_instance") == []
    assert calls(record, "procd_close_service") == [["set"]]


@pytest.mark.parametrize("jsonfilter", JSONFILTERS)
@pytest.mark.parametrize("running,code", [(True, 0), (False, 1), ("none", 1)])
def test_running_tells_procds_answer_whatever_jsonfilter_does(tmp_path, jsonfilter, running, code):
    run(tmp_path, "running", running=running, jsonfilter=jsonfilter, code=code)


def test_stop_asks_procd_to_kill_the_service(tmp_path):
    record = run(tmp_path, "stop")
    assert calls(record, "procd_kill") == [["carp", ""]]


def test_enable_links_start_70_and_kill_01(tmp_path):
    run(tmp_path, "enable")
    rcd = os.path.join(str(tmp_path), "root", "etc", "rc.d")
    assert sorted(os.listdir(rcd)) == ["K01carp", "S70carp"]


def test_lease_sync_adds_the_lease_replicator_instance(tmp_path):
    (tmp_path / "plain").mkdir()
    (tmp_path / "synced").mkdir()
    assert calls(run(tmp_path / "plain", "start"), "procd_open_instance") == [["carpd"]]
    synced = ENABLED.replace("\tlist address '192.168.1.254/24'\n",
                             "\tlist address '192.168.1.254/24'\n\toption dnsmasq '1'\n"
                             "\tlist lease_sync '192.168.1.2'\n", 1)
    record = run(tmp_path / "synced", "start", config=synced)
    assert calls(record, "procd_open_instance") == [["carpd"], ["leases"]]
    assert ["command", "/usr/sbin/carpd", "leases", "-c", "/etc/config/carp"] in calls(record, "procd_set_param")


# What libuci's config_load reads leniently and carpd refuses, and a rule
# across values that only carpd checks.
REFUSED = [
    (ENABLED.replace("list address '10.0.0.1/24'", "list address '10.0.0.1/24'\n\toption password my secret words"),
     "line 20: too many arguments to option 'password'"),
    (ENABLED.replace("list address '10.0.0.1/24'", "list address '10.0.0.1/24'\n\tlist address '10.0.0.1'"),
     "carp.dmz.address: '10.0.0.1' is not valid: each address once"),
]


@pytest.mark.parametrize("config,error", REFUSED)
def test_start_refuses_what_carpd_refuses_and_logs_why(tmp_path, config, error):
    record = run(tmp_path, "start", config=config)
    assert calls(record, "procd_open_instance") == []
    logged = calls(record, "logger")
    assert logged and all(c[:4] == ["-s", "-t", "carp", "-p"] and c[4] == "daemon.err" for c in logged)
    assert any(error in c[5] for c in logged), logged


@pytest.mark.parametrize("config,error", REFUSED)
def test_reload_with_a_refused_file_leaves_the_daemon_as_it_is(tmp_path, config, error):
    record = run(tmp_path, "reload", config=config, running=True, code=1)
    for change in ("procd_send_signal", "procd_open_service", "procd_open_instance", "procd_kill"):
        assert calls(record, change) == [], change
    assert any(error in c[5] for c in calls(record, "logger"))


def test_a_valid_file_is_checked_and_nothing_logged(tmp_path):
    record = run(tmp_path, "start")
    assert calls(record, "logger") == []
    assert calls(record, "procd_open_instance") == [["carpd"]]


@pytest.mark.parametrize("config,error", REFUSED)
def test_reload_of_a_stopped_daemon_with_a_refused_file_starts_nothing_and_logs_once(tmp_path, config, error):
    record = run(tmp_path, "reload", config=config, running="none")
    assert calls(record, "procd_open_instance") == [] and calls(record, "procd_send_signal") == []
    logged = [c[5] for c in calls(record, "logger")]
    assert len(logged) == len(set(logged)) and any(error in line for line in logged)  # checked once
