"""Where the test tools are: commands from the venv the Makefile builds."""
import os
import shutil
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIRMWARE = os.path.join(ROOT, "firmware")
CARPD = os.path.join(FIRMWARE, "carpd")


def command(name):
    """A command from PATH or from the directory of the running interpreter (the venv)."""
    found = shutil.which(name) or shutil.which(name, path=os.path.dirname(sys.executable))
    if not found:
        raise RuntimeError("%s not found: run `make deps` (or `make test`) first" % name)
    return found


INTERPRETERS = {
    "micropython": lambda: command("micropython"),
    "cpython": lambda: sys.executable,
}
