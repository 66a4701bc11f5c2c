"""Where the test tools are: commands from the venv the Makefile builds."""
import os
import shutil
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIRMWARE = os.path.join(ROOT, "firmware")
CARPD = os.path.join(FIRMWARE, "carpd")
VECTORS = os.path.join(ROOT, "tests", "vectors")  # real ucarp captures, carried with the project


def command(name):
    """A command from PATH or from the directory of the running interpreter (the venv)."""
    found = shutil.which(name) or shutil.which(name, path=os.path.dirname(sys.executable))
    if not found:
        raise RuntimeError("%s not found: run `make deps` (or `make test`) first" % name)
    return found


# Debian's CPython for the MIPS ABI and for a big-endian CPU, under qemu-user
# (scripts/foreign-python.sh, run by `make deps`).
FOREIGN_ARCHES = ("mipsel", "s390x")
FOREIGN = os.path.join(ROOT, "build", "foreign")


def foreign_python(arch):
    path = os.path.join(FOREIGN, arch, "python3")
    if not os.access(path, os.X_OK):
        raise RuntimeError("%s not found: run `make deps` (scripts/foreign-python.sh)" % path)
    return path


INTERPRETERS = {
    "micropython": lambda: command("micropython"),
    "cpython": lambda: sys.executable,
}

def foreign_python_for_carpd(arch):
    """foreign_python(arch) with the test harness's qemu workaround loaded
    (tests/foreign/sitecustomize.py)."""
    foreign_python(arch)
    return os.path.join(ROOT, "tests", "foreign", "python3-" + arch)


for _arch in FOREIGN_ARCHES:
    INTERPRETERS["cpython-" + _arch] = lambda arch=_arch: foreign_python_for_carpd(arch)
