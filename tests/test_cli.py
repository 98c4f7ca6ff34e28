"""The `fedsyft` command line, run as a user runs it: real processes, real datasites."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import HEART_MODULE, REPO, SCIENTIST, policy_text

FEDSYFT = [sys.executable, "-m", "fedsyft.cli"]
LEGIT = sorted((REPO / "tests" / "submissions" / "legit").glob("*.py"))


def fedsyft(*args: str, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([*FEDSYFT, *map(str, args)], capture_output=True, text=True, cwd=REPO,
                          env={**os.environ, **(env or {})}, timeout=timeout)


def test_policy_check_approves_legit_modules_with_exit_0():
    run = fedsyft("policy", "check", HEART_MODULE, *LEGIT)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.count(": PASSED") == len(LEGIT) + 1


def test_policy_check_rejects_with_line_numbers_and_exit_1(tmp_path):
    attack = tmp_path / "attack.py"
    attack.write_text(HEART_MODULE.read_text().replace("import torch\n", "import torch\nimport socket\n"))
    line = attack.read_text().splitlines().index("import socket") + 1
    run = fedsyft("policy", "check", HEART_MODULE, attack)
    assert run.returncode == 1
    assert f"line {line}:0 [import] `import socket`" in run.stdout
    as_json = fedsyft("policy", "check", "--json", attack)
    reports = json.loads(as_json.stdout)
    assert as_json.returncode == 1 and reports[0]["verdict"] == "rejected"
    assert reports[0]["findings"][0]["line"] == line


def test_policy_check_bad_usage_exits_2_without_traceback(tmp_path):
    bad_policy = tmp_path / "bad.toml"
    bad_policy.write_text("[training]\nmax_rounds = -1\n")
    for run in (fedsyft("policy", "check", "--policy", bad_policy, HEART_MODULE),
                fedsyft("policy", "check", tmp_path / "missing.py")):
        assert run.returncode == 2
        assert "Traceback" not in run.stderr and run.stderr.startswith("error:")
    assert "bad.toml line 2" in fedsyft("policy", "check", "--policy", bad_policy, HEART_MODULE).stderr


def test_demo_rejects_unknown_sites_clearly():
    run = fedsyft("demo", "--sites", "cleveland,atlantis")
    assert run.returncode == 1
    assert "atlantis" in run.stderr and "Traceback" not in run.stderr
    assert run.stdout == "", "nothing on stdout for a demo that never started"


def test_audit_verify_detects_an_edited_or_deleted_line(tmp_path):
    from datasite.audit import AuditLog

    log = AuditLog(tmp_path / "audit.jsonl")
    for i in range(4):
        log.append("approved", request_id=f"r{i}", by="human")
    assert fedsyft("datasite", "audit", tmp_path, "--verify").returncode == 0
    shown = fedsyft("datasite", "audit", tmp_path)
    assert shown.returncode == 0 and shown.stdout.count("approved") == 4
    lines = (tmp_path / "audit.jsonl").read_text().splitlines()
    edited_lines = [lines[0], lines[1].replace("human", "steward"), *lines[2:]]
    (tmp_path / "audit.jsonl").write_text("\n".join(edited_lines) + "\n")
    edited = fedsyft("datasite", "audit", tmp_path, "--verify")
    assert edited.returncode == 1 and "line 2" in edited.stdout
    (tmp_path / "audit.jsonl").write_text("\n".join([lines[0], *lines[2:]]) + "\n")
    deleted = fedsyft("datasite", "audit", tmp_path, "--verify")
    assert deleted.returncode == 1 and "line 2" in deleted.stdout


@pytest.mark.e2e
def test_owner_reviews_approves_and_denies_from_the_cli(tmp_path):
    from datasite.server import launch
    from scientist.federation import Federation, SubmissionDenied
    from tests.test_http_e2e import write_site

    config = write_site(tmp_path, "cleveland", policy_text(mode="human", max_rounds=10))
    site = launch(config)
    leaky = HEART_MODULE.read_text().replace("import torch\n", "import torch\nimport os\n")
    try:
        password = os.environ["FEDSYFT_TEST_SCIENTIST_PASSWORD"]
        with Federation.connect({"cleveland": site.url}, SCIENTIST, password) as good, \
                Federation.connect({"cleveland": site.url}, SCIENTIST, password) as other, \
                Federation.connect({"cleveland": site.url}, SCIENTIST, password) as bad:
            bad.submit(leaky, "leaky.py", rounds=2)
            with pytest.raises(SubmissionDenied):  # the steward denies it without a human
                bad.wait_for_approval(timeout_s=20)
            good.submit(HEART_MODULE.read_text(), "heart_logreg.py", rounds=2)
            other.submit(HEART_MODULE.read_text().replace("lr", "learning_rate"), "variant.py", rounds=2)
            review = fedsyft("datasite", "review", config)
            assert review.returncode == 0, review.stderr
            assert review.stdout.count("request ") == 4 and "PASSED" in review.stdout
            assert "Logged into" not in review.stdout
            # what a human decides on: entrypoint, runs asked for, submitter, code hash, the report
            for entrypoint, request in good.sites["cleveland"].requests.items():
                block = review.stdout.split(f"request {request.id}\n")[1].split("\n\n")[0]
                runs = 3 if entrypoint == "evaluate" else 2
                allowed = 11 if entrypoint == "evaluate" else 10
                assert f"entrypoint:  {entrypoint} (module heart_logreg.py)" in block
                assert f"runs:        {runs} requested (the policy allows up to {allowed})" in block
                assert f"<{SCIENTIST}>" in block
                digest = hashlib.sha256(HEART_MODULE.read_text().encode()).hexdigest()
                assert f"code sha256: {digest}" in block and "review: PASSED" in block
            assert "def train(data, weights, config):" not in review.stdout
            with_code = fedsyft("datasite", "review", config, "--code")
            assert with_code.returncode == 0, with_code.stderr
            line = HEART_MODULE.read_text().splitlines().index("def train(data, weights, config):") + 1
            assert f"{line} | def train(data, weights, config):" in with_code.stdout
            for request in good.sites["cleveland"].requests.values():
                approved = fedsyft("datasite", "approve", config, str(request.id))
                assert approved.returncode == 0 and "approved" in approved.stdout, approved.stderr
            for request in other.sites["cleveland"].requests.values():
                denied = fedsyft("datasite", "deny", config, str(request.id), "--reason", "use the reviewed lr")
                assert denied.returncode == 0, denied.stderr
            again = fedsyft("datasite", "approve", config, str(request.id))
            assert again.returncode == 1 and "not pending" in again.stderr
            assert "denied by human" in again.stderr and "use the reviewed lr" in again.stderr
            refused = fedsyft("datasite", "approve", config, str(bad.sites["cleveland"].requests["train"].id))
            assert refused.returncode == 1 and "denied by steward" in refused.stderr
            assert "module os is not in the policy" in refused.stderr and "Traceback" not in refused.stderr
            good.wait_for_approval(timeout_s=20)
            with pytest.raises(SubmissionDenied, match="use the reviewed lr"):
                other.wait_for_approval(timeout_s=20)
        # a config whose port reaches another datasite than its data directory's: nothing recorded
        elsewhere = tmp_path / "elsewhere"
        elsewhere.mkdir()
        from syft.server.credentials import SyftSigningKey

        (elsewhere / "identity.json").write_text(
            json.dumps({"server_id": "0" * 32, "signing_key": str(SyftSigningKey.generate())}))
        text = config.read_text()
        mismatched = tmp_path / "mismatched.toml"
        mismatched.write_text(re.sub(r'data_dir = "[^"]+"', f'data_dir = "{elsewhere}"', text))
        crossed = fedsyft("datasite", "review", mismatched)
        assert crossed.returncode == 1 and "not the datasite whose data is in" in crossed.stderr, crossed.stderr
        assert "no password was sent" in crossed.stderr
        assert sorted(p.name for p in elsewhere.iterdir()) == ["identity.json"]
        wrong = fedsyft("datasite", "review", config, env={"FEDSYFT_TEST_ADMIN_PASSWORD": "not-the-password-1"})
        assert wrong.returncode == 1 and "cannot reach" not in wrong.stderr
        assert "refused the login" in wrong.stderr and "password is wrong" in wrong.stderr
        assert "FEDSYFT_TEST_ADMIN_PASSWORD" in wrong.stderr and "admin password source" in wrong.stderr
        audit = fedsyft("datasite", "audit", config, "--json")
        events = [json.loads(line) for line in audit.stdout.splitlines()]
        assert [e["by"] for e in events if e["event"] == "approved"] == ["human", "human"]
        assert [e["by"] for e in events if e["event"] == "denied"] == ["steward", "steward", "human", "human"]
    finally:
        site.stop()
    assert fedsyft("datasite", "audit", config, "--verify").returncode == 0


def test_serve_with_a_bad_config_exits_1_without_traceback(tmp_path):
    config = tmp_path / "site.toml"
    config.write_text("[datasite]\nname = \"Bad Name\"\n")
    run = fedsyft("datasite", "serve", config)
    assert run.returncode == 1 and "site.toml" in run.stderr and "Traceback" not in run.stderr
    assert not Path(tmp_path / "data").exists()


def datasites_running_under(root: Path) -> list[str]:
    """Command lines of live datasite processes whose config lies under `root`."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if "datasite.server" in cmdline and str(root) in cmdline:
            found.append(cmdline)
    return found


