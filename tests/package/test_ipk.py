"""`make ipk` (scripts/build-ipk.py): the .ipk files are OpenWrt's format,
carry the control data the SDK would write, install the agreed layout with
the right modes, run, and come out byte-identical when built twice."""
import gzip
import hashlib
import json
import os
import subprocess
import sys

import pytest

from tests.package.pkgtools import (FILES, FIRMWARE, FULL_VERSION, VERSION, Ipk, build, build_ipk, busybox,
                      ipk_path, tool, tool_path)

EPOCH = 1700000000
MODULES = sorted(n[:-3] for n in os.listdir(os.path.join(FIRMWARE, "carp")) if n.endswith(".py"))
HOTPLUG = sorted(os.listdir(os.path.join(FILES, "hotplug.d", "carp")))


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("ipk")
    build(out, epoch=EPOCH)
    return {name: Ipk(ipk_path(out, name)) for name in ("carp", "carp-python3")}


@pytest.fixture(params=["carp", "carp-python3"])
def ipk(request, built):
    return built[request.param]


def test_file_names_are_name_version_all(tmp_path):
    build(tmp_path, epoch=EPOCH)
    assert sorted(os.listdir(str(tmp_path))) == sorted(
        ["carp_%s_all.ipk" % FULL_VERSION, "carp-python3_%s_all.ipk" % FULL_VERSION,
         "luci-app-carp_%s_all.ipk" % FULL_VERSION])
    assert FULL_VERSION == VERSION + "-r1"


def test_outer_archive_is_a_gzipped_tar_of_the_three_members_in_order(ipk):
    assert [m.name for m in ipk.outer_members] == ["./debian-binary", "./data.tar.gz", "./control.tar.gz"]
    assert ipk.parts["./debian-binary"] == b"2.0\n"


def test_every_gzip_has_no_name_and_time_zero(ipk):
    for blob in (ipk.raw, ipk.parts["./data.tar.gz"], ipk.parts["./control.tar.gz"]):
        assert blob[:3] == b"\x1f\x8b\x08"
        assert blob[3] == 0, "no FNAME/FEXTRA flags, like gzip -n"
        assert blob[4:8] == b"\0\0\0\0", "mtime 0"


def test_every_entry_is_gnu_tar_root_owned_with_the_fixed_mtime(ipk):
    for members in (ipk.outer_members, ipk.control_members, ipk.data_members):
        for m in members:
            assert (m.uid, m.gid, m.uname, m.gname) == (0, 0, "", ""), m.name
            assert m.mtime == EPOCH, m.name
    for blob, members in ((gzip.decompress(ipk.raw), ipk.outer_members), (ipk.control_tar, ipk.control_members),
                          (ipk.data_tar, ipk.data_members)):
        assert all(n.startswith("./") for n in Ipk.raw_names(blob, members))
    for blob in (gzip.decompress(ipk.raw), ipk.data_tar, ipk.control_tar):
        assert blob[257:265] == b"ustar  \0", "GNU format"


def test_entries_are_sorted_by_name_as_tar_sort_name_does(ipk):
    names = Ipk.raw_names(ipk.data_tar, ipk.data_members)
    assert names[0] == "./"
    assert all(n.endswith("/") == m.isdir() for n, m in zip(names, ipk.data_members))

    def key(name):  # depth first, siblings bytewise: compare path components
        return [part.encode() for part in name.rstrip("/").split("/")]
    assert names == sorted(names, key=key)
    control = Ipk.raw_names(ipk.control_tar, ipk.control_members)
    assert control[0] == "./" and control == sorted(control)


def test_control_fields_in_package_pack_order(ipk):
    order = ["Package", "Version", "Depends", "Conflicts", "Provides", "Source", "SourceName", "License",
             "LicenseFiles", "Section", "SourceDateEpoch", "Maintainer", "Architecture", "Installed-Size",
             "Description"]
    names = [n for n, _ in ipk.fields()]
    assert names == [n for n in order if n in names]
    assert ipk.field("Version") == FULL_VERSION
    assert ipk.field("Architecture") == "all"
    assert ipk.field("Section") == "net"
    assert ipk.field("License") == "GPL-2.0-or-later"
    assert ipk.field("SourceDateEpoch") == str(EPOCH)
    assert ipk.field("Source") == "feeds/carp/carp"
    assert ipk.field("Description").startswith(" Two routers share a gateway address")


def test_installed_size_is_the_uncompressed_data_size(ipk):
    assert int(ipk.field("Installed-Size")) == len(ipk.data_tar)


