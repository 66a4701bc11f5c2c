"""package/luci-app-carp as a package: luci.mk Makefile, menu.d and acl.d
entries that fit the views and each other, the translation template kept up
to date, and the .ipk `make ipk` builds of it."""
import json
import os
import re

from tests.luci import potfile
from tests.luci.luciviews import APP, ROOT, VIEWS, run_views
from tests.package.pkgtools import FULL_VERSION, Ipk, build, ipk_path

MENU = os.path.join(APP, "root", "usr", "share", "luci", "menu.d", "luci-app-carp.json")
ACL = os.path.join(APP, "root", "usr", "share", "rpcd", "acl.d", "luci-app-carp.json")
CARP_ACL = os.path.join(ROOT, "package", "carp", "files", "carp.acl.json")
EPOCH = 1700000000


def load(path):
    with open(path) as f:
        return json.load(f)


def test_the_layout_is_luci_mk_s():
    found = sorted(os.path.relpath(os.path.join(d, n), APP) for d, _, names in os.walk(APP) for n in names)
    assert found == [
        "Makefile",
        "htdocs/luci-static/resources/view/carp/settings.js",
        "htdocs/luci-static/resources/view/carp/status.js",
        "htdocs/luci-static/resources/view/status/include/60_carp.js",
        "po/templates/carp.pot",
        "root/usr/share/luci/menu.d/luci-app-carp.json",
        "root/usr/share/rpcd/acl.d/luci-app-carp.json",
    ]


def test_the_makefile_is_a_luci_mk_package_depending_on_carp():
    with open(os.path.join(APP, "Makefile")) as f:
        text = f.read()
    assert re.search(r"^LUCI_DEPENDS:=\+luci-base \+carp$", text, re.M)
    assert re.search(r"^LUCI_TITLE:=.+$", text, re.M)
    assert re.search(r"^include \$\(TOPDIR\)/feeds/luci/luci\.mk$", text, re.M)
    assert "PKG_LICENSE:=GPL-2.0-or-later" in text
    # The version is carp's, read where carp's own Makefile reads it.
    with open(os.path.join(ROOT, "package", "carp", "Makefile")) as f:
        carp = f.read()
    assert "firmware/carp/__init__.py" in text and "$(shell sed -n 's/^VERSION" in carp
    assert "$(shell sed -n 's/^VERSION = \"\\(.*\\)\"$$/\\1/p'" in text


def test_services_and_status_menu_entries_open_the_two_views():
    menu = load(MENU)
    assert sorted(menu) == ["admin/services/carp", "admin/status/carp"]
    assert menu["admin/services/carp"]["action"] == {"type": "view", "path": "carp/settings"}
    assert menu["admin/status/carp"]["action"] == {"type": "view", "path": "carp/status"}
    for entry in menu.values():
        assert entry["title"] == "CARP"
        path = os.path.join(VIEWS, entry["action"]["path"].split("/", 1)[1] + ".js")
        assert os.path.exists(path), path
        assert entry["depends"]["acl"] == ["luci-app-carp"]  # hidden from logins without the grant
    assert menu["admin/services/carp"]["depends"]["uci"] == {"carp": True}


def test_the_acl_grants_what_the_views_use_and_no_more(tmp_path):
    acl = load(ACL)
    assert list(acl) == ["luci-app-carp"]
    grant = acl["luci-app-carp"]
    assert grant["read"] == {"ubus": {"carp": ["status", "check"]}, "uci": ["carp"]}
    assert grant["write"] == {"uci": ["carp"]}
    # The status view calls exactly what read.ubus allows.
    out = run_views({"status": {"path": os.path.join(VIEWS, "status.js"), "replies": [{"error": "x"}]}},
                    tmp_path)["status"]
    declared = {}
    for d in out["declared"]:
        declared.setdefault(d["object"], []).append(d["method"])
    assert declared == grant["read"]["ubus"]


def test_carp_and_luci_app_carp_define_different_acls():
    """rpcd merges every acl.d file: one name, one package."""
    assert not set(load(CARP_ACL)) & set(load(ACL))


def test_the_translation_template_is_up_to_date(tmp_path):
    with open(potfile.POT, encoding="utf-8") as f:
        assert f.read() == potfile.render(potfile.scan()), "run: python3 tests/luci/potfile.py"
    # Every string the views translate while running is in it.
    out = run_views({"status": {"path": os.path.join(VIEWS, "status.js"), "replies": [{"error": "x"}]},
                     "settings": {"path": os.path.join(VIEWS, "settings.js"), "configs": {"carp": []}}}, tmp_path)
    assert set(out["translated"]) <= set(potfile.scan())
    assert "Virtual addresses" in potfile.scan() and "CARP" in potfile.scan()


def test_make_ipk_builds_luci_app_carp(tmp_path):
    build(tmp_path / "a", epoch=EPOCH, packages=["luci-app-carp"])
    build(tmp_path / "b", epoch=EPOCH, packages=["luci-app-carp"])
    path = ipk_path(tmp_path / "a", "luci-app-carp")
    with open(path, "rb") as a, open(ipk_path(tmp_path / "b", "luci-app-carp"), "rb") as b:
        assert a.read() == b.read()  # reproducible
    ipk = Ipk(path)
    assert ipk.field("Package") == "luci-app-carp" and ipk.field("Version") == FULL_VERSION
    assert ipk.field("Depends") == "libc, luci-base, carp"
    assert ipk.field("Architecture") == "all"
    files = {p: e for p, e in ipk.data.items() if e[0] == "file"}
    assert sorted(files) == [
        "/usr/share/luci/menu.d/luci-app-carp.json",
        "/usr/share/rpcd/acl.d/luci-app-carp.json",
        "/www/luci-static/resources/view/carp/settings.js",
        "/www/luci-static/resources/view/carp/status.js",
        "/www/luci-static/resources/view/status/include/60_carp.js",
    ]
    assert all(e[1] == 0o644 for e in files.values())
    with open(os.path.join(VIEWS, "settings.js"), "rb") as f:
        assert files["/www/luci-static/resources/view/carp/settings.js"][2] == f.read()
