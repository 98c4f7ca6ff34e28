"""Append-only, hash-chained audit log of a datasite's decisions (one JSON object per line).

Each line holds {seq, ts, event, fields, prev_hash, hash}; `hash` is the SHA-256 of the
canonical JSON of the other five, and `prev_hash` is the previous line's `hash`, so an
edited, deleted or reordered line breaks the chain and `verify()` names it. The file is
only ever appended to: never rewritten, never truncated.

A chain cannot show that lines were cut off its end, so every append also records the
newest entry's seq and hash in a small head file beside the log (`audit.jsonl.head`,
replaced atomically). `verify()` checks that the entry the head names is still there.
Someone able to rewrite both files can still forge a shorter history; `head()` is what an
owner copies elsewhere (a ticket, a second machine) to detect even that.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

GENESIS_HASH = "0" * 64
_ENTRY_KEYS = ("seq", "ts", "event", "fields", "prev_hash", "hash")
_TAIL_CHUNK = 64 * 1024  # bytes read per step when looking for the last entry


class AuditError(ValueError):
    """An audit entry cannot be written: unknown event or fields that are not JSON."""


@dataclass(frozen=True)
class AuditEntry:
    """One line of the audit log; `ts` is UTC ISO 8601, `hash`/`prev_hash` hex SHA-256."""

    seq: int
    ts: str
    event: str
    fields: dict[str, Any]
    prev_hash: str
    hash: str


def _canonical(value: Any) -> str:
    """Return the canonical JSON text of `value` (sorted keys, no spaces, ASCII)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)


def _entry_hash(seq: int, ts: str, event: str, fields: dict[str, Any], prev_hash: str) -> str:
    """Return the hex SHA-256 of an entry's content."""
    content = {"seq": seq, "ts": ts, "event": event, "fields": fields, "prev_hash": prev_hash}
    return hashlib.sha256(_canonical(content).encode("ascii")).hexdigest()


