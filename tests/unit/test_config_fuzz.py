"""Mutated real configurations (the shipped file, the board roles' files and
one with every option) through the daemon's validation, on CPython and
MicroPython (issue 13). For every mutant: no exception escapes, both
interpreters give the same verdict word for word, every refusal names
carp.<section>.<option>, and whatever is accepted is inside the documented
grammar, checked here by rules of our own and Python's ipaddress module,
not by the daemon's code. CARP_FUZZ_EXAMPLES=50000 runs a longer campaign."""
import ipaddress
import json
import os
import re
import subprocess
import sys

from hypothesis import HealthCheck, given, settings, strategies as st

from carp import config, uci, uciconfig
from tests.tools import FIRMWARE, ROOT, command

HERE = os.path.dirname(os.path.abspath(__file__))
NETWORK_PATH = os.path.join(HERE, "bad_configs", "network")
NETWORK = uci.load(NETWORK_PATH)
VERDICTS = os.path.join(ROOT, "tests", "mp", "config_verdicts.py")
EXAMPLES = int(os.environ.get("CARP_FUZZ_EXAMPLES", "300"))
BATCH = 100  # configs per interpreter run: MicroPython's default heap holds them with room to spare

EVERY_OPTION = """config globals 'globals'
\toption enabled '1'
\toption status_file '/var/run/carp/status.json'
\toption status_interval '5'
\toption user_script '0'
\toption hook_timeout '30'
\toption boot_delay '0'

config vhid 'lan'
\toption enabled '1'
\toption device 'br-lan'
\toption vhid '1'
\toption password 'secret'
\tlist address '192.168.1.254/24'
\tlist address 'fd00::1/64'
\tlist peer '192.168.1.2'
\toption source '192.168.1.1'
\toption advbase '1'
\toption advskew '0'
\toption deadratio '3'
\toption preempt '1'
\toption demote '0'
\toption dnsmasq '1'
\tlist wan 'wan'
\toption conntrackd '0'
\toption group 'carp'
\tlist track_interface 'eth1'
\tlist track_ping '192.168.0.1'
\toption ping_interval '1'
\toption ping_rise '3'
\toption ping_fall '3'
\toption preempt_delay '0'
\toption up_delay '0'

config vhid 'guest'
\toption interface 'wan'
\toption vhid '2'
\tlist address '10.0.0.254/24'
"""


def seeds():
    out = [EVERY_OPTION]
    for path in (os.path.join(ROOT, "package", "carp", "files", "carp.config"),
                 os.path.join(ROOT, "board", "roles", "primary", "files", "etc", "config", "carp"),
                 os.path.join(ROOT, "board", "roles", "secondary", "files", "etc", "config", "carp")):
        with open(path, encoding="utf-8") as f:
            out.append(f.read().replace("option enabled '0'", "option enabled '1'"))
    return out


SEEDS = seeds()
LINE = re.compile(r"^(\s*)(option|list)\s+(\w+)\s+'([^']*)'\s*$")

# Near misses of every kind of value: signs, blanks, separators, other
# scripts' digits and letters, NUL, loopback, prefixes, paths.
ALPHABET = "0123456789abcdefABCDEF:./-+_ \t%xyz\u00e4\u0665\uff15\x00"
INTERESTING = ["127.0.0.1", "127.1.2.3/8", "::1", "::ffff:127.0.0.1", "0.0.0.0", "::", "224.0.0.18", "ff02::12",
               "/etc/shadow", "/var/run/carp/status.json", "yes", "on", "enabled", "YES", "w\u00e4n", "br:lan",
               "br-lan", "eth0.2", "lo", "1_0", "+5", " 5", "5 ", "010", "-0", "\u0665", "\uff15", "10.0.0.1/",
               "10.0.0.1/024", "10.0.0.1/\u0668", "fd00::1/0064", "01.2.3.4", "", "x" * 40, "1e2", "0x10"]
NUMBER = st.builds(lambda pre, n, post: pre + str(n) + post,
                   st.sampled_from(["", "", "", " ", "+", "-", "0", "\t", "\u0665"]),
                   st.integers(-5, 70000),
                   st.sampled_from(["", "", "", " ", "_0", "/8", ".0", "\u0665"]))
IPV4 = st.builds(lambda a, prefix: str(a) + prefix, st.ip_addresses(v=4),
                 st.sampled_from(["", "", "/24", "/32", "/33", "/0", "/08", "/", "/+8"]))
IPV6 = st.builds(lambda a, prefix: str(a) + prefix, st.ip_addresses(v=6),
                 st.sampled_from(["", "", "/64", "/128", "/129", "/064", "/0064"]))
VALUE = st.one_of(st.text(alphabet=ALPHABET, max_size=12), NUMBER, IPV4, IPV6, st.sampled_from(INTERESTING))
NAMES = sorted(set(uciconfig.GLOBALS_OPTIONS + uciconfig.VHID_OPTIONS)) + ["passwd", "ifname", "Address"]

# One mutation: (kind, which line, a value or a name)
MUTATION = st.tuples(st.sampled_from(["value", "value", "value", "add", "rename", "delete"]),
                     st.integers(0, 10 ** 6), VALUE, st.sampled_from(NAMES))


def mutate(text, mutations):
    lines = text.split("\n")
    for kind, index, value, name in mutations:
        candidates = [i for i, line in enumerate(lines) if LINE.match(line)]
        if not candidates:
            break
        i = candidates[index % len(candidates)]
        indent, verb, option, old = LINE.match(lines[i]).groups()
        if kind == "value":
            lines[i] = "%s%s %s '%s'" % (indent, verb, option, value.replace("'", ""))
        elif kind == "add":
            lines.insert(i + 1, "%slist %s '%s'" % (indent, option, value.replace("'", "")))
        elif kind == "rename":
            lines[i] = "%s%s %s '%s'" % (indent, verb, name, old)
        else:
            del lines[i]
    return "\n".join(lines)


