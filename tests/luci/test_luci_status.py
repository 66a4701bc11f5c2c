"""Status -> CARP (view/carp/status.js), run under node with recording
stand-ins for LuCI's view, rpc, poll and dom modules (tests/luci/standins.js;
not LuCI itself), fed with what `ubus call carp status` answers: the real
rpcd plugin reading the status file of a real carpd, run in the netns lab
(conftest.lab_status), and the plugin's own answer when there is no file."""
import os
import time

import pytest

from tests.luci.luciviews import lab_status  # noqa: F401 (fixtures)
from tests.luci.luciviews import VIEWS, rpcd_check, rpcd_status, run_views

STATUS = os.path.join(VIEWS, "status.js")
COLUMNS = ["Group", "VHID", "State", "Since", "Master", "Addresses", "Ours / seen", "RX / TX", "Drops", "Reason"]


def clock(seconds):
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(seconds))  # run_views sets TZ=UTC


@pytest.fixture(scope="module")
def no_daemon(tmp_path_factory):
    """The plugin's answer after /etc/init.d/carp stop: procd knows no carp
    service, and the status file is gone or stale."""
    tmp = tmp_path_factory.mktemp("nodaemon")
    return rpcd_status(tmp, str(tmp / "absent" / "status.json"), running="none")


GOOD = "config globals 'globals'\n\toption enabled '1'\n"
REFUSED = GOOD + ("config vhid 'guest'\n\toption device 'br-guest'\n\toption vhid '300'\n"
                  "\tlist address '192.168.1.253/24'\n\tlist address '192.168.1.253'\n")


@pytest.fixture(scope="module")
def checks(tmp_path_factory):
    """`ubus call carp check` (the real plugin and carpd --check) on a good and a refused file."""
    tmp = tmp_path_factory.mktemp("check")
    return {"good": rpcd_check(tmp, GOOD), "refused": rpcd_check(tmp, REFUSED)}


@pytest.fixture(scope="module")
def shown(lab_status, tmp_path_factory):
    request = {"status": {"path": STATUS, "replies": [lab_status.first, lab_status.later]}}
    return run_views(request, tmp_path_factory.mktemp("status"))["status"]


def cells(row):
    return dict((c["title"], c["text"]) for c in row["cells"])


# --- without a daemon (no lab needed) ---------------------------------------------------------

def test_it_asks_ubus_carp_status_and_polls_every_few_seconds(no_daemon, checks, tmp_path):
    out = run_views({"status": {"path": STATUS, "replies": [no_daemon, checks["good"]]}}, tmp_path)["status"]
    assert [(d["object"], d["method"]) for d in out["declared"]] == [("carp", "status"), ("carp", "check")]
    assert [p["interval"] for p in out["polls"]] == [3]
    assert out["buttons"] == {"handleSave": None, "handleSaveApply": None, "handleReset": None}


def test_without_a_running_daemon_the_plugins_message_is_shown(no_daemon, checks, tmp_path):
    assert "not running" in no_daemon["error"] and no_daemon["running"] is False  # the real plugin's answer
    out = run_views({"status": {"path": STATUS, "replies": [no_daemon, checks["good"]]}}, tmp_path)["status"]
    assert [c["method"] for c in out["calls"]] == ["status", "check", "status"]
    assert no_daemon["error"] in out["first"]["text"]
    assert no_daemon["status_file"] in out["first"]["text"]
    assert out["first"]["rows"] == [] and "carp-check" not in out["first"]["html"]
    # The next poll finds rpc failing altogether: said so, not a stale table.
    assert "no more replies" in out["after"][-1]["text"]


def test_why_carpd_does_not_run_is_shown_from_its_own_check(no_daemon, checks, tmp_path):
    refused = checks["refused"]
    assert refused["valid"] is False and len(refused["errors"]) == 2
    out = run_views({"status": {"path": STATUS, "replies": [no_daemon, refused]}}, tmp_path)["status"]
    assert "carpd refuses /etc/config/carp:" in out["first"]["text"]
    for line in refused["errors"]:
        assert line in out["first"]["text"]
    assert "carp.guest.vhid: '300' is not valid" in out["first"]["text"]


# --- a real daemon's status ------------------------------------------------------------------

def test_the_lab_daemon_is_in_the_states_the_pictures_show(lab_status):
    states = dict((v["name"], v["state"]) for v in lab_status.first["vhids"])
    assert states == {"lan": "BACKUP", "guest": "MASTER"}
    assert lab_status.first["vhids"][0]["seen"] is not None
    assert "lab-secret" not in str(lab_status.first)


def test_one_row_per_vhid_with_the_daemons_values(lab_status, shown):
    doc = lab_status.first
    rows = shown["first"]["rows"]
    assert [r["name"] for r in rows] == [v["name"] for v in doc["vhids"]]
    for row, v in zip(rows, doc["vhids"]):
        assert [c["title"] for c in row["cells"]] == COLUMNS
        c = cells(row)
        assert c["Group"] == v["name"] + v["device"]
        assert c["VHID"] == str(v["vhid"])
        assert c["State"] == v["state"] + "was " + v["previous"]
        assert c["Since"].startswith(clock(v["since"]))
        assert c["Master"] == (v["master"] or "-")
        assert c["Addresses"] == " ".join(v["addresses"])
        assert c["Ours / seen"].startswith("%d / %d" % (v["advbase"], v["advskew"]))
        assert c["RX / TX"].startswith("%d / %d" % (v["rx"], v["tx"]))
        assert c["Reason"].startswith(v["reason"] + "transitions: %d" % v["transitions"])
        for why in v.get("demotion_reasons") or []:
            assert why in c["Reason"]
    assert clock(doc["updated"]) in shown["first"]["text"]
    assert doc["version"] in shown["first"]["text"]
    for t in doc.get("trackers") or []:  # what the router watches, when the daemon tracks anything
        assert t["what"] in shown["first"]["text"]


def test_the_backup_shows_the_master_it_hears(lab_status, shown):
    lan = [v for v in lab_status.first["vhids"] if v["name"] == "lan"][0]
    c = cells([r for r in shown["first"]["rows"] if r["name"] == "lan"][0])
    seen = lan["seen"]
    assert c["Ours / seen"].endswith("%d / %d" % (seen["advbase"], seen["advskew"]))
    assert c["Master"] == lan["master"] == seen["address"]


def test_a_poll_shows_the_next_status(lab_status, shown):
    later = lab_status.later
    assert later["updated"] > lab_status.first["updated"]
    rows = shown["after"][0]["rows"]
    for row, v in zip(rows, later["vhids"]):
        assert cells(row)["RX / TX"].startswith("%d / %d" % (v["rx"], v["tx"]))
    assert clock(later["updated"]) in shown["after"][0]["text"]
    assert [c["method"] for c in shown["calls"]] == ["status", "status", "status"]  # running: no check


def test_the_check_is_not_repeated_on_every_poll(no_daemon, checks, tmp_path):
    """carpd --check starts an interpreter on the router: polls within 30 s reuse the answer."""
    refused = checks["refused"]
    out = run_views({"status": {"path": STATUS, "replies": [no_daemon, refused, no_daemon, no_daemon]}},
                    tmp_path)["status"]
    assert [c["method"] for c in out["calls"]] == ["status", "check", "status", "status", "status"]
    for shown in out["after"][:2]:
        assert "carp.guest.vhid: '300' is not valid" in shown["text"]
