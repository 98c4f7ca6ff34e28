"""A persistent syft 0.9.5 datasite on 127.0.0.1, with fedsyft's executor and steward.

`serve(config)` runs in the foreground (the `fedsyft datasite serve` command);
`launch(config_path)` starts it in its own process and waits until it answers,
for the demo, the notebooks and the tests.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from datasite import api_guard, owner
from datasite.config import DatasiteConfig, load_config
from datasite.home import DatasiteHome
from datasite.stash import stash_value
from policies.policy import load_policy

log = logging.getLogger("fedsyft.datasite")
DROPPED_ROUTES = frozenset({
    "/forgot_password", "/reset_password", "/stream/{peer_uid}/{url_path}/",
})
DB_FILE = "datasite.db"  # syft's SQLite database, in the datasite's data directory


class LaunchError(RuntimeError):
    """A datasite process did not come up; the message carries its last log lines."""


def open_worker(config: DatasiteConfig, home: DatasiteHome) -> Any:
    """Build the syft Datasite for a config, keeping all its state in the data directory."""
    from syft.server.credentials import SyftSigningKey
    from syft.server.datasite import Datasite
    from syft.store.blob_storage.on_disk import (
        OnDiskBlobStorageClientConfig,
        OnDiskBlobStorageConfig,
    )
    from syft.store.db.sqlite import SQLiteDBConfig
    from syft.types.uid import UID

    server_id, signing_key = home.identity()
    return Datasite(
        name=config.name,
        id=UID.from_string(server_id),
        signing_key=SyftSigningKey.from_string(signing_key),
        db_config=SQLiteDBConfig(filename=DB_FILE, path=home.path),
        blob_storage_config=OnDiskBlobStorageConfig(
            client_config=OnDiskBlobStorageClientConfig(base_directory=home.path / "blob")
        ),
        root_email=config.admin_email,
        root_username=f"{config.name} admin",
        root_password=config.admin_password,
        deployment_type="remote",
        in_memory_workers=True,
    )


def prepare(config: DatasiteConfig) -> tuple[Any, DatasiteHome]:
    """Validate every input, then open the datasite and bring it to its configured state."""
    policy = load_policy(config.policy_path)  # raises PolicyError before anything is written
    for spec in config.datasets:
        splits = owner.prepare_dataset(spec)  # raises DataError before anything is written
        smallest = min(splits, key=lambda name: len(splits[name]))
        if len(splits[smallest]) < policy.output.min_rows:
            raise LaunchError(
                f"datasite {config.name}: dataset {spec.name} ({spec.path.name}) has {len(splits[smallest])} "
                f"rows in its {smallest} split, and the policy releases nothing computed over fewer than "
                f"{policy.output.min_rows} (output.min_rows in {config.policy_path.name}): add rows or "
                "lower min_rows"
            )
    home = DatasiteHome(config.data_dir)
    home.create()
    api_guard.install()
    worker = open_worker(config, home)
    _refuse_default_password(worker, config)
    client = worker.root_client
    owner.install_policy(home, config.policy_path)
    for spec in config.datasets:
        owner.upload_dataset(client, home, spec)
    for sci in config.scientists:
        owner.register_scientist(client, home, sci.email, sci.name, sci.password)
    return worker, home


def quiet_syft_logs() -> None:
    """An owner's log says what happened in a line, not in syft's noise.

    syft logs its signing key's hash at CRITICAL on every start (not a problem), and prints a
    whole traceback to stdout for every refused call of a scientist (a notebook reading
    `asset.data` of a private asset made 30 lines): that becomes one warning naming the error.
    """
    import syft.server.server as syft_server

    # syft sets the root logger to CRITICAL when a server starts: fedsyft's warnings (refused
    # API paths, blocked runs, a steward's failures) must still reach the owner's log
    logging.getLogger("fedsyft").setLevel(logging.WARNING)
    logger = logging.getLogger("syft.server.server")
    if not any(getattr(f, "fedsyft", False) for f in logger.filters):
        def drop_key_hash(record: logging.LogRecord) -> bool:
            return not str(record.msg).startswith("Hash of the signing key")

        drop_key_hash.fedsyft = True  # type: ignore[attr-defined]
        logger.addFilter(drop_key_hash)
    import syft.service.response as syft_response

    # those modules' own `print` (their only prints are these error reports)
    syft_server.print = syft_response.print = _owner_print


def _owner_print(*args: Any, **kwargs: Any) -> None:
    """syft's error prints, as one warning line; the traceback only at debug level."""
    text = " ".join(str(a) for a in args)
    if text.startswith("Error: "):
        lines = [line.strip() for line in text[len("Error: "):].splitlines() if line.strip()]
        # "Error: <message>", or "Error: <traceback>" (an owner's call): its last line is the error
        summary = (lines[-1] if lines and lines[0].startswith("Traceback") else lines[0]) if lines else ""
        log.warning("a call was refused: %r", summary[:300])  # %r: the text may be a scientist's
    elif not (text.startswith(("Exception (hidden from DS)", "Traceback (most recent call last)"))
              or text.strip() == "NoneType: None"):
        print(*args, **kwargs)
        return
    log.debug("%s", text)