def test_carp_runs_on_micropython_and_conflicts_with_the_python3_variant(built):
    carp = built["carp"]
    assert carp.field("Package") == "carp"
    assert carp.field("Depends") == "libc, micropython"
    assert carp.field("Conflicts") == "carp-python3"
    assert carp.field("Provides") is None  # its own name: package-pack.mk drops it
    assert "MicroPython" in carp.field("Description")


def test_carp_python3_runs_on_python3_light_and_provides_carp(built):
    py3 = built["carp-python3"]
    assert py3.field("Package") == "carp-python3"
    assert py3.field("Depends") == "libc, python3-light"
    assert py3.field("Provides") == "carp"
    assert py3.field("Conflicts") is None
    assert "CPython" in py3.field("Description")


def test_conffiles_are_the_uci_file_and_the_user_hook(ipk):
    mode, text = ipk.control_files["conffiles"]
    assert text == "/etc/carp.user\n/etc/config/carp\n"  # resolved and sorted, as ipkg-build does
    assert mode == 0o644
    assert "/lib/upgrade/keep.d/carp" not in ipk.data  # both are shipped


def test_postinst_and_prerm_are_the_sdk_wrappers(ipk):
    mode, postinst = ipk.control_files["postinst"]
    assert mode == 0o755
    assert postinst == ('#!/bin/sh\n'
                        '[ "${IPKG_NO_SCRIPT}" = "1" ] && exit 0\n'
                        '[ -s ${IPKG_INSTROOT}/lib/functions.sh ] || exit 0\n'
                        '. ${IPKG_INSTROOT}/lib/functions.sh\n'
                        'default_postinst $0 $@\n')
    mode, prerm = ipk.control_files["prerm"]
    assert mode == 0o755
    assert prerm.endswith(". ${IPKG_INSTROOT}/lib/functions.sh\ndefault_prerm $0 $@\n")


def test_own_postinst_reloads_rpcd_on_a_live_system_only_and_enables_nothing(ipk):
    mode, own = ipk.control_files["postinst-pkg"]
    assert mode == 0o755
    assert '[ -n "${IPKG_INSTROOT}" ] || /etc/init.d/rpcd reload' in own
    assert "enable" not in own and "start" not in own
    mode, postrm = ipk.control_files["postrm"]
    assert "/etc/init.d/rpcd reload" in postrm


def test_scripts_parse_under_busybox_ash(ipk, tmp_path):
    for name in ("postinst", "prerm", "postinst-pkg", "postrm"):
        path = tmp_path / name
        path.write_text(ipk.control_files[name][1])
        r = subprocess.run([busybox(), "ash", "-n", str(path)], capture_output=True, text=True)
        assert r.returncode == 0, name + r.stderr


LAYOUT = {
    "/usr/sbin/carpd": 0o755,
    "/usr/libexec/carp-hooks": 0o755,
    "/etc/init.d/carp": 0o755,
    "/usr/libexec/rpcd/carp": 0o755,
    # $(INSTALL_CONF) is 0600, as keepalived installs its config and user
    # hook: /etc/config/carp holds the CARP password.
    "/etc/config/carp": 0o600,
    "/etc/carp.user": 0o600,
    "/usr/share/rpcd/acl.d/carp.json": 0o644,
}


def test_install_layout_and_modes(ipk):
    for path, mode in LAYOUT.items():
        kind, actual, _ = ipk.data[path]
        assert (kind, oct(actual)) == ("file", oct(mode)), path
    for name in HOTPLUG:  # sourced by hotplug-call: data files
        assert ipk.data["/etc/hotplug.d/carp/" + name][:2] == ("file", 0o644)
    for path, (kind, mode, _) in ipk.data.items():
        if kind == "dir":
            assert mode == 0o755, path


def test_carp_is_a_symlink_to_the_launcher(ipk):
    assert ipk.data["/usr/sbin/carp"] == ("link", 0o777, "carpd")


def test_installed_files_are_the_sources(ipk):
    sources = {
        "/usr/sbin/carpd": os.path.join(FIRMWARE, "carpd"),
        "/usr/libexec/carp-hooks": os.path.join(FIRMWARE, "carp-hooks"),
        "/etc/config/carp": os.path.join(FILES, "carp.config"),
        "/etc/carp.user": os.path.join(FILES, "carp.user"),
        "/etc/init.d/carp": os.path.join(FILES, "carp.init"),
        "/usr/libexec/rpcd/carp": os.path.join(FILES, "carp.rpcd"),
        "/usr/share/rpcd/acl.d/carp.json": os.path.join(FILES, "carp.acl.json"),
    }
    sources.update({"/etc/hotplug.d/carp/" + n: os.path.join(FILES, "hotplug.d", "carp", n) for n in HOTPLUG})
    for path, source in sources.items():
        with open(source, "rb") as f:
            assert ipk.data[path][2] == f.read(), path


