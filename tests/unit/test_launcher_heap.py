"""The launcher (firmware/carpd) gives MicroPython an explicit heap: 256 KB +
48 KB per vhid of the config file for the package's .mpy files, 128 KB more
to compile .py sources (sized from the measurements in docs/memory.md),
CARP_HEAP instead when set, and nothing for CPython."""
import os
import subprocess

import pytest

from tests.tools import CARPD, command

VHID = "config vhid 'v%d'\n\toption vhid '%d'\n"


def installed_mpy(tmp_path):
    """A library directory like the `carp` package's: compiled modules only."""
    lib = tmp_path / "lib"
    (lib / "carp").mkdir(parents=True)
    (lib / "carp" / "daemon.mpy").write_bytes(b"M")
    return {"CARP_LIB": str(lib)}


def argv_seen(tmp_path, name, *args, env=None):
    """The interpreter's argv as the launcher runs it: a script named like
    the interpreter (carpd picks MICROPYPATH or PYTHONPATH by that name)
    that writes its arguments down and exits, as a daemon that fails at once."""
    record = tmp_path / "argv"
    interpreter = tmp_path / name
    interpreter.write_text('#!/bin/sh\necho "$@" > %s\n' % record)
    interpreter.chmod(0o755)
    r = subprocess.run([CARPD] + list(args), env=dict(os.environ, CARP_PYTHON=str(interpreter), TMPDIR=str(tmp_path),
                                                      **(env or {})),
                       capture_output=True, text=True, timeout=30)
    return r, record.read_text().split() if record.exists() else None


def config(tmp_path, vhids):
    conf = tmp_path / "carp.uci"
    conf.write_text("config globals 'globals'\n" + "".join(VHID % (i, i) for i in range(1, vhids + 1)))
    return str(conf)


@pytest.mark.parametrize("vhids,heap", [(1, "304K"), (4, "448K"), (16, "1024K")])
def test_heap_grows_with_the_vhids_of_the_config(tmp_path, vhids, heap):
    _, argv = argv_seen(tmp_path, "micropython", "-c", config(tmp_path, vhids), env=installed_mpy(tmp_path))
    assert argv[:4] == ["-X", "heapsize=%s" % heap, "-m", "carp"]


def test_sources_get_room_for_the_compiler(tmp_path):
    _, argv = argv_seen(tmp_path, "micropython", "-c", config(tmp_path, 4))  # firmware/: .py only
    assert argv[:2] == ["-X", "heapsize=576K"]


def test_command_line_mode_is_one_vhid(tmp_path):
    _, argv = argv_seen(tmp_path, "micropython", "-i", "lan0", "-v", "7", "-p", "x", "-a", "10.0.0.1",
                        env=installed_mpy(tmp_path))
    assert argv[:2] == ["-X", "heapsize=304K"]


def test_carp_heap_overrides(tmp_path):
    _, argv = argv_seen(tmp_path, "micropython", "-c", config(tmp_path, 4), env={"CARP_HEAP": "1M"})
    assert argv[:2] == ["-X", "heapsize=1M"]


def test_an_empty_carp_heap_is_the_default(tmp_path):
    _, argv = argv_seen(tmp_path, "micropython", "-c", config(tmp_path, 1), env=dict(installed_mpy(tmp_path), CARP_HEAP=""))
    assert argv[:2] == ["-X", "heapsize=304K"]


@pytest.mark.parametrize("bad", ["0", "abc", "12x", "1KM", "-5"])
def test_a_bad_carp_heap_is_refused_with_what_is_allowed(tmp_path, bad):
    r, argv = argv_seen(tmp_path, "micropython", "-c", config(tmp_path, 1), env={"CARP_HEAP": bad})
    assert r.returncode == 2 and argv is None
    assert "CARP_HEAP: '%s' is not valid: a heap size" % bad in r.stderr


def test_cpython_gets_no_heap_option(tmp_path):
    _, argv = argv_seen(tmp_path, "python3", "-c", config(tmp_path, 4))
    assert argv[:2] == ["-m", "carp"]


def test_the_real_micropython_takes_the_option(tmp_path):
    r = subprocess.run([command("micropython"), "-X", "heapsize=304K", "-c",
                        "import gc; print(gc.mem_alloc() + gc.mem_free())"], capture_output=True, text=True, timeout=60)
    assert 280 * 1024 < int(r.stdout) <= 304 * 1024, r.stdout + r.stderr
