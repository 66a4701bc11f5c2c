#!/usr/bin/env python3
"""Measure what precompiling carp to .mpy buys on MicroPython.

    scripts/measure-mpy.py [--runs 10]

Installs firmware/carp twice into a temporary /usr/lib/carp/carp, once as the
.py sources and once as mpy-cross output (the way scripts/build-ipk.py
builds the `carp` package), and prints for each:
  - installed size: bytes, 4 KiB blocks, and gzip'd tar (data.tar.gz) size;
  - start-up: median wall time of `micropython -c 'import carp.daemon,
    carp.uciconfig'` over --runs runs, and inside that process the import
    time (time.ticks_us) and the MicroPython heap (bytes allocated in all,
    peak, and still held after gc.collect()).
Needs `micropython` and `mpy-cross` on PATH (the venv of `make deps`).
"""
import argparse
import importlib.util
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("build_ipk", os.path.join(HERE, "build-ipk.py"))
build_ipk = importlib.util.module_from_spec(spec)
spec.loader.exec_module(build_ipk)

IMPORT = "import carp.daemon, carp.uciconfig"
PROBE = """
import gc, micropython, time
gc.collect()
t0 = time.ticks_us(); total0 = micropython.mem_total()
%s
dt = time.ticks_diff(time.ticks_us(), t0)
total = micropython.mem_total() - total0; peak = micropython.mem_peak()
gc.collect()
print(dt, total, peak, gc.mem_alloc())
""" % IMPORT


def install(kind, root):
    lib = os.path.join(root, "carp")
    os.makedirs(lib)
    if kind == "mpy":
        for name, data in build_ipk.compile_mpy(root).items():
            with open(os.path.join(lib, name), "wb") as f:
                f.write(data)
        for name in os.listdir(root):
            if name.endswith(".mpy"):
                os.remove(os.path.join(root, name))
    else:
        for name in build_ipk.python_modules():
            shutil.copy(os.path.join(build_ipk.FIRMWARE, "carp", name), lib)
    return lib


def sizes(lib):
    names = sorted(os.listdir(lib))
    raw = sum(os.path.getsize(os.path.join(lib, n)) for n in names)
    blocks = sum((os.path.getsize(os.path.join(lib, n)) + 4095) // 4096 for n in names)
    members = [("./carp/", "dir", 0o755, None)]
    for n in names:
        with open(os.path.join(lib, n), "rb") as f:
            members.append(("./carp/" + n, "file", 0o644, f.read()))
    gz = len(build_ipk.gzip_bytes(build_ipk.tar_bytes(members, 0)))
    return len(names), raw, blocks * 4, gz


def startup(root, runs, micropython):
    env = dict(os.environ, MICROPYPATH=root)
    wall, inner = [], []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run([micropython, "-c", IMPORT], env=env, check=True)
        wall.append((time.perf_counter() - t) * 1000)
        out = subprocess.run([micropython, "-c", PROBE], env=env, check=True,
                             capture_output=True, text=True).stdout.split()
        inner.append([int(x) for x in out])
    column = lambda i: statistics.median(r[i] for r in inner)
    return statistics.median(wall), column(0) / 1000, column(1), column(2), column(3)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    micropython = shutil.which("micropython")
    if not micropython:
        raise SystemExit("measure-mpy: micropython not on PATH (make deps; PATH=.venv/bin:$PATH)")
    version = subprocess.run([micropython, "-c", "import sys; print(sys.implementation.version)"],
                             capture_output=True, text=True).stdout.strip()
    cross = subprocess.run([build_ipk.mpy_cross(), "--version"], capture_output=True, text=True).stdout.strip()
    print("micropython %s; %s; %d runs, medians" % (version, cross, args.runs))
    print("| | files | bytes | 4 KiB blocks | data.tar.gz | `micropython -c '%s'` | import inside | heap allocated | heap peak | heap held |" % IMPORT)
    print("|---|---|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for kind in ("py", "mpy"):
            root = os.path.join(tmp, kind)
            os.makedirs(root)
            n, raw, kib, gz = sizes(install(kind, root))
            wall, inner_ms, total, peak, held = startup(root, args.runs, micropython)
            print("| .%s | %d | %d | %d KiB | %d | %.1f ms | %.1f ms | %d KB | %d KB | %d KB |"
                  % (kind, n, raw, kib, gz, wall, inner_ms, total // 1000, peak // 1000, held // 1000))
    return 0


if __name__ == "__main__":
    sys.exit(main())
