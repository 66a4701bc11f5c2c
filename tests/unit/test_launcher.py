"""The carpd launcher's FIFOs (issue 13, item 6): they live in a private
directory with an unguessable name, so nothing a local user creates in
/tmp beforehand keeps carpd from starting. Run on the host: the daemon
stops at once on an interface that does not exist, before any traffic."""
import os
import subprocess
import sys

from tests.tools import CARPD

ARGS = ["-i", "nosuchdev13", "-v", "1", "-a", "10.0.0.1"]


def launch(tmp_path, prefix=""):
    """carpd with TMPDIR=tmp_path; prefix runs first in the same shell,
    whose PID the launcher then keeps (exec)."""
    env = dict(os.environ, TMPDIR=str(tmp_path), CARP_PYTHON=sys.executable)
    script = prefix + 'exec "$0" "$@"'
    return subprocess.run(["sh", "-c", script, CARPD] + ARGS, env=env, capture_output=True, text=True, timeout=60)


def test_the_daemon_starts_and_the_fifos_are_gone(tmp_path):
    r = launch(tmp_path)
    assert "interface nosuchdev13 does not exist" in r.stderr, r.stderr
    assert os.listdir(str(tmp_path)) == []


def test_names_taken_in_tmp_beforehand_do_not_keep_it_from_starting(tmp_path):
    # What a local user could do: occupy the names the launcher used to
    # pick, carpd.<its pid>.ctl and .hooks, with directories rm -f leaves.
    r = launch(tmp_path, 'mkdir "$TMPDIR/carpd.$$.ctl" "$TMPDIR/carpd.$$.hooks"; ')
    assert "interface nosuchdev13 does not exist" in r.stderr, r.stderr
    assert sorted(n for n in os.listdir(str(tmp_path)) if not n.endswith((".ctl", ".hooks"))) == []
