#!/usr/bin/env python3
"""The OpenWrt Image Builder command for a router image with carp.

    board/firmware.py --board archer-c7-v5 --role primary [--release 24.10.8]
                      [--ib DIR [--run]] [--extra-packages "luci-app-carp"]
                      [--password-file FILE]
    board/firmware.py --list

(`make firmware BOARD=... ROLE=... [RELEASE=...] [IB=...] [RUN=1]` calls it.)

A board is a folder board/<name>/ with a `recipe`: key=value lines naming the
OpenWrt target, subtarget and Image Builder profile and the packages. A role
is a folder board/roles/<role>/files/, copied over the image's root file
system (the Image Builder's FILES=). Adding a board is adding a folder.

Without --run this only prints: where to download the Image Builder of that
target and release, and the `make image` line to run inside it. Nothing here
downloads anything.
"""
import argparse
import os
import re
import shlex
import shutil
import subprocess
import sys

BOARD_DIR = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BOARD_DIR)
ROLES_DIR = os.path.join(BOARD_DIR, "roles")
# Overlays with a real password are copied here (tests point it elsewhere).
STAGING_DIR = os.environ.get("CARP_FIRMWARE_BUILD") or os.path.join(ROOT, "build", "firmware")

DEFAULT_RELEASE = "24.10.8"
OLDEST_RELEASE = (24, 10)  # micropython 1.23 (docs/openwrt-notes.md); 23.05 has 1.20
FIRST_APK_RELEASE = (25, 12)  # docs/openwrt-notes.md: 24.10 is opkg, 25.12 is apk
DOWNLOADS = "https://downloads.openwrt.org/releases"
PASSWORD_PLACEHOLDER = "change-me"
PASSWORD_MAX_BYTES = 19  # carp's limit: what the BSDs and ucarp can match

# key: required. Values run to the end of the line, as written (no quotes).
RECIPE_KEYS = {
    "NAME": True,  # what the device is called
    "TARGET": True,  # OpenWrt target (target/linux/<TARGET>)
    "SUBTARGET": True,
    "PROFILE": True,  # the Image Builder's profile (`make info`)
    "PROFILE_SOURCE": True,  # where that name is defined
    "FLASH": True,
    "RAM": True,
    "PACKAGES": True,  # added to the profile's; "-name" removes one
    "ROOTFS_PARTSIZE": False,  # MB, for targets with a root partition (x86)
    "DISABLED_SERVICES": False,
}

_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]*$")  # board and role folders
_TARGET = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_PROFILE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.,+-]*$")
_PACKAGE = re.compile(r"^-?[a-z0-9][a-z0-9._+-]*$")  # opkg's pkg_appears_sane, plus "-"
_RELEASE = re.compile(r"^(\d+)\.(\d+)\.(\d+)(-rc\d+)?$")
_PASSWORD_LINE = re.compile(r"^(\s*option\s+password\s+)('[^']*'|\"[^\"]*\"|\S+)(.*)$")


class Error(Exception):
    """A mistake of the caller or of a recipe; printed without a traceback."""


def boards():
    """Names of the folders of board/ that hold a recipe."""
    return sorted(name for name in os.listdir(BOARD_DIR)
                  if os.path.isfile(os.path.join(BOARD_DIR, name, "recipe")))


def roles():
    """Names of the folders of board/roles/ that hold a files/ overlay."""
    if not os.path.isdir(ROLES_DIR):
        return []
    return sorted(name for name in os.listdir(ROLES_DIR)
                  if os.path.isdir(os.path.join(ROLES_DIR, name, "files")))


def parse_recipe(text, path="recipe"):
    """key=value lines -> dict. Blank lines and '#' comment lines are
    skipped; an unknown, repeated or missing key is an error, and so is a
    value the Image Builder would misread."""
    recipe = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        key, value = key.strip(), value.strip()
        where = "%s:%d" % (path, number)
        if not sep:
            raise Error("%s: not key=value: %r" % (where, line))
        if key not in RECIPE_KEYS:
            raise Error("%s: unknown key %r; a recipe has %s" % (where, key, ", ".join(RECIPE_KEYS)))
        if key in recipe:
            raise Error("%s: %s is given twice" % (where, key))
        if not value:
            raise Error("%s: %s is empty" % (where, key))
        recipe[key] = value
    missing = [key for key, required in RECIPE_KEYS.items() if required and key not in recipe]
    if missing:
        raise Error("%s: missing %s" % (path, ", ".join(missing)))
    for key in ("TARGET", "SUBTARGET"):
        if not _TARGET.match(recipe[key]):
            raise Error("%s: %s %r is not a target name" % (path, key, recipe[key]))
    if not _PROFILE.match(recipe["PROFILE"]):
        raise Error("%s: PROFILE %r is not a profile name" % (path, recipe["PROFILE"]))
    for package in recipe["PACKAGES"].split():
        if not _PACKAGE.match(package):
            raise Error("%s: PACKAGES: %r is not a package name" % (path, package))
    if "ROOTFS_PARTSIZE" in recipe and not recipe["ROOTFS_PARTSIZE"].isdigit():
        raise Error("%s: ROOTFS_PARTSIZE %r is not a size in MB" % (path, recipe["ROOTFS_PARTSIZE"]))
    return recipe


