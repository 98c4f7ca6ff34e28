"""A datasite's data directory: everything it keeps across restarts.

Layout::

    identity.json        server id and signing key (mode 0600)
    datasite.db          syft's SQLite store: datasets, users, requests, approvals
    blob/                syft's blob store (the private and mock data)
    policy.toml          the installed approval policy
    audit.jsonl          the append-only, hash-chained audit log
    reviews/<id>.json    the review report of each code request
    executions/<id>.json stdout, stderr and errors of each run (the owner's eyes only)
"""

from __future__ import annotations

import json
import os
import secrets
import tempfile
import threading
from pathlib import Path

from datasite.audit import AuditLog
from policies.policy import Policy, load_policy, parse_policy
from policies.review import ReviewReport


class DatasiteHome:
    """The data directory of one datasite."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.audit = AuditLog(self.path / "audit.jsonl")
        self._policy: tuple[float, int, Policy] | None = None
        self._lock = threading.Lock()

    @property
    def policy_path(self) -> Path:
        """Where the installed policy lives."""
        return self.path / "policy.toml"

    def create(self) -> None:
        """Make the directory tree (owner-only permissions)."""
        for sub in (self.path, self.path / "reviews", self.path / "executions", self.path / "blob"):
            sub.mkdir(parents=True, exist_ok=True)
        os.chmod(self.path, 0o700)

    @property
    def identity_path(self) -> Path:
        """The file holding the datasite's server id and signing key (owner-only)."""
        return self.path / "identity.json"

    def stored_identity(self) -> tuple[str, str] | None:
        """The (server id, signing key) kept in the data directory, or None if none was made yet."""
        if not self.identity_path.exists():
            return None
        data = json.loads(self.identity_path.read_text())
        return data["server_id"], data["signing_key"]

    def identity(self) -> tuple[str, str]:
        """The (server id, signing key) of this datasite, made once and kept."""
        from syft.server.credentials import SyftSigningKey
        from syft.types.uid import UID

        stored = self.stored_identity()
        if stored is not None:
            return stored
        data = {"server_id": str(UID()), "signing_key": str(SyftSigningKey.generate())}
        _write_atomic(self.identity_path, json.dumps(data), mode=0o600)
        return data["server_id"], data["signing_key"]

    def install_policy(self, source: Path) -> Policy:
        """Validate a policy file and install it (atomic: a bad file changes nothing)."""
        text = Path(source).read_text()
        policy = parse_policy(text, source=Path(source).name)
        _write_atomic(self.policy_path, text)
        self.audit.append(
            "policy_installed", name=policy.name, sha256=policy.sha256, source=str(source)
        )
        return policy

    def policy(self) -> Policy:
        """The installed policy, re-read when the file changes."""
        stat = self.policy_path.stat()
        with self._lock:
            if self._policy is None or self._policy[:2] != (stat.st_mtime, stat.st_size):
                self._policy = (stat.st_mtime, stat.st_size, load_policy(self.policy_path))
            return self._policy[2]

    def write_review(self, request_id: str, report: ReviewReport, **extra: object) -> None:
        """Keep the review report of one request."""
        body = {"request_id": request_id, **report.to_dict(), **extra}
        _write_atomic(self.path / "reviews" / f"{request_id}.json", json.dumps(body, indent=2))

    def read_review(self, request_id: str) -> dict | None:
        """The stored review of one request, or None."""
        path = self.path / "reviews" / f"{request_id}.json"
        return json.loads(path.read_text()) if path.exists() else None

    def record_execution(self, **record: object) -> str:
        """Keep the owner-only record (logs, errors) of one run; return its id."""
        run_id = secrets.token_hex(8)
        _write_atomic(
            self.path / "executions" / f"{run_id}.json", json.dumps({"run_id": run_id, **record})
        )
        return run_id

    def read_execution(self, run_id: str) -> dict:
        """The owner-only record of one run."""
        return json.loads((self.path / "executions" / f"{run_id}.json").read_text())


def _write_atomic(path: Path, text: str, mode: int = 0o600) -> None:
    """Write a file so that readers see the old or the new content, never half of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
