"""`/etc/init.d/carp reload` against a real carpd: what a user does after
changing /etc/config/carp, with the jsonfilter OpenWrt 25.12.0 shipped
(ignores stdin, openwrt/packages#28873) and a fixed one.

carpd runs in the lab (board/lab/carpctl.start_carp_uci, MicroPython, as the
`carp` package runs it). The init script runs under busybox ash with the
OpenWrt doubles of tests/package/fakeroot (each says what real behaviour it
keeps): ubus answers that procd runs the instance, jsonfilter is the broken
or the fixed one, and procd_send_signal delivers its signal to the running
launcher, as procd does. What changed is read from the daemon's own status
file: the advskew it advertises."""
import json
import os
import subprocess

import pytest

from board.lab.carpctl import Kernel, log_of, start_carp_uci
from tests.lab.test_uci_lab import lan_section
from tests.package.pkgtools import FILES, busybox, openwrt_env, openwrt_root


def advskew(proc):
    try:
        doc = json.loads(proc.status_file.read_text())
    except (OSError, ValueError):
        return None
    return {v["name"]: v["advskew"] for v in doc.get("vhids", [])}.get("lan")


@pytest.mark.parametrize("jsonfilter", ["broken", "fixed"])
def test_reload_applies_a_changed_advskew_to_the_running_daemon(lab, tmp_path, jsonfilter):
    with Kernel(lab) as kernel:
        r1 = start_carp_uci(lab, "r1", "micropython", tmp_path, [("lan", lan_section(lab, 0, 0))])
        assert kernel.wait_holders(["r1"], 6.0) is not None, log_of(r1)
        assert lab.wait_for(lambda: advskew(r1) == 0, 5.0), log_of(r1)

        root = openwrt_root(tmp_path / "openwrt")
        os.symlink(str(r1.conf), os.path.join(root, "etc", "config", "carp"))  # what config_load and --check read
        initscript = os.path.join(root, "etc", "init.d", "carp")
        with open(os.path.join(FILES, "carp.init")) as f, open(initscript, "w") as out:
            out.write(f.read())
        record = str(tmp_path / "procd.record")
        env = openwrt_env(root, record, "1", jsonfilter, FAKE_PROCD_PID=str(r1.pid))

        r1.conf.write_text(r1.conf.read_text().replace("option advskew '0'", "option advskew '50'"))
        r = subprocess.run([busybox(), "ash", os.path.join(root, "etc", "rc.common"), initscript, "reload"],
                           env=env, capture_output=True, text=True, timeout=60)
        assert r.returncode == 0 and r.stderr == "", r.stdout + r.stderr
        assert lab.wait_for(lambda: advskew(r1) == 50, 5.0), log_of(r1)
        assert r1.poll() is None  # the same process: a reload, not a restart
        assert "reloaded:" in log_of(r1), log_of(r1)
        with open(record) as f:
            calls = [line.split("\t")[0] for line in f]
        assert "procd_send_signal" in calls and "procd_open_instance" not in calls