def load_recipe(board):
    if not board:
        raise Error("BOARD (--board) is required; boards: %s" % ", ".join(boards()))
    if not _NAME.match(board) or board not in boards():
        raise Error("unknown BOARD %r; boards: %s (a board is a folder board/<name>/ with a recipe)"
                    % (board, ", ".join(boards())))
    path = os.path.join(BOARD_DIR, board, "recipe")
    with open(path) as f:
        return parse_recipe(f.read(), os.path.relpath(path, ROOT))


def check_role(role):
    if not role:
        raise Error("ROLE (--role) is required; roles: %s" % ", ".join(roles()))
    if not _NAME.match(role) or role not in roles():
        raise Error("unknown ROLE %r; roles: %s (a role is a folder board/roles/<role>/files/)"
                    % (role, ", ".join(roles())))
    return role


def parse_release(release):
    """'24.10.8' -> (24, 10, 8); anything older than 24.10 is refused."""
    match = _RELEASE.match(release or "")
    if not match:
        raise Error("RELEASE %r is not an OpenWrt release number such as %s or 25.12.0"
                    % (release, DEFAULT_RELEASE))
    version = tuple(int(part) for part in match.groups()[:3])
    if version[:2] < OLDEST_RELEASE:
        raise Error("RELEASE %s: carp needs OpenWrt 24.10 or later (MicroPython 1.23)" % release)
    return version


def uses_apk(release):
    return parse_release(release)[:2] >= FIRST_APK_RELEASE


def imagebuilder_url(recipe, release):
    """The Image Builder tarball of a target and release on downloads.openwrt.org."""
    target, subtarget = recipe["TARGET"], recipe["SUBTARGET"]
    return "%s/%s/targets/%s/%s/openwrt-imagebuilder-%s-%s-%s.Linux-x86_64.tar.zst" % (
        DOWNLOADS, release, target, subtarget, release, target, subtarget)


def packages(recipe, extra=""):
    """The PACKAGES list: the recipe's, then the extra ones, each once."""
    names = []
    for name in recipe["PACKAGES"].split() + (extra or "").split():
        if not _PACKAGE.match(name):
            raise Error("EXTRA_PACKAGES: %r is not a package name" % name)
        if name not in names:
            names.append(name)
    return names


def image_args(recipe, package_names, files):
    """The variables of `make image`, in the Image Builder's own terms."""
    args = ["PROFILE=" + recipe["PROFILE"], "PACKAGES=" + " ".join(package_names), "FILES=" + files]
    for key in ("ROOTFS_PARTSIZE", "DISABLED_SERVICES"):
        if key in recipe:
            args.append("%s=%s" % (key, recipe[key]))
    return args


def shell_line(args):
    """`make image ...` as one would type it: PACKAGES="a b" in double quotes."""
    words = ["make", "image"]
    for arg in args:
        key, _, value = arg.partition("=")
        if re.match(r"^[A-Za-z0-9_.,+/:@%-]*$", value):
            words.append(arg)
        elif re.match(r"^[A-Za-z0-9_.,+/:@% -]*$", value):
            words.append('%s="%s"' % (key, value))
        else:
            words.append("%s=%s" % (key, shlex.quote(value)))
    return " ".join(words)


def uci_quote(value):
    return "'" + value.replace("'", "'\\''") + "'"


