"""The shape the code keeps (issue 14): small modules, one list of hook keys,
timers armed in one place, a data path docs/design.md can name in a few calls."""
import ast
import glob
import os
import re

from carp import hooks, machine, report

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIRMWARE = os.path.join(ROOT, "firmware")
MAX_MODULE_LINES = 400


def test_no_daemon_module_is_over_400_lines():
    sizes = {}
    for path in glob.glob(os.path.join(FIRMWARE, "carp", "*.py")):
        with open(path) as f:
            sizes[os.path.basename(path)] = sum(1 for _ in f)
    assert len(sizes) > 20
    assert [name for name, n in sizes.items() if n > MAX_MODULE_LINES] == []


def test_the_machine_arms_its_timer_in_one_function():
    with open(os.path.join(FIRMWARE, "carp", "machine.py")) as f:
        tree = ast.parse(f.read())
    writers = set()
    for func in ast.walk(tree):
        if isinstance(func, ast.FunctionDef):
            for node in ast.walk(func):
                if isinstance(node, ast.Attribute) and node.attr == "deadline" and isinstance(node.ctx, ast.Store):
                    writers.add(func.name)
    assert writers == {"__init__", "_setrun"}


class Recorder:
    """Every effect machine.apply may call, in the order it calls them."""

    def __init__(self):
        self.calls = []

    def __getattr__(self, name):
        return lambda target: self.calls.append((name, target))


def test_apply_carries_out_every_bit_in_one_order():
    everything = (machine.TAKE_VIPS | machine.SEND_ADVERT | machine.ANNOUNCE | machine.SEND_BOW_OUT
                  | machine.RELEASE_VIPS | machine.TRANSITION | machine.CONFLICT)
    effects = Recorder()
    machine.apply(everything, "vhid", effects)
    assert effects.calls == [(name, "vhid") for name in (
        "take_vips", "send_advert", "announce", "send_bow_out", "release_vips", "transition", "conflict")]
    effects = Recorder()
    machine.apply(machine.RELEASE_VIPS | machine.SEND_BOW_OUT, "vhid", effects)
    assert effects.calls == [("send_bow_out", "vhid"), ("release_vips", "vhid")]


# -- hook keys: one list (hooks.KEYS), the others held to it ------------------
class _Cfg:
    vhid, name, interface, device, vips, dnsmasq, wan, conntrackd = 1, "lan", "lan", "br-lan", [], 0, [], 0


class _Machine:
    previous = machine.BACKUP


class _Vhid:
    cfg, machine, vmac = _Cfg(), _Machine(), None

    def peer_text(self):
        return None


def test_the_daemons_hook_event_has_exactly_the_keys():
    assert list(report.hook_values(_Vhid(), None, "MASTER", "start")) == list(hooks.KEYS)


def test_the_hook_worker_reads_and_passes_exactly_the_keys():
    with open(os.path.join(FIRMWARE, "carp-hooks")) as f:
        worker = f.read()
    cleared = re.search(r"clear_event\(\) \{\n(.*?)\n\}", worker, re.S).group(1)
    assert re.findall(r"([A-Z_]+)=", cleared) == list(hooks.KEYS)
    assert re.findall(r"^\t([A-Z_]+)=\*\) ", worker, re.M) == list(hooks.KEYS)
    exported = re.search(r"set -- env -i (.*?)\"\$hotplug\" carp", worker, re.S).group(1)
    # TIMEOUT is the worker's own: how long the hook may run
    assert re.findall(r"\"([A-Z_]+)=\$", exported) == [k for k in hooks.KEYS if k != "TIMEOUT"]


# -- docs/design.md names the data path: every name it gives exists -----------
def _design():
    with open(os.path.join(ROOT, "docs", "design.md")) as f:
        return f.read()


def _steps(title):
    """The numbered steps under a '## title' heading: (file, Class.method or function)."""
    section = _design().split("## " + title, 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^\d+\. `([a-z]+)\.py`: `([A-Za-z_.]+)`", section, re.M)


def _exists(module, dotted):
    obj = __import__("carp." + module, fromlist=["_"])
    for part in dotted.split("."):
        obj = getattr(obj, part)
    return obj


def test_a_packet_reaches_the_kernel_in_four_calls_across_three_files():
    steps = _steps("A packet")
    assert 2 <= len(steps) <= 5  # where it starts, then at most four calls
    assert len(set(module for module, _ in steps)) <= 3
    for module, name in steps:
        assert callable(_exists(module, name)), (module, name)


def test_the_timer_path_named_beside_it_exists():
    steps = _steps("A timer")
    assert steps
    for module, name in steps:
        assert callable(_exists(module, name)), (module, name)


def test_docs_hooks_md_has_a_row_for_exactly_the_keys():
    with open(os.path.join(ROOT, "docs", "hooks.md")) as f:
        rows = re.findall(r"^\| `([A-Z_]+)` \|", f.read(), re.M)
    assert rows == list(hooks.KEYS)
