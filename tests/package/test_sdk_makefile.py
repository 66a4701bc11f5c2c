"""package/carp/Makefile, run by GNU make against a test double of the
OpenWrt SDK (tests/package/sdkstub: rules.mk with the SDK's install macros,
and a package.mk whose BuildPackage evaluates the package definitions and
runs Build/* and Package/<name>/install into a directory). The real SDK is
a download per target and release and is not used here.

What the Makefile declares and installs must be what `make ipk` packs:
same metadata, and for each variant the very same files, modes and bytes
(.mpy included: both use mpy-cross with the same embedded names)."""
import os
import shutil
import subprocess

import pytest

from tests.package.pkgtools import (FULL_VERSION, HERE, PKG, Ipk, build, ipk_path, tool, tool_path, tree_of)

EPOCH = 1700000000


@pytest.fixture(scope="module")
def sdk(tmp_path_factory):
    top = str(tmp_path_factory.mktemp("sdk") / "top")
    shutil.copytree(os.path.join(HERE, "sdkstub"), top)
    # Where the micropython package stages mpy-cross for the host.
    staged = os.path.join(top, "staging_dir", "host", "lib", "micropython", "mpy-cross", "build")
    os.makedirs(staged)
    os.symlink(tool("mpy-cross"), os.path.join(staged, "mpy-cross"))
    return top


def make(sdk, *args):
    r = subprocess.run([tool("make"), "-s", "-C", PKG, "TOPDIR=" + sdk] + list(args),
                       env=dict(os.environ, PATH=tool_path()), capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


def meta(sdk, name):
    return dict(item.split("=", 1) for item in make(sdk, "meta-" + name).strip().split("|"))


@pytest.fixture(scope="module")
def ipks(tmp_path_factory):
    out = tmp_path_factory.mktemp("ipk")
    build(out, epoch=EPOCH)
    return {name: Ipk(ipk_path(out, name)) for name in ("carp", "carp-python3")}


def test_version_comes_from_the_python_package(sdk):
    assert meta(sdk, "carp")["version"] == FULL_VERSION


def test_carp_is_the_default_micropython_variant(sdk):
    m = meta(sdk, "carp")
    assert m["depends"] == "+micropython"
    assert m["variant"] == "micropython" and m["default_variant"] == "1"
    assert m["provides"] == "carp"
    assert m["conflicts"] == "carp-python3"
    assert (m["pkgarch"], m["section"], m["category"]) == ("all", "net", "Network")
    assert m["license"] == "GPL-2.0-or-later"


def test_carp_python3_is_the_cpython_variant(sdk):
    m = meta(sdk, "carp-python3")
    assert m["depends"] == "+python3-light"
    assert m["variant"] == "python3" and m["default_variant"] == ""
    assert m["provides"] == "carp"
    # Only one side names the other: Kconfig rejects mutual CONFLICTS.
    assert m["conflicts"] == ""
    assert m["pkgarch"] == "all"


def test_metadata_matches_the_ipk_control(sdk, ipks):
    for name in ("carp", "carp-python3"):
        m = meta(sdk, name)
        control = ipks[name]
        assert control.field("Depends") == ", ".join(["libc"] + [d.lstrip("+") for d in m["depends"].split()])
        assert control.field("Conflicts") == (m["conflicts"] or None)
        provides = [p for p in m["provides"].split() if p != name]  # package-pack.mk drops its own name
        assert control.field("Provides") == (", ".join(provides) or None)
        assert control.field("License") == m["license"]


@pytest.mark.parametrize("name,variant", [("carp", "micropython"), ("carp-python3", "python3")])
def test_sdk_install_is_exactly_what_make_ipk_packs(sdk, ipks, name, variant, tmp_path):
    dest = str(tmp_path / "ipkg")
    make(sdk, "BUILD_VARIANT=" + variant, "DEST=" + dest, "install-" + name)
    installed = tree_of(dest)
    packed = dict(ipks[name].data)
    del installed["/"], packed["/"]
    assert sorted(installed) == sorted(packed)
    for path in installed:
        assert installed[path] == packed[path], path
