"""Transition hooks: the event format, the carp-hooks worker and the shipped
/etc/hotplug.d/carp recipes, run by busybox ash as on OpenWrt.

Test doubles (not the real OpenWrt commands, which cannot run here): a
recording `hotplug-call`, and recording `ifup`, `ifdown`, `conntrackd`,
`logger` and /etc/init.d/dnsmasq. They only write down what they were
called with; the worker and the recipes under test are the shipped files.
"""
import os
import shutil
import subprocess
import time

import pytest

from carp import hooks
from tests.tools import FIRMWARE, ROOT

WORKER = os.path.join(FIRMWARE, "carp-hooks")
RECIPES = os.path.join(ROOT, "package", "carp", "files", "hotplug.d", "carp")
BUSYBOX = shutil.which("busybox")
pytestmark = pytest.mark.skipif(BUSYBOX is None, reason="busybox not installed: run `make deps`")


def script(path, body):
    path.write_text("#!%s sh\n%s" % (BUSYBOX, body))
    os.chmod(str(path), 0o755)
    return str(path)


def recorder(tmp_path, name="hotplug-call", sleep=0):
    """A hotplug-call double: appends its arguments and whole environment."""
    log = tmp_path / (name + ".log")
    body = 'echo "start $(date +%%s.%%N) $*" >> %s\n' % log
    if sleep:
        body += "sleep %s\n" % sleep
    body += 'env | sort >> %s\necho "end $(date +%%s.%%N)" >> %s\n' % (log, log)
    return script(tmp_path / name, body), log


def run_worker(events, hotplug, timeout=30):
    text = "".join(hooks.event(e) for e in events)
    env = dict(os.environ, CARP_HOTPLUG_CALL=hotplug)
    return subprocess.run([BUSYBOX, "ash", WORKER], input=text, env=env, capture_output=True, text=True,
                          timeout=timeout)


def records(log):
    """[(args, env dict, start, end)] per hook run, from a recorder's log."""
    out = []
    lines = log.read_text().splitlines() if log.exists() else []
    current = None
    for line in lines:
        if line.startswith("start "):
            _, stamp, args = line.split(" ", 2)
            current = [args, {}, float(stamp), None]
        elif line.startswith("end "):
            current[3] = float(line.split()[1])
            out.append(tuple(current))
        elif "=" in line and current is not None:
            key, value = line.split("=", 1)
            current[1][key] = value
    return out


EVENT = {"ACTION": "MASTER", "PREVIOUS": "BACKUP", "VHID": 1, "INSTANCE": "lan", "INTERFACE": "lan",
         "DEVICE": "br-lan", "VIPS": "192.168.1.254/24 fd00::1/64", "REASON": "master down", "PEER": "192.168.1.3",
         "VMAC": "00:00:5e:00:01:01", "VMAC_DEVICE": "vmac5.1",
         "CARP_DNSMASQ": 1, "CARP_LEASE_HOLD": "/var/run/carp/leases.hold", "CARP_WAN": "wan", "CARP_CONNTRACKD": 0, "CARP_USER_SCRIPT": 0, "TIMEOUT": 30}


def test_event_format_is_key_value_lines_and_an_empty_line():
    text = hooks.event({"REASON": "a\nb\rc\0d", "ACTION": "MASTER", "NOT_A_KEY": "x"})
    assert text == "ACTION=MASTER\nREASON=a b c d\n\n"
    assert len(hooks.event({"VIPS": "x" * 10000})) <= hooks.MAX_EVENT


def test_worker_runs_hotplug_call_carp_with_exactly_the_event(tmp_path):
    hotplug, log = recorder(tmp_path)
    r = run_worker([EVENT], hotplug)
    assert r.returncode == 0, r.stderr
    [(args, env, _, _)] = records(log)
    assert args == "carp"
    expected = dict((k, str(v)) for k, v in EVENT.items() if k != "TIMEOUT")
    expected["PATH"] = "/usr/sbin:/usr/bin:/sbin:/bin"
    for own in ("PWD", "SHLVL"):  # set by the shell that runs the recorder itself
        env.pop(own, None)
    assert env == expected  # nothing inherited (env -i), nothing missing


