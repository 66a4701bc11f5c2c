"""Screenshots of both views and the Status -> Overview widget for docs/running.md: the views rendered by the
recording stand-ins (tests/luci/standins.js, not LuCI) into a static page
with a little LuCI-like CSS (page.css), photographed by headless Chromium.

The settings page shows r2's configuration from the lab and the status page
r2's status as `ubus call carp status` answered it while carpd ran there
(conftest.lab_status): real daemon output. Pictures go to the test's
temporary directory; with CARP_UPDATE_SCREENSHOTS=1 also to
docs/luci-settings.png, docs/luci-status.png and docs/luci-overview.png.

Needs Debian's `chromium` (make deps installs it); skips without it."""
import os
import shutil
import struct
import subprocess

import pytest

from tests.luci.luciviews import lab_status, page_config  # noqa: F401 (fixtures)
from tests.luci.luciviews import APP, HERE, ROOT, VIEWS, run_views

WIDGET = os.path.join(APP, "htdocs", "luci-static", "resources", "view", "status", "include", "60_carp.js")

DOCS = os.path.join(ROOT, "docs")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--hide-scrollbars", "--force-device-scale-factor=1"]
MENU = ["Status", "System", "Services", "Network", "Logout"]


def chromium():
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    pytest.skip("chromium not found: `make deps` installs Debian's chromium")


def page_html(title, active, body):
    with open(os.path.join(HERE, "page.css")) as f:
        css = f.read()
    menu = "".join('<span class="%s">%s</span>' % ("active" if m == active else "", m) for m in MENU)
    return ('<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>%s</title><style>%s</style></head>'
            '<body><header><span class="brand">r2</span><span class="menu">%s</span></header>'
            '<div id="maincontent">%s</div></body></html>\n' % (title, css, menu, body))


def png_size(path):
    with open(path, "rb") as f:
        head = f.read(24)
    assert head[:8] == b"\x89PNG\r\n\x1a\n", path
    return struct.unpack(">II", head[16:24])


def screenshot(html_path, png_path, size, tmp_path):
    profile = tmp_path / ("profile-" + os.path.basename(png_path))
    profile.mkdir()
    argv = [chromium()] + CHROMIUM_FLAGS + ["--user-data-dir=%s" % profile, "--screenshot=%s" % png_path,
                                            "--window-size=%d,%d" % size, "file://%s" % html_path]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=60, env=dict(os.environ, TZ="UTC"))
    assert r.returncode == 0 and os.path.exists(png_path), r.stdout + r.stderr
    assert png_size(png_path) == size
    assert os.path.getsize(png_path) > 20000  # a page, not a blank canvas


@pytest.fixture(scope="module")
def rendered(lab_status, page_config, tmp_path_factory):
    request = {
        "settings": {"path": os.path.join(VIEWS, "settings.js"), "configs": page_config, "samples": {},
                     "words": []},
        "status": {"path": os.path.join(VIEWS, "status.js"), "replies": [lab_status.first]},
        "overview": {"path": WIDGET, "replies": [lab_status.first]},
    }
    return run_views(request, tmp_path_factory.mktemp("render"))


@pytest.mark.parametrize("view,size", [("settings", (1280, 2030)), ("status", (1500, 400)), ("overview", (1280, 260))])
def test_screenshot(rendered, view, size, tmp_path):
    if view == "settings":
        body = rendered["settings"]["html"]
        body += '<div class="page-actions"><button class="btn">Save &amp; Apply</button></div>'
        html = page_html("CARP - Services", "Services", body)
    elif view == "overview":
        # LuCI's overview page puts each include in a section under its title.
        widget = rendered["overview"]
        body = ('<div class="cbi-map"><h2>Status</h2><div class="cbi-section"><h3>%s</h3>%s</div></div>'
                % (widget["title"], widget["shown"][0]["html"]))
        html = page_html("Overview - Status", "Status", body)
    else:
        html = page_html("CARP - Status", "Status", rendered["status"]["first"]["html"])
    html_path = tmp_path / ("luci-%s.html" % view)
    html_path.write_text(html)
    png = str(tmp_path / ("luci-%s.png" % view))
    screenshot(str(html_path), png, size, tmp_path)
    if os.environ.get("CARP_UPDATE_SCREENSHOTS") == "1":
        os.makedirs(DOCS, exist_ok=True)
        shutil.copyfile(png, os.path.join(DOCS, "luci-%s.png" % view))


@pytest.mark.parametrize("view", ["settings", "status", "overview"])
def test_the_readme_pictures_are_there(view):
    path = os.path.join(DOCS, "luci-%s.png" % view)
    assert os.path.exists(path), "run: CARP_UPDATE_SCREENSHOTS=1 make test PYTEST_FLAGS='tests/luci'"
    width, height = png_size(path)
    assert width >= 1000 and height >= 250