def test_nothing_else_is_installed(ipk):
    files = {p for p, (kind, _, _) in ipk.data.items() if kind != "dir"}
    library = {p for p in files if p.startswith("/usr/lib/carp/carp/")}
    assert files - library == set(LAYOUT) | {"/usr/sbin/carp"} | {"/etc/hotplug.d/carp/" + n for n in HOTPLUG}


def test_carp_ships_every_module_precompiled(built):
    lib = {p.rsplit("/", 1)[1] for p in built["carp"].data if p.startswith("/usr/lib/carp/carp/")}
    assert lib == {m + ".mpy" for m in MODULES}
    for m in MODULES:
        kind, mode, data = built["carp"].data["/usr/lib/carp/carp/%s.mpy" % m]
        assert mode == 0o644 and data[:2] == b"M\x06", m  # .mpy version 6 (MicroPython 1.23)


def test_carp_python3_ships_the_sources(built):
    lib = {p.rsplit("/", 1)[1] for p in built["carp-python3"].data if p.startswith("/usr/lib/carp/carp/")}
    assert lib == {m + ".py" for m in MODULES}
    for m in MODULES:
        with open(os.path.join(FIRMWARE, "carp", m + ".py"), "rb") as f:
            assert built["carp-python3"].data["/usr/lib/carp/carp/%s.py" % m] == ("file", 0o644, f.read())


def test_mpy_files_load_on_micropython(built, tmp_path):
    root = built["carp"].unpack(tmp_path)
    r = subprocess.run([tool("micropython"), "-c", "import carp.daemon, carp.uciconfig; print('ok')"],
                       env=dict(os.environ, MICROPYPATH=root + "/usr/lib/carp"), capture_output=True, text=True, timeout=60)
    assert r.stdout.strip() == "ok", r.stderr


