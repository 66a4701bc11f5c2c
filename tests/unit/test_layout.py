"""One import root: the repository (board.lab.carplab, tests.tools, ...) plus
firmware/ for the daemon package `carp`, put on the path by configuration
(pytest.ini's pythonpath, PYTHONPATH/MICROPYPATH in the Makefile and in the
subprocesses the tests start), never by code that edits sys.path: such
inserts made board/ and tests/ import each other's directories by file
position and hid which module a name meant."""
import os
import re

from tests.tools import ROOT

# insert/append/extend, slice or whole assignment, +=; not a read or ==
EDIT = re.compile(r"\bsys\.path\s*(\.\s*(insert|append|extend)\s*\(|(\[[^\]]*\])?\s*\+?=(?!=))")
SYS_PATH = "sys.path"
SKIP = {".git", ".venv", "build", "node_modules", "__pycache__"}


def python_files():
    for top, dirs, files in os.walk(ROOT):
        dirs[:] = [d for d in dirs if d not in SKIP]
        for name in files:
            if name.endswith(".py"):
                yield os.path.join(top, name)


def test_the_pattern_sees_every_kind_of_edit():
    # built from pieces, so that this file holds no edit for the scan to find
    edits = [SYS_PATH + e for e in (".insert(0, d)", ".append(d)", ".extend([d])", "[:0] = [d]", " = [d]", " += [d]")]
    assert all(EDIT.search(e) for e in edits)
    assert not any(EDIT.search(r) for r in ("if d not in sys.path:", "sys.path == x", "print(sys.path)"))


def test_no_python_file_edits_sys_path():
    found = []
    for path in python_files():
        with open(path, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                if EDIT.search(line):
                    found.append("%s:%d: %s" % (os.path.relpath(path, ROOT), n, line.strip()))
    assert not found, "put the root on the path by configuration instead:\n" + "\n".join(found)


# The design documents the project was started from live beside it, not in
# it: a user's clone has none of them, so nothing may send a reader there.
OUTSIDE_DOCS = re.compile(r"\.\./shared|\b(carp-wire|openwrt|field|dhcp)\.md\b")
TEXT_SKIP = (".png", ".pcap", ".ipk", ".mpy", ".gz", ".json")


def test_nothing_cites_documents_outside_the_repository():
    assert OUTSIDE_DOCS.search("see openwrt.md §7") and not OUTSIDE_DOCS.search("docs/openwrt-notes.md")
    found = []
    for top, dirs, files in os.walk(ROOT):
        dirs[:] = [d for d in dirs if d not in SKIP]
        for name in files:
            path = os.path.join(top, name)
            if name.endswith(TEXT_SKIP) or path == __file__:
                continue
            try:
                with open(path, encoding="utf-8") as f:
                    text = f.read()
            except (UnicodeDecodeError, OSError):
                continue
            for n, line in enumerate(text.splitlines(), 1):
                if OUTSIDE_DOCS.search(line):
                    found.append("%s:%d: %s" % (os.path.relpath(path, ROOT), n, line.strip()))
    assert not found, "cite docs/ instead:\n" + "\n".join(found)