def test_demo_denied_by_the_owners_says_why_and_leaves_no_datasite_running(tmp_path):
    attack = tmp_path / "leaky.py"
    attack.write_text(HEART_MODULE.read_text().replace("import torch\n", "import torch\nimport os\n"))
    out = tmp_path / "out"
    run = fedsyft("demo", "--sites", "cleveland,switzerland", "--rounds", "2", "--out", out,
                  "--module", attack, timeout=300)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "denied on 2 datasite(s) (4 request(s))" in run.stderr and "module os is not in the policy" in run.stderr
    # one reason, said once, with the four requests it applies to
    assert run.stderr.count("module os is not in the policy") == 1 and run.stderr.count("review: REJECTED") == 1
    for request in ("cleveland/train", "cleveland/evaluate", "switzerland/train", "switzerland/evaluate"):
        assert request in run.stderr
    assert "Traceback" not in run.stderr
    assert not (out / "report.json").exists(), "a failed demo writes no report"
    assert datasites_running_under(out) == []


def test_demo_interrupted_with_ctrl_c_stops_every_datasite(tmp_path):
    import signal
    import time

    out = tmp_path / "out"
    demo = subprocess.Popen([*FEDSYFT, "demo", "--sites", "cleveland,hungarian", "--rounds", "100",
                             "--out", str(out)], cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 240
        while len(datasites_running_under(out)) < 2 or not list(out.glob("sites/*/audit.jsonl")):
            assert demo.poll() is None and time.monotonic() < deadline, demo.stdout.read()
            time.sleep(0.5)
        time.sleep(3)  # well into connecting, submitting or the rounds
        demo.send_signal(signal.SIGINT)
        output, _ = demo.communicate(timeout=60)
    finally:
        if demo.poll() is None:
            demo.kill()
    assert demo.returncode == 130, output
    assert "interrupted: every datasite this command started was stopped" in output
    assert "Traceback" not in output
    assert datasites_running_under(out) == []
