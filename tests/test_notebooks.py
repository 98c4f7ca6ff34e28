"""The three notebooks, executed headless against real datasites on 127.0.0.1.

Each notebook runs in a fresh kernel of this interpreter (the repo's .venv), with its
parameters in `FEDSYFT_NB_*` environment variables, the way a person would set them.
"""

from __future__ import annotations

import os
import re
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from datasite import data as heart
from datasite.audit import AuditLog
from datasite.config import load_config
from datasite.home import DatasiteHome
from datasite.server import DatasiteProcess, launch
from fedsyft.demo import free_port
from scientist.federation import Federation, SubmissionDenied
from tests.conftest import HEART, HEART_MODULE, IMPORTS, REPO, SCIENTIST, policy_text, site_config_text

pytestmark = pytest.mark.e2e
NOTEBOOKS = REPO / "notebooks"
CELL_TIMEOUT_S = 120


def load(name: str) -> nbformat.NotebookNode:
    """A notebook as committed, with a first cell that reports the kernel's interpreter."""
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    notebook.cells.insert(0, nbformat.v4.new_code_cell("import sys\nprint(sys.executable)"))
    return notebook


def execute(notebook: nbformat.NotebookNode, env: dict[str, str], cwd: Path) -> nbformat.NotebookNode:
    """Run every cell in a new python3 kernel whose environment has `env`; raise on any error."""
    inherited = {k: v for k, v in os.environ.items()
                 if not k.startswith("FEDSYFT_NB_") and not k.endswith("_ADMIN_PASSWORD")}
    client = NotebookClient(notebook, kernel_name="python3", timeout=CELL_TIMEOUT_S,
                            resources={"metadata": {"path": str(cwd)}})
    client.execute(env={**inherited, **env})
    assert cell_text(notebook.cells[0]).strip() == sys.executable, "the kernel runs another interpreter"
    return notebook


def cell_text(cell: nbformat.NotebookNode) -> str:
    """Everything a code cell printed or displayed as text."""
    parts = []
    for output in cell.get("outputs", []):
        parts.append(output.get("text", ""))
        parts.append(output.get("data", {}).get("text/plain", ""))
        parts.append(output.get("data", {}).get("text/html", ""))
        parts.extend(output.get("traceback", []))
    return "".join(parts)


def all_text(notebook: nbformat.NotebookNode) -> str:
    """Everything the notebook's code cells printed or displayed as text."""
    return "\n".join(cell_text(c) for c in notebook.cells if c.cell_type == "code")


def launch_site(root: Path, name: str, policy: str) -> tuple[DatasiteProcess, Path]:
    """A datasite holding centre `name`'s data under `policy`; returns it and its config file.

    Launched on the calling thread: the child gets SIGTERM when the thread that started it
    ends (PR_SET_PDEATHSIG), so a worker thread would take the datasite down with it.
    """
    root.mkdir(parents=True, exist_ok=True)
    policy_path = root / f"{name}-policy.toml"
    policy_path.write_text(policy)
    config = root / f"{name}.toml"
    config.write_text(site_config_text(name, free_port(), root / name, policy_path,
                                      [("heart", "uci-heart", HEART / f"processed.{name}.data")]))
    return launch(config), config