CONFIG = st.builds(mutate, st.sampled_from(SEEDS), st.lists(MUTATION, min_size=1, max_size=4))


# -- the documented grammar, stated independently of the daemon's code -------

INTEGER = re.compile(r"-?[0-9]+")
ASCII_NAME = re.compile(r"[A-Za-z0-9_]+")


def allowed_address(text, prefix_ok, families=(4, 6)):
    addr, slash, plen = text.partition("/")
    if slash and not prefix_ok:
        return False
    if not re.fullmatch(r"[0-9a-fA-F:.]+", addr):
        return False
    try:
        ip = ipaddress.ip_address(addr)
    except ValueError:
        return False
    if ip.version not in families:
        return False
    if slash and not re.fullmatch(r"[0-9]{1,2}" if ip.version == 4 else r"[0-9]{1,3}", plen):
        return False
    if slash and int(plen) > ip.max_prefixlen:
        return False
    mapped = getattr(ip, "ipv4_mapped", None)
    return not (ip.is_loopback or ip.is_multicast or ip.is_unspecified or (mapped and mapped.is_loopback))


def documented(spec, value):
    kind = spec["kind"]
    if kind == "integer":
        return bool(INTEGER.fullmatch(value)) and spec["low"] <= int(value) <= spec["high"]
    if kind == "bool":
        return value in uciconfig.TRUE_WORDS + uciconfig.FALSE_WORDS
    if kind == "statusfile":
        return value == config.STATUS_FILE
    if kind == "secret":
        return len(value.encode()) <= spec["high"]
    if kind == "netdev":
        return 1 <= len(value.encode()) <= 15 and value not in (".", "..") and \
            not any(c in "/: \t\n\v\f\r\0" for c in value)
    if kind == "netifd":
        return bool(ASCII_NAME.fullmatch(value)) and len(value) <= 15
    if kind == "name":
        return bool(ASCII_NAME.fullmatch(value)) and len(value) <= 32
    if kind == "vip":
        return allowed_address(value, True)
    if kind == "unicast":
        return allowed_address(value, False)
    if kind == "ip4addr":
        return allowed_address(value, False, (4,)) or (value in ("0.0.0.0",) or _ip4_multicast(value))
    return kind == "network"  # resolved through /etc/config/network


def _ip4_multicast(value):
    # The source and ping targets take any IPv4 address but loopback.
    try:
        return re.fullmatch(r"[0-9.]+", value) and ipaddress.IPv4Address(value).is_multicast
    except ValueError:
        return False


def check_accepted(sections):
    """Every value of an accepted configuration is inside the grammar."""
    for s in sections:
        schema = uciconfig.SCHEMA[s.type]
        if s.type == "vhid" and "enabled" in s.options and s.options["enabled"] in uciconfig.FALSE_WORDS:
            continue  # checked all the same, but only if it were run would a slip matter
        for name, value in s.options.items():
            spec = schema[name]
            values = value if isinstance(value, list) else [value]
            assert spec["list"] or not isinstance(value, list), (s.name, name, value)
            assert len(values) <= (spec["most"] if spec["list"] else 1), (s.name, name, len(values))
            for v in values:
                assert documented(spec, v), (s.name, name, v)


def cpython_verdict(text):
    """(sections, errors or None) on this interpreter, exceptions escaping."""
    try:
        sections = uci.parse(text)
    except uci.UciError:
        return None, None
    try:
        uciconfig.from_sections(sections, NETWORK)
        return sections, None
    except uciconfig.ConfigErrors as e:
        return sections, e.errors


WHERE = re.compile(r"carp\.[A-Za-z0-9_@\[\]]+\.[A-Za-z0-9_]+")


def test_mutated_configs_get_one_verdict_on_both_interpreters(tmp_path):
    texts = []

    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(CONFIG)
    def each(text):
        sections, errors = cpython_verdict(text)
        if errors is not None:
            for e in errors:
                assert isinstance(e, config.ConfigError)
                assert WHERE.fullmatch(e.where), (e.where, str(e))
                assert str(e).startswith(e.where + ": ")
        elif sections is not None:
            check_accepted(sections)
        texts.append(text)

    each()
    outputs = {"micropython": [], "cpython": []}
    for start in range(0, len(texts), BATCH):
        batch = tmp_path / "configs.json"
        batch.write_text(json.dumps(texts[start:start + BATCH]))
        for name, argv, env in (("micropython", [command("micropython")], {"MICROPYPATH": FIRMWARE}),
                                ("cpython", [sys.executable], {"PYTHONPATH": FIRMWARE, "PYTHONIOENCODING": "utf-8"})):
            r = subprocess.run(argv + [VERDICTS, str(batch), NETWORK_PATH], env=dict(os.environ, **env),
                               capture_output=True, timeout=600)
            assert r.returncode == 0, r.stderr.decode("utf-8", "replace")
            outputs[name] += r.stdout.decode("utf-8").split("\n")[:-1]
    assert len(outputs["cpython"]) == len(texts)
    differ = [(texts[i], a, b) for i, (a, b) in enumerate(zip(outputs["cpython"], outputs["micropython"])) if a != b]
    assert not differ, differ[:3]
    escaped = [line for line in outputs["cpython"] if line.startswith("TRACEBACK")]
    assert not escaped, escaped[:3]
    kinds = set(line.split(" ")[0] for line in outputs["cpython"] if line)
    assert {"ok", "refused"} <= kinds  # the mutations reach both outcomes