def read_password(path):
    """The first line of the file, as carpd -o reads a passphrase file."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise Error("CARP_PASSWORD_FILE %s: %s" % (path, e.strerror))
    first = data.split(b"\n", 1)[0].rstrip(b"\r")
    if not 1 <= len(first) <= PASSWORD_MAX_BYTES:
        raise Error("CARP_PASSWORD_FILE %s: the first line must hold 1..%d bytes, not %d"
                    % (path, PASSWORD_MAX_BYTES, len(first)))
    try:
        password = first.decode("utf-8")
    except UnicodeDecodeError:
        raise Error("CARP_PASSWORD_FILE %s: the password is not UTF-8 text" % path)
    if any(ord(c) < 32 or ord(c) == 127 for c in password):
        raise Error("CARP_PASSWORD_FILE %s: the password holds a control character" % path)
    if password == PASSWORD_PLACEHOLDER:
        raise Error("CARP_PASSWORD_FILE %s: that is the placeholder; choose a secret" % path)
    return password


def set_password(text, password):
    """Every `option password` line of a UCI file (comments too, so an
    uncommented example agrees) now holds this password."""
    lines, count = [], 0
    for line in text.splitlines(True):
        body = line.lstrip("#")
        match = _PASSWORD_LINE.match(body.rstrip("\n"))
        if match:
            line = line[:len(line) - len(body)] + match.group(1) + uci_quote(password) + match.group(3) + "\n"
            count += 1
        lines.append(line)
    return "".join(lines), count


def stage_overlay(role, password):
    """A copy of the role's overlay under build/ with the password put in
    /etc/config/carp; only the owner may read it."""
    source = os.path.join(ROLES_DIR, role, "files")
    staged = os.path.join(STAGING_DIR, role, "files")
    if os.path.isdir(os.path.dirname(staged)):
        shutil.rmtree(os.path.dirname(staged))
    os.makedirs(os.path.dirname(staged), mode=0o700)
    shutil.copytree(source, staged)
    config = os.path.join(staged, "etc", "config", "carp")
    with open(config) as f:
        text, count = set_password(f.read(), password)
    if not count:
        raise Error("%s has no `option password` line" % os.path.relpath(config, ROOT))
    os.chmod(config, 0o600)
    with open(config, "w") as f:
        f.write(text)
    return staged


def has_placeholder(files):
    path = os.path.join(files, "etc", "config", "carp")
    try:
        with open(path) as f:
            return any(not line.lstrip().startswith("#") and _PASSWORD_LINE.match(line.rstrip("\n"))
                       and PASSWORD_PLACEHOLDER in line for line in f)
    except OSError:
        return False


def local_package_hint(package_names, apk):
    """Our own packages are not in OpenWrt's feeds: the Image Builder takes
    them from its packages/ directory (docs/openwrt-notes.md)."""
    ours = [name for name in package_names if name.startswith(("carp", "luci-app-carp"))]
    pattern = "%s-*.apk" if apk else "%s_*.ipk"
    return [pattern % name for name in ours]


def check_imagebuilder(ib, recipe, package_names, apk, warn):
    if not os.path.isfile(os.path.join(ib, "Makefile")):
        raise Error("IB %s is not an Image Builder directory (no Makefile)" % ib)
    config = {}
    try:
        with open(os.path.join(ib, ".config")) as f:
            for line in f:
                key, sep, value = line.strip().partition("=")
                if sep:
                    config[key] = value.strip('"')
    except OSError:
        pass
    found = (config.get("CONFIG_TARGET_BOARD"), config.get("CONFIG_TARGET_SUBTARGET"))
    wanted = (recipe["TARGET"], recipe["SUBTARGET"])
    if found[0] is not None and found != wanted:
        raise Error("IB %s is the Image Builder of %s/%s, not of %s/%s" % ((ib,) + found + wanted))
    if config and (config.get("CONFIG_USE_APK") == "y") != apk:
        warn("IB %s uses %s, but RELEASE says %s" % (ib, "apk" if config.get("CONFIG_USE_APK") == "y"
                                                       else "opkg", "apk" if apk else "opkg"))
    listing = os.listdir(os.path.join(ib, "packages")) if os.path.isdir(os.path.join(ib, "packages")) else []
    for pattern in local_package_hint(package_names, apk):
        prefix, suffix = pattern.split("*")
        if not any(name.startswith(prefix) and name.endswith(suffix) for name in listing):
            warn("no %s in %s: put it there, or make image stops at an unknown package"
                 % (pattern, os.path.join(ib, "packages")))


# `make firmware BOARD=... IB=...` puts these in our environment and, as
# command-line overrides, in MAKEFLAGS; the Image Builder's make must see
# none of them: it has a BOARD (the target) and an IB (1) of its own.
MAKE_VARIABLES = ("BOARD", "ROLE", "RELEASE", "IB", "RUN", "EXTRA_PACKAGES", "CARP_PASSWORD_FILE")
MAKE_STATE = ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES", "MAKE_TERMOUT", "MAKE_TERMERR")


def child_environment():
    env = dict(os.environ)
    for name in MAKE_VARIABLES + MAKE_STATE:
        env.pop(name, None)
    return env


def build(args, out=sys.stdout, err=sys.stderr):
    def warn(message):
        err.write("firmware: warning: %s\n" % message)

    recipe = load_recipe(args.board)
    role = check_role(args.role)
    release = args.release or DEFAULT_RELEASE
    apk = uses_apk(release)
    package_names = packages(recipe, args.extra_packages)
    if args.run and not args.ib:
        raise Error("RUN=1 needs IB=/path/to/the/unpacked/imagebuilder")
    files = os.path.join(ROLES_DIR, role, "files")
    if args.password_file:
        files = stage_overlay(role, read_password(args.password_file))
    elif has_placeholder(files):
        warn("the carp password is the placeholder '%s': give CARP_PASSWORD_FILE=file (the same on "
             "both routers), or set carp.lan.password on both after flashing" % PASSWORD_PLACEHOLDER)
    ib = os.path.abspath(args.ib) if args.ib else None
    if ib:
        check_imagebuilder(ib, recipe, package_names, apk, warn)
    make_args = image_args(recipe, package_names, files)

    manager = "apk, .apk packages" if apk else "opkg, .ipk packages"
    local = " ".join(local_package_hint(package_names, apk))
    out.write("# %s, role %s, OpenWrt %s\n" % (recipe["NAME"], role, release))
    out.write("#   %s/%s, profile %s\n" % (recipe["TARGET"], recipe["SUBTARGET"], recipe["PROFILE"]))
    out.write("#   (%s)\n" % recipe["PROFILE_SOURCE"])
    out.write("#   flash %s, RAM %s\n" % (recipe["FLASH"], recipe["RAM"]))
    out.write("# 1. The Image Builder (%s), unpacked with tar --zstd -xf:\n" % manager)
    out.write("#      %s\n" % imagebuilder_url(recipe, release))
    if local:
        out.write("# 2. Put %s into its packages/ directory (built with the SDK, docs/openwrt-notes.md).\n" % local)
    out.write("# 3. Inside the Image Builder directory:\n")
    line = shell_line(make_args)
    out.write(("cd %s && %s\n" % (shlex.quote(ib), line)) if ib else line + "\n")
    out.write("# Images: bin/targets/%s/%s/ of the Image Builder; see board/README.md for flashing.\n"
              % (recipe["TARGET"], recipe["SUBTARGET"]))
    out.flush()
    if not args.run:
        return 0
    return subprocess.call(["make", "image"] + make_args, cwd=ib, env=child_environment())


def list_boards(out=sys.stdout):
    out.write("%-22s %-18s %-30s %-13s %s\n" % ("BOARD", "TARGET", "PROFILE", "CARP", "NAME"))
    for board in boards():
        recipe = load_recipe(board)
        out.write("%-22s %-18s %-30s %-13s %s\n" % (
            board, recipe["TARGET"] + "/" + recipe["SUBTARGET"], recipe["PROFILE"],
            ",".join(p for p in recipe["PACKAGES"].split() if p.startswith("carp")), recipe["NAME"]))
    out.write("roles: %s\n" % ", ".join(roles()))
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(description="Print (or run) the OpenWrt Image Builder command "
                                     "for a carp router image.")
    parser.add_argument("--list", action="store_true", help="list the boards and roles")
    parser.add_argument("--board", default="", help="a folder of board/ with a recipe")
    parser.add_argument("--role", default="", help="primary or secondary (board/roles/)")
    parser.add_argument("--release", default="", help="OpenWrt release, default " + DEFAULT_RELEASE)
    parser.add_argument("--ib", default="", help="the unpacked Image Builder directory")
    parser.add_argument("--run", action="store_true", help="run make image inside --ib")
    parser.add_argument("--extra-packages", default="", help="more packages, e.g. luci-app-carp")
    parser.add_argument("--password-file", default="", help="first line: the shared carp password")
    args = parser.parse_args(argv)
    try:
        if args.list:
            return list_boards()
        return build(args)
    except Error as e:
        sys.stderr.write("firmware: %s\n" % e)
        return 2


if __name__ == "__main__":
    sys.exit(main())
