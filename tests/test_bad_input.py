"""Bad input gets a clear error naming the file and the problem, and leaves nothing half-written."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from datasite.config import ConfigError, load_config
from datasite.data import DataError
from datasite.server import prepare
from policies.policy import PolicyError
from scientist.federation import Federation, FederationError
from tests.conftest import HEART, SCIENTIST, policy_text, site_config_text

HEADER = "age,sex,trestbps,chol,fbs,thalach,exang,oldpeak,cp_2,cp_3,cp_4,restecg_1,restecg_2,target"
ROW = "63,1,145,233,1,150,0,2.3,0,0,0,0,1,0"
ROW_SICK = "67,1,160,286,0,108,1,1.5,0,0,1,0,1,1"


def csv_site(tmp_path: Path, csv_text: str, policy: str | None = None) -> tuple[Path, Path]:
    """A datasite config serving one CSV dataset; returns (config, data dir)."""
    csv_path = tmp_path / "patients.csv"
    csv_path.write_text(csv_text)
    policy_path = tmp_path / "policy.toml"
    policy_path.write_text(policy or policy_text())
    data_dir = tmp_path / "data"
    config = tmp_path / "site.toml"
    config.write_text(site_config_text("hospital", 18500, data_dir, policy_path,
                                       [("patients", "csv", csv_path)]))
    return config, data_dir


@pytest.mark.parametrize(
    "csv_text, problem",
    [
        (HEADER.replace(",chol", "") + "\n" + ROW.replace(",233", "") + "\n", "chol"),
        (HEADER + "\n" + "\n".join([ROW] * 5 + [ROW.replace("233", "abc")]) + "\n", "abc"),
        ("", "empty"),
        # a fresh user's csv datasets with impossible patients were served
        (HEADER + "\n" + "\n".join([ROW] * 5 + [ROW[:-1] + "7"]) + "\n",
         "column target: 1 value(s) other than 0 and 1"),
        (HEADER + "\n" + "\n".join([ROW] * 5 + ["-5" + ROW[2:]]) + "\n", "column age: 1 value(s) outside 0..120"),
        (HEADER + "\n" + "\n".join([ROW] * 5 + [ROW.replace(",0,0,0,0,1,0", ",1,1,0,0,1,0")]) + "\n",
         "cp_2, cp_3, cp_4 are one-hot"),
        (HEADER + "\n" + "\n".join([ROW] * 5 + [ROW.replace(",233,", ",,")]) + "\n",
         "column chol: 1 empty value(s), first on line 7"),
    ],
    ids=["missing-column", "non-numeric", "empty-file", "target-not-0-1", "age-negative", "one-hot-twice",
         "empty-cell"],
)
def test_bad_csv_is_refused_naming_file_and_problem_and_uploads_nothing(tmp_path, csv_text, problem):
    config_path, data_dir = csv_site(tmp_path, csv_text)
    with pytest.raises(DataError) as err:
        prepare(load_config(config_path))
    message = str(err.value)
    assert "patients.csv" in message
    assert problem in message.lower()
    assert not data_dir.exists(), "a datasite was created for bad data"


def test_a_dataset_too_small_for_any_release_is_refused_before_anything_is_written(tmp_path):
    """8 rows split 5/3 under min_rows = 10: nothing could ever be released from it."""
    from datasite.server import LaunchError

    config_path, data_dir = csv_site(tmp_path, HEADER + "\n" + "\n".join([ROW, ROW_SICK] * 4) + "\n")
    with pytest.raises(LaunchError, match=r"3 rows in its test split.*fewer than 10 \(output.min_rows"):
        prepare(load_config(config_path))
    assert not data_dir.exists()


def test_a_good_csv_dataset_is_served(tmp_path):
    rows = [ROW, ROW_SICK] * 20
    config_path, data_dir = csv_site(tmp_path, HEADER + "\n" + "\n".join(rows) + "\n")
    worker, home = prepare(load_config(config_path))
    dataset = worker.root_client.datasets["patients"]
    assert {a.name for a in dataset.assets} == {"train", "test"}
    assert [e.event for e in home.audit.entries()].count("dataset_uploaded") == 1


def test_bad_policy_file_is_refused_with_its_line_and_nothing_is_written(tmp_path):
    policy = policy_text().replace("max_rounds = 10", "max_rounds = -1")
    config_path, data_dir = csv_site(tmp_path, HEADER + "\n" + ROW + "\n", policy=policy)
    with pytest.raises(PolicyError) as err:
        prepare(load_config(config_path))
    line = next(i for i, text in enumerate(policy.splitlines(), 1) if "max_rounds" in text)
    assert f"policy.toml line {line}" in str(err.value) and "training.max_rounds" in str(err.value)
    assert not data_dir.exists()


@pytest.mark.parametrize(
    "edit, problem",
    [
        (lambda t: t.replace('port = 18500', 'port = 80'), "port"),
        (lambda t: t.replace('[datasite]', '[datasite]\nhost = "0.0.0.0"'), "loopback"),
        (lambda t: t.replace('admin_password_env = "FEDSYFT_TEST_ADMIN_PASSWORD"',
                             'admin_password_env = "FEDSYFT_NO_SUCH_VARIABLE"'), "FEDSYFT_NO_SUCH_VARIABLE"),
        (lambda t: t.replace('admin_password_env', 'admin_password'), "admin_password"),
        (lambda t: t + "\n[extras]\n", "unknown section"),
        (lambda t: t.replace('kind = "csv"', 'kind = "parquet"'), "kind"),
        (lambda t: t.replace("[datasite]", "[datasite"), "not valid TOML"),
    ],
    ids=["port", "public-host", "missing-secret", "inline-secret", "unknown-section", "kind", "syntax"],
)
def test_bad_datasite_config_gets_a_clear_error(tmp_path, edit, problem):
    config_path, data_dir = csv_site(tmp_path, HEADER + "\n" + ROW + "\n")
    config_path.write_text(edit(config_path.read_text()))
    with pytest.raises(ConfigError) as err:
        load_config(config_path)
    assert "site.toml" in str(err.value) and problem in str(err.value)
    assert not data_dir.exists()


def test_syft_default_password_is_refused_in_a_config(tmp_path, monkeypatch):
    config_path, _ = csv_site(tmp_path, HEADER + "\n" + ROW + "\n")
    monkeypatch.setenv("FEDSYFT_TEST_ADMIN_PASSWORD", "changethis")
    with pytest.raises(ConfigError, match="default"):
        load_config(config_path)


def test_unreachable_datasite_is_named_in_the_error():
    from fedsyft.demo import free_port

    port = free_port()  # nothing listens there
    with pytest.raises(FederationError) as err:
        Federation.connect({"nowhere": f"http://127.0.0.1:{port}"}, SCIENTIST,
                           os.environ["FEDSYFT_TEST_SCIENTIST_PASSWORD"])
    assert "nowhere" in str(err.value) and str(port) in str(err.value)


def test_missing_uci_file_is_named(tmp_path):
    missing = tmp_path / "processed.nowhere.data"
    policy_path = tmp_path / "policy.toml"
    policy_path.write_text(policy_text())
    config = tmp_path / "site.toml"
    config.write_text(site_config_text("hospital", 18501, tmp_path / "data", policy_path,
                                       [("heart", "uci-heart", missing)]))
    with pytest.raises(DataError, match="processed.nowhere.data"):
        prepare(load_config(config))
    assert not (tmp_path / "data").exists()
    shutil.copy(HEART / "processed.va.data", missing)
    worker, _ = prepare(load_config(config))
    assert "heart" in {d.name for d in worker.root_client.datasets.get_all()}


def test_admin_commands_read_no_scientist_password(tmp_path, monkeypatch):
    """review/approve/deny failed when a scientist's password variable was not set where the admin works."""
    config_path, _ = csv_site(tmp_path, HEADER + "\n" + ROW + "\n")
    monkeypatch.delenv("FEDSYFT_TEST_SCIENTIST_PASSWORD")
    with pytest.raises(ConfigError, match="FEDSYFT_TEST_SCIENTIST_PASSWORD"):
        load_config(config_path)
    config = load_config(config_path, scientist_secrets=False)
    assert [s.email for s in config.scientists] == [SCIENTIST] and config.scientists[0].password == ""
