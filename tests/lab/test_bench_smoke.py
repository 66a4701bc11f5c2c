"""A smoke run of the benchmark (`make bench` runs them all, for minutes):
one scenario, one run, carp on MicroPython against keepalived, through the
same code path and the same JSON and Markdown output."""
import json
import subprocess
import sys

from tests.tools import ROOT


def test_bench_stop_scenario_smoke(tmp_path):
    out_json, out_md = tmp_path / "bench.json", tmp_path / "bench.md"
    r = subprocess.run([sys.executable, "-m", "board.bench.bench", "--runs", "1", "--only", "stop",
                        "--contenders", "carp-mpy,keepalived", "--json", str(out_json), "--markdown", str(out_md)],
                       cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert r.returncode == 0, r.stdout + r.stderr
    doc = json.loads(out_json.read_text())
    stop = doc["failover"]["stop"]
    assert set(stop) == {"carp-mpy", "keepalived"}
    for name in stop:
        assert stop[name]["outage_ms"]["n"] == 1 and stop[name]["outage_ms"]["median"] > 0
    # the bow-out: the backup takes over at once, not after its master-down time (3.4 s)
    assert stop["carp-mpy"]["takeover_ms"]["median"] < 1000, stop["carp-mpy"]
    assert stop["carp-mpy"]["outage_ms"]["median"] < 2000, stop["carp-mpy"]
    table = out_md.read_text()
    assert "| client outage, master's daemon stopped with SIGTERM (ms) |" in table
    # the venv's PyPI MicroPython runs inside a CPython process: said so
    assert "carp (MicroPython inside CPython)" in table and table.strip() in r.stdout
    assert doc["versions"]["keepalived"] and doc["contenders"]["carp-mpy"] == "carp (MicroPython inside CPython)"
    assert doc["versions"]["micropython_package"] and doc["versions"]["micropython_binary"] is None


def test_bench_heap_scenario_reports_heap_and_rss(tmp_path):
    """The launcher's default heap (sized by the number of vhids) and the
    CARP_HEAP override, as `make bench MICROPYTHON=...` runs them."""
    out_json, out_md = tmp_path / "bench.json", tmp_path / "bench.md"
    r = subprocess.run([sys.executable, "-m", "board.bench.bench", "--runs", "1", "--only", "heap",
                        "--contenders", "carp-mpy", "--heap-runs", "2:default,1:1M", "--json", str(out_json),
                        "--markdown", str(out_md)], cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert r.returncode == 0, r.stdout + r.stderr
    default, given = json.loads(out_json.read_text())["heap"]
    assert default["master_of_all"] and default["alive"] and given["master_of_all"] and given["alive"]
    # 256 KB + 48 KB per vhid, less the GC's own tables
    assert 320 * 1024 < default["heap_size"] <= 352 * 1024, default
    assert 1000 * 1024 < given["heap_size"] <= 1024 * 1024, given
    for run in (default, given):
        assert 0 < run["heap_used"] < run["heap_size"]
        assert 0 < run["rss_kb_interpreter"] < run["rss_kb_all"]
    assert "| 2 | default (" in out_md.read_text()


def test_bench_floor_wakes_once_per_advertisement_and_is_tabled(tmp_path):
    """The idle scenario's floor (floor.py on the venv's MicroPython): a
    master that sends and a backup that reads once per advertisement,
    the same wake-ups carp makes; the table sets carp against it."""
    from board.bench import bench
    from board.bench.contenders import Floor
    micropython = bench.venv_micropython()
    raw = bench.idle_session(Floor(micropython, "floor"), 1, tmp_path, "1s", window=3.0)
    for role in ("master", "backup"):
        run, = raw[role]
        assert 0.6 <= run["wakeups_per_s"] <= 1.4, raw  # one advertisement a second, sent or read
        assert run["cpu_us_per_s"] > 0, raw
    entry = dict((role, {"cpu_us_per_s": {"median": raw[role][0]["cpu_us_per_s"]}}) for role in raw)
    carp = dict((role, {"cpu_us_per_s": {"median": 2 * raw[role][0]["cpu_us_per_s"]}}) for role in raw)
    table = bench.floor_table({"idle": {"1s": {"carp-mpy": carp}}, "idle_floor": {"1s": {"mpy-floor": entry}}})
    assert "| backup, advbase 1 | %.0f | %.0f | – | 2.00 | – |" % (
        carp["backup"]["cpu_us_per_s"]["median"], entry["backup"]["cpu_us_per_s"]["median"]) in table, table