def test_values_never_reach_a_shell_as_code(tmp_path):
    hotplug, log = recorder(tmp_path)
    marker = tmp_path / "pwned"
    nasty = {
        "INSTANCE": "$(touch %s)" % marker,
        "REASON": "`touch %s` ; touch %s && echo '\"x\"' \\ *" % (marker, marker),
        "VIPS": "*",
        "PEER": "${HOME}",
    }
    (tmp_path / "somefile").write_text("")  # something a glob could match
    r = run_worker([dict(EVENT, **nasty)], hotplug)
    assert r.returncode == 0, r.stderr
    [(_, env, _, _)] = records(log)
    for key, value in nasty.items():
        assert env[key] == value
    assert not marker.exists()


def test_unknown_keys_are_not_exported(tmp_path):
    hotplug, log = recorder(tmp_path)
    text = "ACTION=MASTER\nLD_PRELOAD=/tmp/evil.so\nPATH=/tmp\n\n"
    subprocess.run([BUSYBOX, "ash", WORKER], input=text, env=dict(os.environ, CARP_HOTPLUG_CALL=hotplug),
                   capture_output=True, text=True, timeout=30)
    [(_, env, _, _)] = records(log)
    assert "LD_PRELOAD" not in env and env["PATH"] == "/usr/sbin:/usr/bin:/sbin:/bin"


def test_events_run_in_order_one_at_a_time(tmp_path):
    hotplug, log = recorder(tmp_path, sleep=0.2)
    actions = ["BACKUP", "MASTER", "BACKUP", "MASTER", "STOP"]
    r = run_worker([dict(EVENT, ACTION=a) for a in actions], hotplug)
    assert r.returncode == 0, r.stderr
    runs = records(log)
    assert [env["ACTION"] for _, env, _, _ in runs] == actions
    for (_, _, _, end), (_, _, start, _) in zip(runs, runs[1:]):
        assert start >= end  # serialized: the next starts after the previous ended


def test_a_hook_that_hangs_is_stopped_after_the_timeout_and_the_next_one_runs(tmp_path):
    slow = script(tmp_path / "hotplug-call", 'echo "$ACTION" >> %s\n[ "$ACTION" = MASTER ] && sleep 30\n'
                  % (tmp_path / "ran"))
    started = time.monotonic()
    r = run_worker([dict(EVENT, ACTION="MASTER", TIMEOUT=1), dict(EVENT, ACTION="BACKUP")], slow)
    assert time.monotonic() - started < 10
    assert (tmp_path / "ran").read_text().split() == ["MASTER", "BACKUP"]
    assert "stopped after 1s" in r.stderr


def test_no_hotplug_call_means_events_are_consumed_quietly(tmp_path):
    r = run_worker([EVENT, EVENT], str(tmp_path / "missing"))
    assert r.returncode == 0 and r.stderr == ""


# -- the recipes, sourced as OpenWrt's hotplug-call does ----------------------

@pytest.fixture
def doubles(tmp_path):
    """PATH with recording ifup/ifdown/conntrackd/logger, an init.d with dnsmasq."""
    bin_dir = tmp_path / "bin"
    initd = tmp_path / "init.d"
    bin_dir.mkdir()
    initd.mkdir()
    calls = tmp_path / "calls"
    for name in ("ifup", "ifdown", "conntrackd", "logger"):
        script(bin_dir / name, 'echo "%s $*" >> %s\n' % (name, calls))
    script(initd / "dnsmasq", 'echo "dnsmasq $*" >> %s\n' % calls)
    env = {"PATH": "%s:/usr/bin:/bin" % bin_dir, "CARP_INITD": str(initd)}
    return env, calls, bin_dir


def hotplug_call(env, **event):
    """What /sbin/hotplug-call carp does: source every script in ls order, each in a subshell."""
    runner = 'for script in $(ls %s/* 2>&-); do ( [ -f $script ] && . $script ); done' % RECIPES
    full = dict(env, **dict((k, str(v)) for k, v in event.items()))
    return subprocess.run([BUSYBOX, "ash", "-c", runner], env=full, capture_output=True, text=True, timeout=30)


def called(calls):
    return [l for l in calls.read_text().splitlines() if not l.startswith("logger")] if calls.exists() else []


def base(**kw):
    event = dict(ACTION="MASTER", INSTANCE="lan", CARP_DNSMASQ=0, CARP_WAN="", CARP_CONNTRACKD=0,
                 CARP_USER_SCRIPT=0)
    event.update(kw)
    return event


def test_recipes_are_off_by_default(doubles):
    env, calls, _ = doubles
    for action in ("MASTER", "BACKUP", "INIT", "STOP"):
        assert hotplug_call(env, **base(ACTION=action)).returncode == 0
    assert not calls.exists()


