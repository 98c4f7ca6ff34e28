"""Launching a datasite: it refuses, before writing anything, what would leave it unusable."""

from __future__ import annotations

import os
import socket

import pytest

from datasite.config import load_config
from datasite.home import DatasiteHome
from datasite.server import LaunchError, launch, prepare, reset_admin_password
from tests.conftest import HEART, policy_text, site_config_text


def write_config(tmp_path, *, port: int = 18700, password_env: str = "FEDSYFT_TEST_ADMIN_PASSWORD"):
    (tmp_path / "policy.toml").write_text(policy_text())
    path = tmp_path / "site.toml"
    path.write_text(site_config_text(
        "cleveland", port, tmp_path / "data", tmp_path / "policy.toml",
        [("heart", "uci-heart", HEART / "processed.cleveland.data")],
    ).replace('"FEDSYFT_TEST_ADMIN_PASSWORD"', f'"{password_env}"'))
    return path


def test_a_datasite_created_with_another_admin_password_refuses_to_start_and_says_how_to_fix(
    tmp_path, monkeypatch
):
    """A fresh user's notebook generated an admin password that died with its kernel; restarting
    with another one started a datasite nobody could administer."""
    from datasite.executor import uninstall

    path = write_config(tmp_path, password_env="FEDSYFT_TEST_OWNER_PASSWORD")
    monkeypatch.setenv("FEDSYFT_TEST_OWNER_PASSWORD", "first-password-of-the-owner")
    worker, _ = prepare(load_config(path))
    uninstall(str(worker.id))
    monkeypatch.setenv("FEDSYFT_TEST_OWNER_PASSWORD", "another-password-entirely")
    config = load_config(path)
    with pytest.raises(LaunchError, match="created with another password") as refused:
        prepare(config)
    assert f"fedsyft datasite reset-admin-password {path.resolve()}" in str(refused.value)
    assert "another-password-entirely" not in str(refused.value)

    reset_admin_password(config)
    worker, home = prepare(config)  # now it opens
    assert worker.get_guest_client(verbose=False).login(
        email=config.admin_email, password="another-password-entirely") is not None
    assert [e.event for e in home.audit.entries()].count("admin_password_reset") == 1


def test_a_port_in_use_fails_before_anything_is_written(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        path = write_config(tmp_path, port=taken.getsockname()[1])
        with pytest.raises(LaunchError, match="cannot listen on 127.0.0.1:.*another process uses that port"):
            launch(path, timeout_s=120)
    assert not (tmp_path / "data").exists(), "nothing written for a datasite that cannot serve"


def test_sigterm_stops_a_datasite_with_a_stopped_audit_entry(tmp_path):
    """A service manager stops with SIGTERM: the audit log must not read like a crash."""
    from fedsyft.demo import free_port

    path = write_config(tmp_path, port=free_port())
    site = launch(path, timeout_s=300)
    site.stop()  # SIGTERM
    assert site.process.returncode == 0
    events = [e.event for e in DatasiteHome(tmp_path / "data").audit.entries()]
    assert events[-2:] == ["started", "stopped"], events
    log = site.log_path.read_text()
    assert "serving at" in log and "Hash of the signing key" not in log and "DeprecationWarning" not in log
    assert os.environ.get("FEDSYFT_TEST_ADMIN_PASSWORD") not in log


def test_cli_serve_of_a_config_without_datasets_warns_and_logs_no_key_hash(tmp_path):
    """A fresh user's `fedsyft datasite serve` printed syft's CRITICAL key-hash line, and a config
    with no [[datasets]] served nothing without a word."""
    import signal
    import subprocess
    import sys
    import time

    from fedsyft.demo import free_port
    from tests.conftest import REPO

    path = write_config(tmp_path, port=free_port())
    path.write_text(path.read_text().split("[[datasets]]")[0])
    assert "datasets" not in path.read_text()
    server = subprocess.Popen([sys.executable, "-m", "fedsyft.cli", "datasite", "serve", path], cwd=REPO,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 300
        line = ""
        while "serving at" not in line and time.monotonic() < deadline and server.poll() is None:
            line = server.stdout.readline()
    finally:
        server.send_signal(signal.SIGTERM)
        _, err = server.communicate(timeout=60)
    assert "serving at" in line, err
    assert "WARNING the config lists no [[datasets]]" in err
    assert "Hash of the signing key" not in err and "CRITICAL" not in err


def test_cli_reset_admin_password_needs_no_scientist_password(tmp_path, monkeypatch):
    """It registers no one: a fresh user was asked for SCIENTIST_PASSWORD to reset the admin's."""
    import subprocess
    import sys

    from datasite.executor import uninstall
    from tests.conftest import REPO

    path = write_config(tmp_path)
    worker, _ = prepare(load_config(path))
    uninstall(str(worker.id))
    env = {k: v for k, v in os.environ.items() if k != "FEDSYFT_TEST_SCIENTIST_PASSWORD"}
    run = subprocess.run([sys.executable, "-m", "fedsyft.cli", "datasite", "reset-admin-password", path],
                         cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert "now has the password the config names" in run.stdout
    assert "Hash of the signing key" not in run.stdout + run.stderr
    assert [e.event for e in DatasiteHome(tmp_path / "data").audit.entries()].count("admin_password_reset") == 1


def test_syft_error_prints_become_one_owner_log_line(caplog, capsys):
    """syft prints "Error: <message>" or "Error: <traceback>" for refused calls: one warning naming
    the error (as repr: the text may carry a scientist's escape codes), the traceback at debug."""
    import logging

    from datasite.server import _owner_print

    with caplog.at_level(logging.DEBUG, logger="fedsyft"):
        _owner_print("Error: Traceback (most recent call last):\n  File \"x.py\", line 1\nValueError: boom")
        _owner_print("Error: ActionObject: not found \x1b[2J")
        _owner_print("Traceback (most recent call last):\n  File \"x.py\"")
        _owner_print("Logged into a datasite")
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == ["a call was refused: 'ValueError: boom'",
                        "a call was refused: 'ActionObject: not found \\x1b[2J'"]
    assert capsys.readouterr().out == "Logged into a datasite\n"