def _parse_entry(line: bytes) -> AuditEntry | None:
    """Return the entry on `line`, or None when it is not a well-formed entry."""
    try:
        record = json.loads(line.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    if not isinstance(record, dict) or set(record) != set(_ENTRY_KEYS):
        return None
    seq, ts, event = record["seq"], record["ts"], record["event"]
    fields, prev_hash, digest = record["fields"], record["prev_hash"], record["hash"]
    if not (
        isinstance(seq, int)
        and not isinstance(seq, bool)
        and isinstance(ts, str)
        and isinstance(event, str)
        and isinstance(fields, dict)
        and isinstance(prev_hash, str)
        and isinstance(digest, str)
    ):
        return None
    return AuditEntry(seq, ts, event, fields, prev_hash, digest)


def _last_entry(fd: int) -> tuple[AuditEntry | None, bool]:
    """Return the last well-formed entry of the open file and whether it ends with a newline."""
    size = os.fstat(fd).st_size
    if size == 0:
        return None, True
    ends_with_newline = os.pread(fd, 1, size - 1) == b"\n"
    tail = b""
    start = size
    while start > 0:
        step = min(_TAIL_CHUNK, start)
        start -= step
        tail = os.pread(fd, step, start) + tail
        lines = tail.split(b"\n")
        complete = lines if start == 0 else lines[1:]  # the first piece may be cut
        for line in reversed(complete):
            entry = _parse_entry(line) if line.strip() else None
            if entry is not None:
                return entry, ends_with_newline
    return None, ends_with_newline


class AuditLog:
    """A datasite's audit log at `path`: append decisions, read them back, verify the chain."""

    EVENTS = (
        "submitted",
        "reviewed",
        "approved",
        "denied",
        "run_started",
        "executed",
        "released",
        "blocked",
        "failed",
        "started",
        "stopped",
        "dataset_uploaded",
        "user_registered",
        "admin_password_reset",
        "policy_installed",
    )

    def __init__(self, path: Path) -> None:
        """Use the log at `path`; the file is created on the first append."""
        self.path = Path(path)

    def append(self, event: str, **fields: Any) -> AuditEntry:
        """Append one entry and return it; safe across threads and processes."""
        if event not in self.EVENTS:
            raise AuditError(f"unknown audit event {event!r}; use one of {', '.join(self.EVENTS)}")
        try:
            # round-trip so the stored, hashed and returned fields are the same JSON values
            fields = json.loads(_canonical(fields))
        except (TypeError, ValueError) as exc:
            raise AuditError(
                f"audit event {event!r}: fields must be JSON values (str, number, bool, "
                f"None, list, dict with str keys, no NaN): {exc}"
            ) from None
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            last, ends_with_newline = _last_entry(fd)
            seq = last.seq + 1 if last is not None else 1
            prev_hash = last.hash if last is not None else GENESIS_HASH
            ts = datetime.now(UTC).isoformat(timespec="microseconds")
            digest = _entry_hash(seq, ts, event, fields, prev_hash)
            entry = AuditEntry(seq, ts, event, fields, prev_hash, digest)
            record = {
                "seq": seq,
                "ts": ts,
                "event": event,
                "fields": fields,
                "prev_hash": prev_hash,
                "hash": digest,
            }
            line = _canonical(record).encode("ascii") + b"\n"
            if not ends_with_newline:
                line = b"\n" + line  # close a line cut short by a crash; verify() reports it
            written = os.write(fd, line)
            while written < len(line):  # a short write on a full disk; still under the lock
                written += os.write(fd, line[written:])
            os.fsync(fd)
            self._write_head(seq, digest)  # still under the lock: heads never go backwards
            return entry
        finally:
            os.close(fd)  # closing releases the lock

    @property
    def head_path(self) -> Path:
        """The file that records the newest entry's seq and hash."""
        return self.path.with_name(self.path.name + ".head")

    def head(self) -> dict[str, Any] | None:
        """The newest entry's {"seq", "hash"} as recorded at its append, or None if never written."""
        try:
            record = json.loads(self.head_path.read_text(encoding="ascii"))
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError, ValueError):
            return {"seq": None, "hash": None}
        if not (isinstance(record, dict) and isinstance(record.get("seq"), int)
                and isinstance(record.get("hash"), str)):
            return {"seq": None, "hash": None}
        return {"seq": record["seq"], "hash": record["hash"]}

    def _write_head(self, seq: int, digest: str) -> None:
        temporary = self.head_path.with_name(self.head_path.name + ".tmp")
        with open(temporary, "w", encoding="ascii") as out:
            out.write(_canonical({"seq": seq, "hash": digest}) + "\n")
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, self.head_path)

    def _read_lines(self) -> tuple[list[bytes], bool]:
        """Return the log's lines (without newlines) and whether its last byte is a newline."""
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:
            return [], True
        try:
            fcntl.flock(fd, fcntl.LOCK_SH)
            chunks = []
            while chunk := os.read(fd, 1 << 20):
                chunks.append(chunk)
        finally:
            os.close(fd)
        content = b"".join(chunks)
        if not content:
            return [], True
        lines = content.split(b"\n")
        ends_with_newline = lines[-1] == b""
        if ends_with_newline:
            lines.pop()  # the newline that ends the last line
        return lines, ends_with_newline

    def entries(self) -> list[AuditEntry]:
        """Return every well-formed entry in file order; `verify()` reports the rest."""
        lines, _ = self._read_lines()
        found = (_parse_entry(line) for line in lines)
        return [entry for entry in found if entry is not None]

    def verify(self) -> list[str]:
        """Return one message per integrity problem, [] when the chain is intact."""
        problems: list[str] = []
        raw, ends_with_newline = self._read_lines()
        previous: AuditEntry | None = None
        previous_line = 0
        for line_no, line in enumerate(raw, start=1):
            entry = _parse_entry(line)
            if entry is None:
                if not line.strip():
                    problems.append(f"line {line_no}: empty line")
                elif not ends_with_newline and line_no == len(raw):
                    problems.append(
                        f"line {line_no}: not valid JSON (last line cut short: a crash mid-write?)"
                    )
                else:
                    problems.append(f"line {line_no}: not valid JSON")
                continue
            if entry.event not in self.EVENTS:
                problems.append(f"line {line_no}: unknown event {entry.event!r}")
            expected = _entry_hash(entry.seq, entry.ts, entry.event, entry.fields, entry.prev_hash)
            if entry.hash != expected:
                problems.append(f"line {line_no}: hash does not match its content (edited?)")
            if previous is None:
                if entry.prev_hash != GENESIS_HASH:
                    problems.append(
                        f"line {line_no}: prev_hash of the first entry is not the genesis value "
                        "(lines removed from the start?)"
                    )
                if entry.seq != 1:
                    problems.append(
                        f"line {line_no}: first entry has seq {entry.seq}, expected 1 "
                        "(lines removed from the start?)"
                    )
            else:
                if entry.prev_hash != previous.hash:
                    problems.append(
                        f"line {line_no}: prev_hash does not match line {previous_line} "
                        "(line deleted or reordered?)"
                    )
                if entry.seq != previous.seq + 1:
                    problems.append(
                        f"line {line_no}: seq {entry.seq} follows seq {previous.seq} on line "
                        f"{previous_line}, expected {previous.seq + 1}"
                    )
            previous, previous_line = entry, line_no
        problems += self._verify_head(raw)
        return problems

    def _verify_head(self, raw: list[bytes]) -> list[str]:
        """Lines cut off the end: the entry the head file names must still be in the log."""
        head = self.head()
        if head is None:
            return [] if not raw else [
                f"{self.head_path.name} is missing: cannot tell whether lines were cut off the end"
            ]
        if head["seq"] is None:
            return [f"{self.head_path.name} is not a valid head record (edited?)"]
        by_seq = {e.seq: e for e in (_parse_entry(line) for line in raw) if e is not None}
        named = by_seq.get(head["seq"])
        if named is None:
            newest = max(by_seq, default=0)
            return [f"the head records entry {head['seq']}, but the log ends at entry {newest}: "
                    f"{head['seq'] - newest} line(s) cut off the end?" if head["seq"] > newest else
                    f"the head records entry {head['seq']}, which is not in the log"]
        if named.hash != head["hash"]:
            return [f"entry {head['seq']} does not have the hash the head recorded (log rewritten?)"]
        return []  # entries after the head's: an append whose head write a crash cut short

    def find(self, event: str | None = None, **match: Any) -> list[AuditEntry]:
        """Return entries with this event (any if None) whose fields equal every `match` item."""
        return [
            entry
            for entry in self.entries()
            if (event is None or entry.event == event)
            and all(
                key in entry.fields and entry.fields[key] == value for key, value in match.items()
            )
        ]