def wait_for(condition: Callable[[], bool], what: str, timeout_s: float = 30.0) -> None:
    """Poll `condition` until it holds; fail the test after `timeout_s` seconds."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")
        time.sleep(0.2)


def write_secret(path: Path, secret: str) -> Path:
    """Write a secret to a file only its owner can read."""
    path.touch(mode=0o600)
    path.write_text(secret)
    return path


@pytest.mark.parametrize("name", sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")))
def test_notebooks_are_committed_without_outputs(name):
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    nbformat.validate(notebook)
    assert notebook.metadata["kernelspec"]["name"] == "python3"
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"{name}: a cell keeps its output"


def test_admin_notebook_launches_a_datasite_uploads_data_and_registers_a_scientist(tmp_path):
    workdir = tmp_path / "owner"
    notebook = load("01_data_owner_admin.ipynb")
    # the test's own last cell reads the generated admin password, to check no other cell shows it
    notebook.cells.append(nbformat.v4.new_code_cell("print(ADMIN_PASSWORD_FILE.read_text())"))
    execute(notebook, {"FEDSYFT_NB_WORKDIR": str(workdir), "FEDSYFT_NB_PORT": str(free_port()),
                       "FEDSYFT_NB_STOP": "1"}, cwd=tmp_path)

    log = AuditLog(workdir / "cleveland" / "audit.jsonl")
    assert log.verify() == []
    events = [entry.event for entry in log.entries()]
    assert events[-1] == "stopped", "FEDSYFT_NB_STOP=1 did not stop the datasite"
    (uploaded,) = log.find("dataset_uploaded")
    rows = sum(len(split) for split in heart.load_centre(HEART, "cleveland"))
    assert uploaded.fields["name"] == "heart" and sum(uploaded.fields["rows"].values()) == rows
    (registered,) = log.find("user_registered")
    assert registered.fields == {"email": SCIENTIST, "role": "data_scientist"}
    assert [e.fields["name"] for e in log.find("policy_installed")] == ["strict"]

    config_text = (workdir / "cleveland.toml").read_text()
    assert "[[datasets]]" not in config_text and "[[scientists]]" not in config_text
    password_file = workdir / "scientist.password"
    assert password_file.stat().st_mode & 0o777 == 0o600
    # the generated admin password outlives the kernel: the config names its file (mode 0600)
    assert f'admin_password_file = "{workdir / "admin.password"}"' in config_text
    assert (workdir / "admin.password").stat().st_mode & 0o777 == 0o600
    assert load_config(workdir / "cleveland.toml").admin_password == (workdir / "admin.password").read_text()
    admin_password = cell_text(notebook.cells[-1]).strip()
    scientist_password = password_file.read_text().strip()
    assert len(admin_password) >= 12 and len(scientist_password) >= 12
    shown = "\n".join(cell_text(c) for c in notebook.cells[:-1] if c.cell_type == "code")
    assert admin_password not in shown and admin_password not in config_text
    assert scientist_password not in shown


def test_scientist_notebook_trains_two_rounds_over_two_datasites(tmp_path):
    policy = policy_text(name="auto", mode="auto", wall_time_s=30, cpu_time_s=30)
    workdir = tmp_path / "sites"
    sites = []
    try:
        for centre in ("cleveland", "hungarian"):
            sites.append(launch_site(workdir, centre, policy)[0])
        password_file = write_secret(tmp_path / "scientist.password", os.environ["FEDSYFT_TEST_SCIENTIST_PASSWORD"])
        notebook = execute(load("03_data_scientist.ipynb"), {
            "FEDSYFT_NB_SITES": ",".join(f"{site.name}={site.url}" for site in sites),
            "FEDSYFT_NB_EMAIL": SCIENTIST,
            "FEDSYFT_NB_PASSWORD_FILE": str(password_file),
            "FEDSYFT_NB_ROUNDS": "2",
            "FEDSYFT_NB_APPROVAL_TIMEOUT": "60",
        }, cwd=tmp_path)
    finally:
        for site in sites:
            site.stop()

    for site in sites:
        log = AuditLog(workdir / site.name / "audit.jsonl")
        assert log.verify() == [], site.name
        released = Counter(entry.fields["entrypoint"] for entry in log.find("released"))
        assert released == {"train": 2, "evaluate": 2}, f"{site.name}: released {dict(released)}"
        assert log.find("blocked") == [] and log.find("failed") == [], site.name
        assert [e.fields["by"] for e in log.find("approved")] == ["steward", "steward"], site.name
    plots = [o for c in notebook.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
    assert len(plots) == 1, "the training curves were not plotted"
    text = all_text(notebook)
    assert "approved on every datasite" in text
    accuracies = [float(a) for a in re.findall(r"round \d: accuracy (\d\.\d+)", text)]
    assert len(accuracies) == 2 and 0.6 < accuracies[-1] <= 1.0, accuracies


def test_review_notebook_approves_good_code_and_denies_bad_code_with_a_reason(tmp_path):
    # The datasite's own steward denies code that fails review within half a second, so the
    # bad module arrives under a policy that still allows `os` (it waits for a human), and the
    # owner tightens the policy before opening the notebook: the notebook must deny it itself.
    tight = tmp_path / "tight.toml"
    tight.write_text(policy_text(name="tight", mode="human"))
    good = HEART_MODULE.read_text()
    bad = "import os\n" + good
    workdir = tmp_path / "sites"
    home = DatasiteHome(workdir / "cleveland")
    site, config = launch_site(workdir, "cleveland",
                               policy_text(name="lenient", mode="human", imports=(*IMPORTS, "os")))
    try:
        urls = {site.name: site.url}
        password = os.environ["FEDSYFT_TEST_SCIENTIST_PASSWORD"]
        with Federation.connect(urls, SCIENTIST, password) as fed_good, \
                Federation.connect(urls, SCIENTIST, password) as fed_bad:
            good_ids = set(fed_good.submit(good, "heart_logreg.py", rounds=2)["cleveland"].values())
            bad_ids = set(fed_bad.submit(bad, "heart_logreg_os.py", rounds=2)["cleveland"].values())
            wait_for(lambda: len(home.audit.find("reviewed")) == 4, "the steward's first review")
            assert home.audit.find("approved") == home.audit.find("denied") == []
            home.install_policy(tight)

            owner_env = {
                "FEDSYFT_NB_CONFIG": str(config),  # names FEDSYFT_TEST_ADMIN_PASSWORD
                "FEDSYFT_TEST_ADMIN_PASSWORD": os.environ["FEDSYFT_TEST_ADMIN_PASSWORD"],
            }
            # run all, approving nothing: a fresh user found "Run all" approved every passing request
            first = execute(load("02_data_owner_review.ipynb"), owner_env, cwd=tmp_path)
            assert home.audit.find("approved") == [], "nothing is approved unless the owner names it"
            assert "passes review; add it to APPROVE" in all_text(first)
            notebook = execute(load("02_data_owner_review.ipynb"),
                               {**owner_env, "FEDSYFT_NB_APPROVE": ",".join(sorted(good_ids))}, cwd=tmp_path)

            fed_good.wait_for_approval(timeout_s=10)
            with pytest.raises(SubmissionDenied) as denied:
                fed_bad.wait_for_approval(timeout_s=10)
    finally:
        site.stop()

    # what the scientist reads
    assert set(denied.value.reasons) == {"cleveland/train", "cleveland/evaluate"}
    for reason in denied.value.reasons.values():
        assert "module os is not in the policy's allowed imports" in reason
    # what the owner's audit log says
    log = home.audit
    assert log.verify() == []
    assert {e.fields["request_id"] for e in log.find("approved", by="human")} == good_ids
    denials = log.find("denied", by="human")
    assert {e.fields["request_id"] for e in denials} == bad_ids
    assert all("module os" in e.fields["reason"] for e in denials)
    assert log.find("approved", by="steward") == log.find("denied", by="steward") == []
    assert "4 pending request(s) under policy 'tight'" in all_text(first)
    text = all_text(notebook)
    assert "2 pending request(s) under policy 'tight'" in text
    assert "REJECTED" in all_text(first) and "PASSED" in text