def serve(config: DatasiteConfig, announce: Callable[[str], None] | None = None) -> None:
    """Run the datasite until SIGTERM or Ctrl-C; `announce` gets one line once it is about to serve.

    The port is taken first, so a port in use fails before anything is written.
    """
    import threading

    quiet_syft_logs()
    listener = _bind(config)
    if threading.current_thread() is threading.main_thread():
        # SIGTERM (a service manager's stop) ends it like Ctrl-C: steward stopped, "stopped" audited
        signal.signal(signal.SIGTERM, _interrupt)
    try:
        _serve_on(listener, config, announce)
    finally:
        listener.close()


def _bind(config: DatasiteConfig) -> socket.socket:
    """The datasite's listening socket, bound (not yet listening); LaunchError when the port is taken."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((config.host, config.port))
    except OSError as err:
        listener.close()
        raise LaunchError(
            f"datasite {config.name}: cannot listen on {config.host}:{config.port} ({err.strerror}); "
            "another process uses that port: stop it, or set another `port` in the config"
        ) from None
    return listener


def _serve_on(listener: socket.socket, config: DatasiteConfig, announce: Callable[[str], None] | None) -> None:
    import uvicorn
    from fastapi import APIRouter, FastAPI
    from syft.server.routes import make_routes

    from datasite.executor import Executor, install
    from datasite.steward import Steward

    worker, home = prepare(config)
    executor = Executor(home)
    missing = executor.warm()
    if missing:  # runs will fail closed; say so now rather than at the first round
        print(f"fedsyft datasite {config.name}: WARNING the sandbox cannot confine runs here "
              f"({', '.join(missing)}); every run will fail and release nothing", file=sys.stderr, flush=True)
    if not config.datasets:
        print(f"fedsyft datasite {config.name}: WARNING the config lists no [[datasets]]: this datasite "
              "serves no data until an owner uploads some", file=sys.stderr, flush=True)
    install(executor, str(worker.id))
    steward = Steward(worker.root_client, home, change_signal=request_count_signal(home.path / DB_FILE))
    steward.review_pending()
    steward.start()
    app = FastAPI(title=f"fedsyft datasite {config.name}")
    router = APIRouter()
    with warnings.catch_warnings():  # syft's routes use FastAPI's deprecated `example=`: not the owner's concern
        warnings.simplefilter("ignore", DeprecationWarning)
        syft_routes = make_routes(worker=worker)
    # password reset by email (no mail here; it calls the user service around the API guard)
    # and peer-to-peer blob streaming are not part of a fedsyft datasite
    syft_routes.routes = [r for r in syft_routes.routes if getattr(r, "path", "") not in DROPPED_ROUTES]
    router.include_router(syft_routes)
    app.include_router(router, prefix="/api/v2")
    home.audit.append("started", url=config.url, pid=os.getpid(), sandbox_missing=missing)
    try:
        if announce is not None:
            announce(f"datasite {config.name} serving at {config.url} (data in {config.data_dir}); "
                     "Ctrl-C stops it")
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
        server.run(sockets=[listener])
    finally:
        steward.stop()
        executor.close()
        home.audit.append("stopped", pid=os.getpid())


def request_count_signal(db_path: Path) -> Callable[[], object]:
    """A cheap question the steward asks often: how many code requests does the database hold?

    One read-only SQL count instead of listing requests through syft (milliseconds of
    signing and serialisation per request). When it cannot be answered, the answer is a new
    object each time, so the steward falls back to a full pass every interval.
    """
    uri = f"file:{db_path}?mode=ro"

    def count() -> object:
        try:
            with contextlib.closing(sqlite3.connect(uri, uri=True, timeout=1.0)) as db:
                return db.execute('SELECT count(*) FROM "Request"').fetchone()[0]
        except sqlite3.Error:
            return object()

    return count


def _admin_account(worker: Any, config: DatasiteConfig) -> Any:
    """The datasite's admin user record, or a LaunchError saying whose datasite this is."""
    stash = worker.services.user.stash
    try:
        admin = stash_value(stash.get_by_email(worker.verify_key, config.admin_email))
    except Exception:
        admin = None
    if admin is None or getattr(admin, "hashed_password", None) is None:
        raise LaunchError(
            f"datasite {config.name}: {config.data_dir} has no admin account {config.admin_email}; "
            "it was created with another admin_email: put that one in the config"
        )
    return admin


