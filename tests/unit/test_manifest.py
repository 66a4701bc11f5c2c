"""firmware/manifest.py (micropython-lib's format, for freezing) and
firmware/package.json (for mip) against the daemon's files and version.

MicroPython's tools/manifestfile.py is not part of this repository, so the
manifest runs here against a stand-in with the same rules as its compile
mode: metadata() must come first and only once, package(name) with no file
list takes every .py file under base_path/name as name/<file>, module()
takes one .py file, and a file that is not there is an error ("Cannot
stat"). Checked once against the real manifestfile.py (MicroPython master,
2026-08): the same 23 target paths in compile and freeze mode."""
import glob
import json
import os
import re

import pytest

from tests.tools import FIRMWARE, ROOT

MANIFEST = os.path.join(FIRMWARE, "manifest.py")
PACKAGE_JSON = os.path.join(FIRMWARE, "package.json")


def modules():
    """carp/<module>.py for every module of the daemon."""
    return sorted(os.path.relpath(p, FIRMWARE) for p in glob.glob(os.path.join(FIRMWARE, "carp", "*.py")))


def version():
    with open(os.path.join(FIRMWARE, "carp", "__init__.py")) as f:
        return re.search(r'^VERSION = "(.*)"$', f.read(), re.M).group(1)


class ManifestError(Exception):
    pass


def run_manifest(path):
    """-> (metadata kwargs, [target paths]) as manifestfile.py's compile mode gives them."""
    here = os.path.dirname(path)
    meta = {}
    targets = []

    def metadata(**kwargs):
        if meta:
            raise ManifestError("Duplicate call to metadata().")
        unknown = set(kwargs) - {"description", "version", "license", "author", "stdlib", "pypi", "pypi_publish"}
        if unknown:
            raise ManifestError("unexpected keyword arguments %s" % sorted(unknown))
        meta.update(kwargs)

    def first():
        if not meta:
            raise ManifestError("metadata() must be the first command in a manifest file.")

    def add(full, target):
        if not os.path.exists(full):
            raise ManifestError("Cannot stat %s" % full)
        targets.append(target)

    def package(package_path, files=None, base_path=".", opt=None):
        first()
        base = os.path.join(here, base_path)
        if files is not None:
            for name in files:
                add(os.path.join(base, package_path, name), os.path.join(package_path, name))
            return
        for dirpath, _, names in os.walk(os.path.join(base, package_path)):
            for name in names:
                if name.endswith(".py"):
                    full = os.path.join(dirpath, name)
                    add(full, os.path.relpath(full, base))

    def module(module_path, base_path=".", opt=None):
        first()
        if not module_path.endswith(".py"):
            raise ManifestError("module must be .py file")
        add(os.path.join(here, base_path, module_path), module_path)

    with open(path) as f:
        exec(f.read(), {"metadata": metadata, "package": package, "module": module})
    return meta, sorted(targets)


def test_the_stand_in_refuses_what_manifestfile_refuses(tmp_path):
    manifest = tmp_path / "manifest.py"
    manifest.write_text('package("carp")\n')
    with pytest.raises(ManifestError, match="must be the first"):
        run_manifest(str(manifest))
    manifest.write_text('metadata(version="1")\nmodule("gone.py")\n')
    with pytest.raises(ManifestError, match="Cannot stat"):
        run_manifest(str(manifest))


def test_the_manifest_freezes_every_module_of_the_daemon():
    meta, targets = run_manifest(MANIFEST)
    assert targets == modules()
    assert meta["description"] and meta["license"] == "GPL-2.0-or-later"


def test_the_manifest_has_the_daemons_version():
    meta, _ = run_manifest(MANIFEST)
    assert meta["version"] == version()


def test_package_json_lists_every_module_and_nothing_else():
    with open(PACKAGE_JSON) as f:
        doc = json.load(f)
    # [destination under mip's target, source relative to package.json]
    assert sorted(dest for dest, _ in doc["urls"]) == modules()
    for dest, source in doc["urls"]:
        assert source == dest and os.path.exists(os.path.join(FIRMWARE, source)), source
    assert doc["deps"] == []
    assert doc["version"] == version()


def test_package_json_is_what_make_docs_writes():
    with open(PACKAGE_JSON) as f:
        text = f.read()
    script = os.path.join(ROOT, "scripts", "mip-package.py")
    namespace = {"__file__": script, "__name__": "mip_package"}
    with open(script) as f:
        exec(compile(f.read(), script, "exec"), namespace)
    assert text == namespace["render"](), "run `make docs`"


def test_the_opkg_package_has_the_same_version():
    """package/carp/Makefile reads PKG_VERSION out of carp/__init__.py; the
    sed must keep finding it there."""
    with open(os.path.join(ROOT, "package", "carp", "Makefile")) as f:
        makefile = f.read()
    assert "PKG_VERSION:=$(shell sed -n 's/^VERSION = \"\\(.*\\)\"$$/\\1/p' $(CARP_SRC)/carp/__init__.py)" in makefile
    assert re.search(r'^VERSION = "[0-9][0-9.]*"$', open(os.path.join(FIRMWARE, "carp", "__init__.py")).read(), re.M)
