"""The status document on disk and the `carp status` table."""
import json
import os

from carp import status

DOC = {"version": "0.1.0", "updated": 1790000000, "drops": {"unknown_vhid": 3},
       "vhids": [{"name": "lan", "device": "br-lan", "vhid": 1, "state": "MASTER", "previous": "BACKUP",
                  "since": 1790000000, "reason": "master down", "transitions": 2, "master": "192.168.1.1",
                  "source": "192.168.1.1", "addresses": ["192.168.1.254/24"], "peers": [], "advbase": 1,
                  "advskew": 0, "demote": 2, "preempt": True, "master_down_ms": 3000, "seen": None,
                  "rx": 5, "tx": 9, "tx_errors": 0, "drops": {"bad_hmac": 4}}]}


def test_write_is_atomic_and_creates_the_directory(tmp_path):
    path = tmp_path / "run" / "carp" / "status.json"
    status.write(str(path), DOC)
    assert json.loads(path.read_text()) == DOC
    assert os.listdir(str(path.parent)) == ["status.json"]  # no temporary left behind


def test_table_has_one_row_per_vhid_and_the_totals(capsys, tmp_path):
    path = tmp_path / "status.json"
    status.write(str(path), DOC)
    assert status.main(["-f", str(path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["NAME", "DEVICE", "VHID", "STATE", "SINCE", "MASTER", "TIMING", "RX", "TX",
                                "DROPS", "REASON"]
    row = lines[1].split()
    assert row[:4] == ["lan", "br-lan", "1", "MASTER"] and "192.168.1.1" in row and "1/0" in row
    assert lines[1].endswith("master down") and "d2" in lines[1]
    assert lines[2] == "dropped: unknown_vhid 3"
    assert status.main(["--json", "-f", str(path)]) == 0
    assert json.loads(capsys.readouterr().out) == DOC


def test_missing_or_broken_status_is_explained(capsys, tmp_path):
    assert status.main(["-f", str(tmp_path / "nope.json")]) == 1
    assert "is carpd running?" in capsys.readouterr().err
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    assert status.main(["-f", str(broken)]) == 1
    assert "not valid status JSON" in capsys.readouterr().err
    assert status.main(["--bogus"]) == 2


def test_table_shows_the_heap_when_the_document_has_one(capsys, tmp_path):
    path = tmp_path / "status.json"
    status.write(str(path), dict(DOC, memory={"heap_used": 40960, "heap_size": 65536}))
    assert status.main(["-f", str(path)]) == 0
    assert "heap: 40 of 64 KB used" in capsys.readouterr().out.splitlines()
    assert status.memory() is None  # CPython: no MicroPython heap to report