def _refuse_default_password(worker: Any, config: DatasiteConfig) -> None:
    """Stop if the admin account still accepts syft's default password, or not the configured one."""
    from syft.service.user.user import check_pwd

    from datasite.config import DEFAULT_SYFT_PASSWORD

    admin = _admin_account(worker, config)
    if check_pwd(DEFAULT_SYFT_PASSWORD, admin.hashed_password):
        raise LaunchError(f"datasite {config.name}: the admin account has syft's default password")
    if not check_pwd(config.admin_password, admin.hashed_password):
        # started anyway, nobody could administer it: every review, approval and audit would fail
        raise LaunchError(
            f"datasite {config.name}: the admin account in {config.data_dir} was created with another "
            "password than the config's admin_password_env/admin_password_file gives. Use that "
            f"password, or set the datasite's to the configured one with "
            f"`fedsyft datasite reset-admin-password {config.source}` (it needs the data directory)"
        )


def reset_admin_password(config: DatasiteConfig) -> None:
    """Set the admin account's password to the config's; run by whoever holds the data directory.

    Whoever can read the data directory holds the datasite's signing key and database, so this
    gives them nothing they did not have; it is audited.
    """
    from syft.service.user.user import salt_and_hash_password

    quiet_syft_logs()
    load_policy(config.policy_path)
    home = DatasiteHome(config.data_dir)
    if not (home.path / DB_FILE).exists():
        raise LaunchError(f"datasite {config.name}: {config.data_dir} holds no datasite yet; serve it first")
    worker = open_worker(config, home)
    admin = _admin_account(worker, config)
    admin.salt, admin.hashed_password = salt_and_hash_password(config.admin_password, 12)
    stash_value(worker.services.user.stash.update(worker.verify_key, admin))
    home.audit.append("admin_password_reset", email=config.admin_email)


# --- running a datasite in its own process -------------------------------------------


@dataclass
class DatasiteProcess:
    """A datasite server running in a child process."""

    name: str
    url: str
    port: int
    process: subprocess.Popen
    log_path: Path

    def stop(self, timeout_s: float = 15.0) -> None:
        """Stop the server (SIGTERM, then SIGKILL) and wait for it."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=timeout_s)

    def alive(self) -> bool:
        """Whether the process is running."""
        return self.process.poll() is None


def start(config_path: str | Path, *, env: dict[str, str] | None = None) -> DatasiteProcess:
    """Start `python -m datasite.server CONFIG` in a child process; does not wait for it."""
    full_env = {**os.environ, **(env or {})}
    config = load_config(config_path, env=full_env)  # clear errors before a process starts
    config.data_dir.parent.mkdir(parents=True, exist_ok=True)
    log_path = config.data_dir.parent / f"{config.name}.log"
    # the owner's log names refused calls and failed runs on private data: owner-only, as the data dir
    descriptor = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    os.fchmod(descriptor, 0o600)
    with os.fdopen(descriptor, "ab") as log_file:
        # the death signal is tied to the thread that forks: call start() from a long-lived thread
        process = subprocess.Popen(
            [sys.executable, "-m", "datasite.server", str(config_path)],
            env=full_env, stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            preexec_fn=_die_with_parent,
        )
    return DatasiteProcess(config.name, config.url, config.port, process, log_path)


def wait_ready(site: DatasiteProcess, timeout_s: float = 120.0) -> DatasiteProcess:
    """Wait until a started datasite answers; stop it and raise LaunchError if it does not."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if site.process.poll() is not None:
            raise LaunchError(
                f"datasite {site.name} exited ({site.process.returncode}):\n{_tail(site.log_path)}"
            )
        if _answers(site.url):
            return site
        time.sleep(0.25)
    site.stop()
    raise LaunchError(f"datasite {site.name} did not answer within {timeout_s:.0f} s:\n{_tail(site.log_path)}")


def launch(
    config_path: str | Path, *, env: dict[str, str] | None = None, timeout_s: float = 120.0
) -> DatasiteProcess:
    """Start a datasite in its own process and wait until it answers."""
    return wait_ready(start(config_path, env=env), timeout_s)


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/api/v2/metadata", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def _die_with_parent() -> None:
    """Linux: the datasite gets SIGTERM if the process that launched it dies."""
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _forget_secrets(config: DatasiteConfig) -> None:
    """Drop the environment variables that carried this datasite's passwords."""
    secrets = {config.admin_password, *(s.password for s in config.scientists)}
    for name in [k for k, v in os.environ.items() if v in secrets]:
        del os.environ[name]


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    """`python -m datasite.server CONFIG`: serve one datasite in the foreground."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m datasite.server CONFIG.toml", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    quiet_syft_logs()
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        config = load_config(args[0])
        _forget_secrets(config)
        serve(config, announce=lambda line: print(line, file=sys.stderr, flush=True))
    except KeyboardInterrupt:
        return 0
    except (ValueError, LaunchError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
