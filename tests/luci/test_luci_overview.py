"""Status -> Overview widget (view/status/include/60_carp.js), as
luci-app-keepalived has one: run under node with the recording stand-ins of
tests/luci/standins.js (not LuCI), loaded and rendered once per answer the
way the overview page refreshes its includes, fed with what `ubus call carp
status` answers: the real rpcd plugin on a real carpd's status file (the
netns lab), and the plugin's answer when carpd is not running."""
import os
import subprocess

import pytest

from tests.luci.luciviews import lab_status  # noqa: F401 (fixtures)
from tests.luci.luciviews import APP, node_command, rpcd_status, run_views

WIDGET = os.path.join(APP, "htdocs", "luci-static", "resources", "view", "status", "include", "60_carp.js")


def cells(row):
    return dict((c["title"], c["text"]) for c in row["cells"])


def test_the_widget_is_valid_javascript_and_needs_only_luci_modules(tmp_path):
    with open(WIDGET) as f:
        text = f.read()
    wrapped = tmp_path / "widget.js"
    wrapped.write_text("(function(_, N_, E, L) {\n" + text + "\n});\n")
    r = subprocess.run([node_command(), "--check", str(wrapped)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert [line for line in text.split("\n") if line.startswith("'require ")] == [
        "'require baseclass';", "'require rpc';"]


def test_each_vhid_of_the_running_daemon_has_a_line(lab_status, tmp_path):
    out = run_views({"overview": {"path": WIDGET, "replies": [lab_status.first, lab_status.later]}},
                    tmp_path)["overview"]
    assert out["title"] == "CARP failover"
    assert [(d["object"], d["method"]) for d in out["declared"]] == [("carp", "status")]
    for shown, doc in zip(out["shown"], (lab_status.first, lab_status.later)):
        assert [r["name"] for r in shown["rows"]] == [v["name"] for v in doc["vhids"]]
        for row, v in zip(shown["rows"], doc["vhids"]):
            assert cells(row) == {"Group": "%s (%s)" % (v["name"], v["device"]), "VHID": str(v["vhid"]),
                                  "State": v["state"], "Master": v["master"] or "-",
                                  "Addresses": " ".join(v["addresses"])}


def test_without_a_running_daemon_it_says_so(tmp_path):
    stopped = rpcd_status(tmp_path, str(tmp_path / "status.json"), running="none")
    out = run_views({"overview": {"path": WIDGET, "replies": [stopped]}}, tmp_path)["overview"]
    assert stopped["error"] in out["shown"][0]["text"] and out["shown"][0]["rows"] == []
    assert "No answer from ubus call carp status." in out["shown"][1]["text"]  # the call failed altogether
