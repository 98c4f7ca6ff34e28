"""The audit log: append-only, hash-chained, tamper-evident, safe under concurrent writers."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from datasite.audit import GENESIS_HASH, AuditEntry, AuditError, AuditLog

REPO = Path(__file__).resolve().parents[1]


def _filled(path: Path, count: int = 10) -> AuditLog:
    log = AuditLog(path)
    for i in range(count):
        log.append("submitted", request_id=f"r{i}", scientist="ada@example.org")
    return log


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines(keepends=True)


def test_appended_entries_chain_and_verify(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.jsonl")
    first = log.append("started", port=8081)
    second = log.append("approved", request_id="r1", by="owner@example.org", auto=True)
    assert (first.seq, second.seq) == (1, 2)
    assert first.prev_hash == GENESIS_HASH
    assert second.prev_hash == first.hash
    assert second.fields == {"request_id": "r1", "by": "owner@example.org", "auto": True}
    assert first.ts.endswith("+00:00")
    assert log.entries() == [first, second]
    assert log.verify() == []


def test_hash_is_sha256_of_canonical_content(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.jsonl")
    entry = log.append("released", request_id="r9", norm=1.5, shape=[13, 1])
    content = {
        "seq": entry.seq,
        "ts": entry.ts,
        "event": entry.event,
        "fields": entry.fields,
        "prev_hash": entry.prev_hash,
    }
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"))
    assert entry.hash == hashlib.sha256(canonical.encode()).hexdigest()
    assert json.loads((tmp_path / "audit.jsonl").read_text())["hash"] == entry.hash


def test_each_entry_is_one_json_line(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    _filled(path, 3)
    lines = _lines(path)
    assert len(lines) == 3
    assert all(line.endswith("\n") and line.count("\n") == 1 for line in lines)
    assert [json.loads(line)["seq"] for line in lines] == [1, 2, 3]


def test_edited_line_is_named(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    log = _filled(path)
    lines = _lines(path)
    lines[6] = lines[6].replace("ada@example.org", "eve@example.org")
    path.write_text("".join(lines))
    assert log.verify() == ["line 7: hash does not match its content (edited?)"]


def test_edited_line_with_a_recomputed_hash_breaks_the_next_link(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    log = _filled(path)
    lines = _lines(path)
    record = json.loads(lines[3])
    record["fields"]["scientist"] = "eve@example.org"
    content = {k: record[k] for k in ("seq", "ts", "event", "fields", "prev_hash")}
    record["hash"] = hashlib.sha256(
        json.dumps(content, sort_keys=True, separators=(",", ":")).encode()
    ).hexdigest()
    lines[3] = json.dumps(record) + "\n"
    path.write_text("".join(lines))
    assert log.verify() == ["line 5: prev_hash does not match line 4 (line deleted or reordered?)"]


def test_deleted_line_is_named(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    log = _filled(path)
    lines = _lines(path)
    del lines[7]
    path.write_text("".join(lines))
    problems = log.verify()
    assert "line 8: prev_hash does not match line 7 (line deleted or reordered?)" in problems
    assert any(p.startswith("line 8: seq 9 follows seq 7") for p in problems)
    assert len(problems) == 2


def test_deleted_first_line_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    log = _filled(path, 3)
    path.write_text("".join(_lines(path)[1:]))
    problems = log.verify()
    assert any("line 1: prev_hash of the first entry" in p for p in problems)
    assert any("line 1: first entry has seq 2" in p for p in problems)


def test_reordered_lines_are_reported(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    log = _filled(path, 5)
    lines = _lines(path)
    lines[2], lines[3] = lines[3], lines[2]
    path.write_text("".join(lines))
    problems = log.verify()
    assert "line 3: prev_hash does not match line 2 (line deleted or reordered?)" in problems
    assert "line 4: prev_hash does not match line 3 (line deleted or reordered?)" in problems


def test_garbage_line_is_not_valid_json(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    log = _filled(path, 4)
    lines = _lines(path)
    lines[2] = "{this is not json\n"
    path.write_text("".join(lines))
    problems = log.verify()
    assert problems[0] == "line 3: not valid JSON"
    assert "line 4: prev_hash does not match line 2 (line deleted or reordered?)" in problems


def test_truncated_last_line_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    log = _filled(path, 5)
    content = path.read_bytes()
    path.write_bytes(content[: len(content) - 40])  # a crash in the middle of writing line 5
    log._write_head(4, log.entries()[-1].hash)  # such a crash comes before line 5's head write
    assert log.verify() == ["line 5: not valid JSON (last line cut short: a crash mid-write?)"]
    assert [e.seq for e in log.entries()] == [1, 2, 3, 4]


@pytest.mark.parametrize("keep", [0, 1, 3])
def test_lines_cut_off_the_end_are_reported(tmp_path: Path, keep: int) -> None:
    """A fresh user kept the first lines of a log (or emptied it): the chain alone looked intact."""
    path = tmp_path / "audit.jsonl"
    log = _filled(path, 5)
    path.write_text("".join(_lines(path)[:keep]))
    problems = log.verify()
    assert problems == [f"the head records entry 5, but the log ends at entry {keep}: "
                        f"{5 - keep} line(s) cut off the end?"]


def test_a_missing_or_rewritten_head_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    log = _filled(path, 3)
    log.head_path.write_text('{"hash":"' + "f" * 64 + '","seq":3}\n')
    assert log.verify() == ["entry 3 does not have the hash the head recorded (log rewritten?)"]
    log.head_path.write_text("not json")
    assert log.verify() == ["audit.jsonl.head is not a valid head record (edited?)"]
    log.head_path.unlink()
    assert log.verify() == ["audit.jsonl.head is missing: cannot tell whether lines were cut off the end"]


def test_the_head_follows_every_append_and_may_lag_one_crash_behind(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    log = _filled(path, 3)
    assert log.head() == {"seq": 3, "hash": log.entries()[-1].hash}
    entry_2 = log.entries()[1]
    log._write_head(2, entry_2.hash)  # a crash after line 3's fsync, before its head write
    assert log.verify() == []
    log.append("started")
    assert log.head()["seq"] == 4 and log.verify() == []


def test_append_after_a_crash_keeps_the_cut_line_and_chains_on(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    log = _filled(path, 5)
    cut = path.read_bytes()[:-40]
    path.write_bytes(cut)
    entry = log.append("started", reason="restart after crash")
    assert path.read_bytes().startswith(cut)  # nothing before was rewritten
    assert entry.seq == 5
    assert entry.prev_hash == log.entries()[3].hash
    assert log.verify() == ["line 5: not valid JSON"]
    assert [e.seq for e in log.entries()] == [1, 2, 3, 4, 5]


def test_unknown_event_is_refused_and_nothing_is_written(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    log = _filled(path, 2)
    before = path.read_bytes()
    with pytest.raises(AuditError, match="unknown audit event 'hacked'"):
        log.append("hacked", who="eve")
    assert path.read_bytes() == before


@pytest.mark.parametrize(
    "fields",
    [{"blob": object()}, {"ids": {1, 2}}, {"loss": float("nan")}, {"raw": b"bytes"}],
    ids=["object", "set", "nan", "bytes"],
)
def test_unserialisable_fields_are_refused_and_nothing_is_written(
    tmp_path: Path, fields: dict
) -> None:
    path = tmp_path / "audit.jsonl"
    log = _filled(path, 2)
    before = path.read_bytes()
    with pytest.raises(AuditError, match="fields must be JSON values"):
        log.append("executed", **fields)
    assert path.read_bytes() == before


def test_refused_first_append_creates_no_file(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    with pytest.raises(AuditError):
        AuditLog(path).append("executed", blob=object())
    assert not path.exists()


def test_missing_log_is_empty_and_intact(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "none.jsonl")
    assert log.entries() == []
    assert log.verify() == []


def test_find_filters_by_event_and_fields(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.jsonl")
    log.append("submitted", request_id="r1")
    log.append("approved", request_id="r1", by="steward")
    log.append("submitted", request_id="r2")
    log.append("denied", request_id="r2", reason="imports os")
    assert [e.fields["request_id"] for e in log.find("submitted")] == ["r1", "r2"]
    assert [e.event for e in log.find(request_id="r2")] == ["submitted", "denied"]
    assert log.find("approved", by="human") == []
    assert all(isinstance(e, AuditEntry) for e in log.find())


def test_concurrent_appends_from_threads_keep_the_chain(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.jsonl")

    def writer(name: str) -> None:
        for i in range(50):
            log.append("executed", writer=name, i=i)

    threads = [threading.Thread(target=writer, args=(f"t{k}",)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [e.seq for e in log.entries()] == list(range(1, 201))
    assert log.verify() == []


_WRITER = """
import sys
from pathlib import Path
from datasite.audit import AuditLog
log = AuditLog(Path(sys.argv[1]))
sys.stdin.readline()  # start together
for i in range(50):
    log.append("executed", writer=sys.argv[2], i=i)
"""


def test_concurrent_appends_from_four_processes_keep_the_chain(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", _WRITER, str(path), f"p{k}"],
            cwd=REPO,
            stdin=subprocess.PIPE,
            text=True,
        )
        for k in range(4)
    ]
    for writer in writers:
        writer.stdin.write("go\n")
        writer.stdin.flush()
    for writer in writers:
        writer.stdin.close()
        assert writer.wait(timeout=120) == 0
    log = AuditLog(path)
    entries = log.entries()
    assert len(entries) == 200
    assert [e.seq for e in entries] == list(range(1, 201))
    assert log.verify() == []
    per_writer = {
        name: [e.fields["i"] for e in entries if e.fields["writer"] == name]
        for name in ("p0", "p1", "p2", "p3")
    }
    assert all(values == list(range(50)) for values in per_writer.values())
