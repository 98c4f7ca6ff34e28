"""The CLI's small edges: help for every argument, JSON that is JSON, pipes, odd files, a site down."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from datasite.audit import AuditLog
from tests.conftest import REPO, site_config_text

FEDSYFT = [sys.executable, "-m", "fedsyft.cli"]


def fedsyft(*args: object, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([*FEDSYFT, *map(str, args)], capture_output=True, text=True, cwd=REPO,
                          env=dict(os.environ), timeout=timeout)


def audit_log(directory: Path, entries: int = 3, **fields: object):
    from datasite.audit import AuditLog

    log = AuditLog(directory / "audit.jsonl")
    for i in range(entries):
        log.append("denied", request_id=f"r{i}", by="human", **fields)
    return log


def all_parsers(parser: argparse.ArgumentParser, path: str = "fedsyft"):
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from all_parsers(sub, f"{path} {name}")


def test_every_argument_has_help_and_sites_lists_the_centres():
    from fedsyft.cli import _parser

    missing = [f"{path} {action.dest}" for path, parser in all_parsers(_parser()) for action in parser._actions
               if not isinstance(action, argparse._SubParsersAction | argparse._HelpAction) and not action.help]
    assert missing == []
    demo_help = dict(all_parsers(_parser()))["fedsyft demo"].format_help()
    for centre in ("cleveland", "hungarian", "switzerland", "va"):
        assert centre in demo_help


def test_audit_json_help_says_json_lines_without_verify():
    run = fedsyft("datasite", "audit", "--help")
    assert "JSON Lines" in " ".join(run.stdout.split())


def test_datasite_without_an_action_prints_the_datasite_help():
    run = fedsyft("datasite")
    assert run.returncode == 2
    assert run.stdout.startswith("usage: fedsyft datasite")
    for action in ("serve", "review", "approve", "deny", "audit", "reset-admin-password"):
        assert action in run.stdout
    assert "usage: fedsyft policy" in fedsyft("policy").stdout


def test_audit_verify_with_json_prints_one_json_document(tmp_path):
    audit_log(tmp_path, entries=3)
    run = fedsyft("datasite", "audit", tmp_path, "--verify", "--json")
    assert run.returncode == 0, run.stderr
    head = AuditLog(tmp_path / "audit.jsonl").head()["hash"]
    assert json.loads(run.stdout) == {"ok": True, "problems": [], "entries": 3, "head": head}
    plain = fedsyft("datasite", "audit", tmp_path, "--verify")
    assert plain.stdout.strip().endswith(f"3 entries, hash chain intact, head {head}")
    lines = (tmp_path / "audit.jsonl").read_text().splitlines()
    (tmp_path / "audit.jsonl").write_text("\n".join([lines[0], lines[2]]) + "\n")
    run = fedsyft("datasite", "audit", tmp_path, "--verify", "--json")
    document = json.loads(run.stdout)
    assert run.returncode == 1 and document["ok"] is False and document["entries"] == 2
    assert any("line 2" in problem for problem in document["problems"])


def test_audit_piped_into_head_exits_quietly(tmp_path):
    audit_log(tmp_path, entries=40, reason="x" * 5000)  # far more than a pipe buffer holds
    reader = subprocess.Popen([*FEDSYFT, "datasite", "audit", str(tmp_path)], cwd=REPO,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=dict(os.environ))
    reader.stdout.readline()
    reader.stdout.close()  # what `head -1` does once it has its line
    _, stderr = reader.communicate(timeout=60)
    assert b"Broken pipe" not in stderr and b"Traceback" not in stderr, stderr
    assert stderr == b""


def test_audit_shows_a_multi_line_reason_on_one_escaped_line(tmp_path):
    audit_log(tmp_path, entries=2, reason="too many epochs\nand \x1b[2Jno clip")
    run = fedsyft("datasite", "audit", tmp_path)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert len(lines) == 2
    assert 'reason="too many epochs\\nand \\u001b[2Jno clip"' in lines[0]
    assert "\x1b" not in run.stdout


def test_audit_value_is_plain_when_simple_and_quoted_otherwise():
    from fedsyft.cli import audit_value

    assert audit_value("human") == "human"
    assert audit_value(3) == "3"
    assert audit_value("approved by a human") == '"approved by a human"'
    assert audit_value("a\u202eb") == '"a\\u202eb"'
    assert audit_value(None) == "null" and audit_value([]) == "[]"


def test_policy_check_names_a_file_that_is_not_utf8(tmp_path):
    module = tmp_path / "latin1.py"
    module.write_bytes(b"# caf\xe9\ndef train(data, weights, config):\n    return {}\n")
    run = fedsyft("policy", "check", module)
    assert run.returncode == 2
    assert str(module) in run.stderr and "not UTF-8" in run.stderr
    assert "codec" not in run.stderr and "Traceback" not in run.stderr


def test_review_with_the_datasite_down_says_how_to_start_it(tmp_path):
    from fedsyft.demo import free_port

    config = tmp_path / "cleveland.toml"
    config.write_text(site_config_text("cleveland", free_port(), tmp_path / "data", REPO / "policies" /
                                       "examples" / "default.toml", []))
    run = fedsyft("datasite", "review", config)
    assert run.returncode == 1
    assert run.stderr.startswith("error: cannot reach datasite cleveland at http://127.0.0.1:")
    assert "is it running?" in run.stderr and f"fedsyft datasite serve {config}" in run.stderr
    assert "Retrying" not in run.stderr and "HTTPConnectionPool" not in run.stderr
    assert len(run.stderr.splitlines()) == 1


def test_the_cli_centres_are_the_data_modules():
    """The CLI keeps its own copy of the centre names (no pandas import to parse arguments)."""
    from datasite.data import CENTRES
    from fedsyft import cli

    assert tuple(cli.CENTRES) == tuple(CENTRES)