@pytest.mark.parametrize("action, expected", [
    ("MASTER", ["dnsmasq restart"]), ("BACKUP", ["dnsmasq stop"]),
    ("INIT", ["dnsmasq stop"]), ("STOP", ["dnsmasq stop"]),
])
def test_dnsmasq_serves_only_on_the_master(doubles, action, expected):
    env, calls, _ = doubles
    hotplug_call(env, **base(ACTION=action, CARP_DNSMASQ=1))
    assert called(calls) == expected


def test_a_starting_lease_replicator_holds_dnsmasq_on_a_new_master(doubles, tmp_path):
    env, calls, _ = doubles
    hold = tmp_path / "leases.hold"
    event = base(CARP_DNSMASQ=1, CARP_LEASE_HOLD=hold)
    hotplug_call(env, **event)  # no file: nothing holds
    holder = subprocess.Popen(["sleep", "30"])  # a live process stands for `carpd leases`
    try:
        hold.write_text("%d\n" % holder.pid)
        hotplug_call(env, **event)
        hotplug_call(env, **dict(event, ACTION="BACKUP"))
    finally:
        holder.kill()
        holder.wait()
    hotplug_call(env, **event)  # its PID is gone: the file left behind holds nothing
    hold.write_text("not a pid\n")
    hotplug_call(env, **event)
    hold.write_text("%d\n" % holder.pid)
    hotplug_call(env, **base(CARP_DNSMASQ=1, CARP_LEASE_HOLD=""))  # no lease_sync
    assert called(calls) == ["dnsmasq restart", "dnsmasq stop", "dnsmasq stop", "dnsmasq restart",
                             "dnsmasq restart", "dnsmasq restart"]
    assert "logger -t carp-hook dnsmasq: MASTER of lan, held by carpd leases" in calls.read_text()


@pytest.mark.parametrize("action, verb", [("MASTER", "ifup"), ("BACKUP", "ifdown"), ("STOP", "ifdown")])
def test_wan_interfaces_follow_the_master(doubles, action, verb):
    env, calls, _ = doubles
    hotplug_call(env, **base(ACTION=action, CARP_WAN="wan wan6"))
    assert called(calls) == ["%s wan" % verb, "%s wan6" % verb]


def test_wan_names_are_not_globbed(doubles, tmp_path):
    env, calls, _ = doubles
    subprocess.run([BUSYBOX, "ash", "-c", "cd %s && for s in %s/20-wan; do ( . $s ); done" % (tmp_path, RECIPES)],
                   env=dict(env, ACTION="MASTER", INSTANCE="lan", CARP_WAN="*"), timeout=30)
    assert called(calls) == ["ifup *"]


@pytest.mark.parametrize("action, expected", [
    ("MASTER", ["conntrackd -c", "conntrackd -f", "conntrackd -R", "conntrackd -B"]),
    ("BACKUP", ["conntrackd -n"]), ("INIT", ["conntrackd -t"]), ("STOP", ["conntrackd -t"]),
])
def test_conntrackd_handover_as_primary_backup_sh(doubles, action, expected):
    env, calls, _ = doubles
    hotplug_call(env, **base(ACTION=action, CARP_CONNTRACKD=1))
    assert called(calls) == expected


def test_conntrackd_missing_is_logged_not_fatal(doubles):
    env, calls, bin_dir = doubles
    os.remove(str(bin_dir / "conntrackd"))
    assert hotplug_call(env, **base(CARP_CONNTRACKD=1)).returncode == 0
    assert "not installed" in calls.read_text()


def test_user_script_is_sourced_only_when_switched_on(doubles, tmp_path):
    env, calls, _ = doubles
    user = tmp_path / "carp.user"
    user.write_text('echo "user $ACTION $INSTANCE $VIPS" >> %s\n' % calls)
    env = dict(env, CARP_USER_FILE=str(user))
    hotplug_call(env, **base(ACTION="BACKUP"))
    assert not calls.exists()
    hotplug_call(env, **base(ACTION="MASTER", CARP_USER_SCRIPT=1, VIPS="10.0.0.1/24"))
    assert called(calls) == ["user MASTER lan 10.0.0.1/24"]


def test_shipped_carp_user_is_harmless_when_sourced(doubles):
    env, calls, _ = doubles
    env = dict(env, CARP_USER_FILE=os.path.join(ROOT, "package", "carp", "files", "carp.user"))
    assert hotplug_call(env, **base(CARP_USER_SCRIPT=1)).returncode == 0
    assert not calls.exists()
