"""The verdict on each of a list of /etc/config/carp texts, one line each,
for comparing MicroPython with CPython (tests/unit/test_config_fuzz.py).
Usage: config_verdicts.py CONFIGS_JSON NETWORK_CONFIG
A verdict is `ok` and what the daemon would run, `refused` and every error
with where it points, `syntax` and the reader's error, or `TRACEBACK` and
the exception that escaped: the one thing that must never be printed.
"""
import json
import sys

from carp import uci, uciconfig


def hexed(packed):
    return "".join("%02x" % b for b in packed) if packed is not None else "-"


def summary(result):
    settings, vhids = result
    parts = ["enabled=%s interval=%d hook_timeout=%d boot_delay=%d user_script=%s" % (
        settings.enabled, settings.status_interval, settings.hook_timeout, settings.boot_delay,
        settings.user_script)]
    for v in vhids:
        parts.append("%s dev=%s vhid=%d pass=%d base=%d skew=%d preempt=%s demote=%d dead=%d src=%s peers=%s "
                     "vips=%s wan=%s group=%s track=%s pings=%s timing=%d/%d/%d/%d/%d" % (
                         v.name, v.device, v.vhid, len(v.passphrase), v.advbase, v.advskew, v.preempt,
                         v.demote, v.deadratio, hexed(v.source), ",".join(hexed(p) for _, p in v.peers),
                         ",".join("%s/%d" % (hexed(x.packed), x.prefixlen) for x in v.vips), ",".join(v.wan),
                         v.group, ",".join(v.track_interfaces), ",".join(hexed(p) for p in v.track_pings),
                         v.ping_interval, v.ping_rise, v.ping_fall, v.preempt_delay, v.up_delay))
    return " | ".join(parts)


def verdict(text, network):
    try:
        sections = uci.parse(text)
    except uci.UciError as e:
        return "syntax %s" % e
    try:
        return "ok " + summary(uciconfig.from_sections(sections, network))
    except uciconfig.ConfigErrors as e:
        return "refused " + " || ".join(str(x) for x in e.errors)


def main():
    with open(sys.argv[1]) as f:
        texts = json.loads(f.read())
    network = uci.load(sys.argv[2])
    for text in texts:
        try:
            line = verdict(text, network)
        except Exception as e:  # noqa: B902 (what the test is looking for)
            line = "TRACEBACK %s: %s" % (type(e).__name__, e)
        print(line)


main()
