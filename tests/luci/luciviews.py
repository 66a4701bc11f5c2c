"""Helpers and fixtures for the luci-app-carp tests. Test modules import the
fixtures they use from here.

lab_status runs the real daemon: it builds the network-namespace lab with
two LANs (board/lab/carplab.py), starts carpd from a UCI file on r1 and r2
(MicroPython, as the `carp` package ships), waits until r2 is BACKUP of
`lan` (r1 preferred) and MASTER of `guest` (r2 preferred), and returns r2's
status as `ubus call carp status` answers it: the real rpcd plugin
(package/carp/files/carp.rpcd) run on r2's status file. The status page is
tested and photographed with that, never with a hand-written document.
It needs root and iproute2, like tests/lab, and skips with the reason
otherwise.
"""
import json
import os
import shutil
import subprocess
import tempfile

import pytest

from carp import uci

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
APP = os.path.join(ROOT, "package", "luci-app-carp")
VIEWS = os.path.join(APP, "htdocs", "luci-static", "resources", "view", "carp")
RPCD_PLUGIN = os.path.join(ROOT, "package", "carp", "files", "carp.rpcd")
RUN_VIEW = os.path.join(HERE, "run_view.js")

from tests.package import pkgtools  # the OpenWrt doubles live there
PASSWORD = "lab-secret"


def node_command():
    found = shutil.which("node") or shutil.which("nodejs")
    if not found:
        pytest.skip("node not found: `make deps` installs Debian's nodejs")
    return found


def run_views(request, tmp_path):
    """Run run_view.js on a request (see that file) -> its JSON answer."""
    path = tmp_path / "request.json"
    path.write_text(json.dumps(request))
    # TZ=UTC: the status page shows times in the browser's zone.
    r = subprocess.run([node_command(), RUN_VIEW, str(path)], capture_output=True, text=True, timeout=60,
                       env=dict(os.environ, TZ="UTC"))
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def uci_sections_json(text):
    """UCI text -> the section objects LuCI's uci.js hands a view."""
    out = []
    for i, s in enumerate(uci.parse(text)):
        section = {".name": s.name, ".type": s.type, ".anonymous": s.anonymous, ".index": i}
        section.update(s.options)
        out.append(section)
    return out


def rpcd_status(tmp_path, status_file, running="1"):
    """What `ubus call carp status` answers: the real rpcd plugin with the
    OpenWrt doubles of tests/package (pkgtools.rpcd_plugin), reading
    status_file (a status.json) through CARP_RUN_DIR, as carpd writes it;
    running is procd's answer (the lab's daemons run, though not under procd)."""
    run_dir, name = os.path.split(str(status_file))
    assert name == "status.json"
    config = "config globals 'globals'\n\toption enabled '1'\n"
    r = pkgtools.rpcd_plugin(tempfile.mkdtemp(dir=str(tmp_path)), "call", "status", config=config, running=running,
                             run_dir=run_dir)
    assert r.returncode == 0 and r.stderr == "", r.stderr
    return json.loads(r.stdout)


def rpcd_check(tmp_path, config):
    """What `ubus call carp check` answers for a UCI text (the real plugin and carpd --check)."""
    r = pkgtools.rpcd_plugin(tempfile.mkdtemp(dir=str(tmp_path)), "call", "check", config=config)
    assert r.returncode == 0 and r.stderr == "", r.stderr
    return json.loads(r.stdout)


def lab_missing():
    if os.geteuid() != 0:
        return "the daemon's status comes from the netns lab, which needs root"
    if shutil.which("ip") is None:
        return "the netns lab needs `ip` from iproute2: run `make deps`"
    return None


class LabStatus:
    """r2's configuration and two status answers a few seconds apart."""

    def __init__(self, config_text, first, later, log):
        self.config_text = config_text
        self.first = first
        self.later = later
        self.log = log


def sections_for(lab, lan_skew, guest_skew):
    lan, guest = lab.lan(0), lab.lan(1)
    return [
        ("lan", [("device", lan.dev), ("vhid", 1), ("password", PASSWORD), ("advbase", 1),
                 ("advskew", lan_skew), ("preempt", 1), ("dnsmasq", 1),
                 ("address", ["%s/%d" % (lan.vip, lan.prefix), "%s/%d" % (lan.vip6, lan.prefix6)])]),
        ("guest", [("device", guest.dev), ("vhid", 2), ("password", PASSWORD), ("advbase", 1),
                   ("advskew", guest_skew), ("preempt", 1), ("wan", ["wan"]),
                   ("address", ["%s/%d" % (guest.vip, guest.prefix)])]),
    ]


def settled(doc):
    states = {v["name"]: v for v in doc.get("vhids", [])}
    lan, guest = states.get("lan"), states.get("guest")
    return (lan is not None and guest is not None and lan["state"] == "BACKUP" and lan["seen"]
            and guest["state"] == "MASTER" and guest["tx"] >= 2 and lan["rx"] >= 2)


_RAN = {}


@pytest.fixture(scope="session")
def lab_status(tmp_path_factory):
    reason = lab_missing()
    if reason:
        pytest.skip(reason)
    if "lab" in _RAN:  # one lab run per session, whichever test module asks first
        return _RAN["lab"]
    from board.lab.carplab import Lab
    from board.lab.carpctl import log_of, start_carp_uci

    tmp = tmp_path_factory.mktemp("lab")
    with Lab(lans=2) as lab:
        r1 = start_carp_uci(lab, "r1", "micropython", tmp, sections_for(lab, 0, 100))
        r2 = start_carp_uci(lab, "r2", "micropython", tmp, sections_for(lab, 100, 0))

        def read():
            try:
                return json.loads(r2.status_file.read_text())
            except (OSError, ValueError):
                return {}
        assert lab.wait_for(lambda: settled(read()), 15.0), log_of(r1) + log_of(r2)
        first = rpcd_status(tmp, str(r2.status_file))
        # The next rewrite (status_interval 1): what a poll a moment later sees.
        assert lab.wait_for(lambda: read().get("updated", 0) > first["updated"], 5.0), log_of(r2)
        later = rpcd_status(tmp, str(r2.status_file))
        log = log_of(r1) + log_of(r2)
        config_text = r2.conf.read_text()
    _RAN["lab"] = LabStatus(config_text, first, later, log)
    return _RAN["lab"]


@pytest.fixture(scope="session")
def page_config(lab_status):
    """r2's UCI sections as the settings page gets them."""
    return {"carp": uci_sections_json(lab_status.config_text)}
