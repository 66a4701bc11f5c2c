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
