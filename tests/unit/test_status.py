"""The status document on disk and the `carp status` table."""
import json
import os
import stat
import subprocess

import pytest

from carp import config, status
from tests.tools import FIRMWARE, command

DOC = {"version": "0.1.0", "updated": 1790000000, "drops": {"unknown_vhid": 3},
       "vhids": [{"name": "lan", "device": "br-lan", "vhid": 1, "state": "MASTER", "previous": "BACKUP",
                  "since": 1790000000, "reason": "master down", "transitions": 2, "master": "192.168.1.1",
                  "source": "192.168.1.1", "addresses": ["192.168.1.254/24"], "peers": [], "advbase": 1,
                  "advskew": 0, "demote": 2, "preempt": True, "master_down_ms": 3000, "seen": None,
                  "rx": 5, "tx": 9, "tx_errors": 0, "drops": {"bad_hmac": 4}}]}


def test_write_is_atomic_and_creates_the_directory(tmp_path):
    path = tmp_path / "carp" / "status.json"
    status.write(str(path), DOC)
    assert json.loads(path.read_text()) == DOC
    assert os.listdir(str(path.parent)) == ["status.json"]  # no temporary left behind
    assert stat.S_IMODE(os.stat(str(path.parent)).st_mode) == 0o755


# -- issue 13: the status file cannot be pointed at someone else's file ------

def test_the_status_file_is_in_carps_own_directory_whatever_the_config(monkeypatch):
    monkeypatch.delenv("CARP_RUN_DIR", raising=False)
    assert status.location() == "/var/run/carp/status.json" == config.STATUS_FILE
    monkeypatch.setenv("CARP_RUN_DIR", "/tmp/lab/r1")
    assert status.location() == "/tmp/lab/r1/status.json"


def victim_and_link(tmp_path):
    """A file root must not touch, and a link to it where the temporary goes."""
    victim = tmp_path / "shadow"
    victim.write_text("root:$6$hash:19000::::::\n")
    run = tmp_path / "carp"
    run.mkdir(mode=0o755)
    (run / "status.json.tmp").symlink_to(victim)
    return victim, run / "status.json"


def test_a_symlink_planted_as_the_temporary_file_is_not_followed(tmp_path):
    victim, path = victim_and_link(tmp_path)
    status.write(str(path), DOC)
    assert victim.read_text() == "root:$6$hash:19000::::::\n"
    assert json.loads(path.read_text()) == DOC and not path.is_symlink()


def test_micropython_does_not_follow_it_either(tmp_path):
    victim, path = victim_and_link(tmp_path)
    r = subprocess.run([command("micropython"), "-c", "from carp import status\nstatus.write(%r, {'a': 1})" % str(path)],
                       env=dict(os.environ, MICROPYPATH=FIRMWARE), capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert victim.read_text() == "root:$6$hash:19000::::::\n"
    assert json.loads(path.read_text()) == {"a": 1}


@pytest.mark.parametrize("mode", [0o777, 0o1777, 0o775])
def test_a_directory_others_may_write_to_is_refused(tmp_path, mode):
    run = tmp_path / "carp"
    run.mkdir()
    os.chmod(str(run), mode)  # e.g. a /tmp-like place someone made before carpd
    with pytest.raises(OSError) as e:
        status.write(str(run / "status.json"), DOC)
    assert "not writing there" in str(e.value)
    assert os.listdir(str(run)) == []


def test_a_symlinked_directory_of_someone_else_is_refused(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("needs a directory owned by another user: root makes one")
    theirs = tmp_path / "theirs"
    theirs.mkdir(mode=0o755)
    os.chown(str(theirs), 65534, 65534)
    (tmp_path / "carp").symlink_to(theirs)
    with pytest.raises(OSError):
        status.write(str(tmp_path / "carp" / "status.json"), DOC)
    assert os.listdir(str(theirs)) == []


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


def test_the_document_is_written_piece_by_piece_as_json_dumps_would():
    """status._dump streams the JSON (MicroPython needs no one big block for
    it) and writes exactly what json.dumps writes: the rpcd plugin passes the
    file on byte for byte."""
    import json
    from carp import status
    vhid = {"name": "lan", "drops": {}, "rx": 3, "addresses": ["a\"b", "ü"], "seen": None}
    for doc in ({"version": "1", "vhids": [vhid], "memory": None, "hooks": {"sent": 1}, "trackers": [],
                 "load": {"x": 1.5, "ok": True}},
                {"vhids": [dict(vhid, vhid=n) for n in range(64)], "trackers": []},
                {}, {"vhids": []}):
        parts = []

        class Sink:
            write = staticmethod(parts.append)

        status._dump(Sink(), doc)
        assert "".join(parts) == json.dumps(doc)
        # 64 vhids: written in blocks, none much over WRITE_BLOCK (the
        # largest piece is one vhid), and few of them: a write is a syscall
        piece = len(json.dumps(dict(vhid, vhid=63)))
        assert max(len(p) for p in parts) <= status.WRITE_BLOCK + 2 * piece
        assert len(parts) <= len(json.dumps(doc)) // status.WRITE_BLOCK + 1