def test_carp_status_command_runs_from_the_package_on_micropython(built, tmp_path):
    """/usr/sbin/carp (the symlink) -> launcher -> `micropython -m carp` on .mpy."""
    root = built["carp"].unpack(tmp_path)
    env = dict(os.environ, PATH=tool_path(), CARP_LIB=root + "/usr/lib/carp")
    env.pop("CARP_PYTHON", None)
    r = subprocess.run([busybox(), "ash", root + "/usr/sbin/carp", "--version"], env=env,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout.strip() == "carp " + VERSION, r.stdout + r.stderr
    r = subprocess.run([busybox(), "ash", root + "/usr/sbin/carp", "status", "--help"], env=env,
                       capture_output=True, text=True, timeout=60)
    assert "Traceback" not in r.stderr, r.stderr
    # What the init script runs before start and reload, on the shipped file.
    with open(root + "/etc/config/network", "w") as f:
        f.write("config interface 'lan'\n\toption device 'br-lan'\n")
    r = subprocess.run([busybox(), "ash", root + "/usr/sbin/carpd", "--check", "-c", root + "/etc/config/carp"],
                       env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "is valid" in r.stdout, r.stdout + r.stderr


def test_carp_python3_runs_on_cpython(built, tmp_path):
    root = built["carp-python3"].unpack(tmp_path)
    env = dict(os.environ, CARP_LIB=root + "/usr/lib/carp", CARP_PYTHON=sys.executable)
    r = subprocess.run([busybox(), "ash", root + "/usr/sbin/carp", "--version"], env=env,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout.strip() == "carp " + VERSION, r.stdout + r.stderr


def test_acl_lets_an_rpcd_login_read_the_status_and_nothing_else(ipk):
    """carp's own ACL `carp` is for monitoring logins (rpcd `list read carp`):
    the status and the config check only. LuCI's grant, with uci read/write of /etc/config/carp,
    is `luci-app-carp`, shipped by luci-app-carp (tests/luci)."""
    acl = json.loads(ipk.data["/usr/share/rpcd/acl.d/carp.json"][2])
    assert list(acl) == ["carp"]
    grant = acl["carp"]
    assert grant["read"] == {"ubus": {"carp": ["status", "check"]}}
    assert "write" not in grant


def test_gnu_tar_reads_the_package(ipk, tmp_path):
    """The archives unpack with GNU tar too (opkg's own untar is stricter
    about nothing we use: plain files, directories, one symlink)."""
    outer = tmp_path / "x.ipk"
    outer.write_bytes(ipk.raw)
    subprocess.run(["tar", "-xzf", str(outer), "-C", str(tmp_path)], check=True)
    listing = subprocess.run(["tar", "-tzf", str(tmp_path / "data.tar.gz")], check=True,
                             capture_output=True, text=True).stdout.split()
    assert "./usr/sbin/carpd" in listing and "./etc/config/carp" in listing


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def test_two_builds_are_byte_identical(tmp_path):
    build(tmp_path / "a", epoch=EPOCH)
    build(tmp_path / "b", epoch=EPOCH)
    for name in ("carp", "carp-python3"):
        assert sha256(ipk_path(tmp_path / "a", name)) == sha256(ipk_path(tmp_path / "b", name)), name


def test_without_source_date_epoch_the_last_commit_time_is_used_and_builds_still_match(tmp_path):
    build(tmp_path / "a")
    build(tmp_path / "b")
    for name in ("carp", "carp-python3"):
        assert sha256(ipk_path(tmp_path / "a", name)) == sha256(ipk_path(tmp_path / "b", name)), name
    assert Ipk(ipk_path(tmp_path / "a", "carp")).field("SourceDateEpoch") == str(build_ipk.source_date_epoch())


def test_the_epoch_sets_every_mtime(tmp_path):
    build(tmp_path, epoch=EPOCH + 86400, packages=["carp"])
    carp = Ipk(ipk_path(tmp_path, "carp"))
    assert {m.mtime for m in carp.data_members} == {EPOCH + 86400}


def test_a_conffile_the_package_does_not_ship_is_kept_through_keep_d(tmp_path):
    tree = build_ipk.Tree()
    tree.file("/etc/config/carp", 0o600, b"")
    build_ipk.keep_unshipped_conffiles(tree, "x", ["/etc/config/carp", "/etc/carp.user"])
    assert tree.entries["/lib/upgrade/keep.d/x"] == ("file", 0o644, b"/etc/carp.user\n")
    data = build_ipk.ipk_bytes(tree, "Package: x\nInstalled-Size: 0\n", {}, ["/etc/config/carp", "/etc/carp.user"], 0)
    path = tmp_path / "x.ipk"
    path.write_bytes(data)
    assert Ipk(str(path)).control_files["conffiles"][1] == "/etc/config/carp\n"


def test_luci_app_hook_builds_luci_mk_layout(tmp_path):
    """The hook for package/luci-app-carp: htdocs/ -> /www, root/ -> /."""
    app = tmp_path / "luci-app-carp"
    (app / "htdocs/luci-static/resources/view/carp").mkdir(parents=True)
    (app / "htdocs/luci-static/resources/view/carp/status.js").write_text("'use strict';\n")
    (app / "root/usr/share/luci/menu.d").mkdir(parents=True)
    (app / "root/usr/share/luci/menu.d/luci-app-carp.json").write_text("{}\n")
    (app / "Makefile").write_text("LUCI_TITLE:=CARP failover\nLUCI_DEPENDS:=+luci-base +carp\n"
                                  "PKG_LICENSE:=GPL-2.0-or-later\ninclude $(TOPDIR)/feeds/luci/luci.mk\n")
    path = build_ipk.build_luci(str(tmp_path / "out"), EPOCH, root=str(app))
    assert os.path.basename(path) == "luci-app-carp_%s_all.ipk" % FULL_VERSION
    luci = Ipk(path)
    assert luci.field("Depends") == "libc, luci-base, carp"
    assert luci.field("Architecture") == "all"
    assert luci.data["/www/luci-static/resources/view/carp/status.js"][:2] == ("file", 0o644)
    assert "/usr/share/luci/menu.d/luci-app-carp.json" in luci.data
    assert "luci-indexcache" in luci.control_files["postinst-pkg"][1]


@pytest.mark.parametrize("name", ["carp", "carp-python3"])
def test_the_ci_runtime_test_passes_on_the_unpacked_package(built, name, tmp_path):
    """package/carp/test.sh, as openwrt/packages CI runs it on the target."""
    root = built[name].unpack(tmp_path)
    path = root + "/usr/sbin:" + (tool_path() if name == "carp" else os.path.dirname(sys.executable))
    path += ":/usr/bin:/bin"
    env = dict(os.environ, PATH=path, CARP_LIB=root + "/usr/lib/carp")
    env.pop("CARP_PYTHON", None)
    if name == "carp-python3":
        env["CARP_PYTHON"] = sys.executable  # Debian's PATH may also hold a micropython
    r = subprocess.run([busybox(), "ash", os.path.join(FILES, "..", "test.sh"), name, FULL_VERSION],
                       env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
