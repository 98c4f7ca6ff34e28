"""End to end over HTTP: real syft datasite servers in their own processes on 127.0.0.1."""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from datasite import data as heart
from datasite.server import launch
from datasite.steward import Steward
from scientist.federation import Federation
from tests.conftest import HEART, HEART_MODULE, SCIENTIST, policy_text, site_config_text

pytestmark = pytest.mark.e2e
CENTRES = ("cleveland", "hungarian")


def free_port() -> int:
    from fedsyft.demo import free_port as port

    return port()


def write_site(root: Path, name: str, policy: str, centre: str | None = None) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / f"{name}-policy.toml").write_text(policy)
    config = root / f"{name}.toml"
    config.write_text(site_config_text(
        name, free_port(), root / name, root / f"{name}-policy.toml",
        [("heart", "uci-heart", HEART / f"processed.{centre or name}.data")],
    ))
    return config


def admin_steward(config_path: Path) -> Steward:
    import syft as sy

    from datasite.config import load_config
    from datasite.home import DatasiteHome

    config = load_config(config_path)
    client = sy.login(url="http://127.0.0.1", port=config.port, email=config.admin_email,
                      password=config.admin_password)
    return Steward(client, DatasiteHome(config.data_dir))


@pytest.fixture(scope="session")
def http_sites(tmp_path_factory):
    """Two datasites whose policy asks a human to approve (the tests play the human)."""
    root = tmp_path_factory.mktemp("http-sites")
    configs = {c: write_site(root, c, policy_text(mode="human", wall_time_s=20, cpu_time_s=20))
               for c in CENTRES}
    sites = {}
    try:
        for name, config in configs.items():
            sites[name] = launch(config)
        yield {"sites": sites, "configs": configs}
    finally:
        for site in sites.values():
            site.stop()


def scientist_federation(http_sites) -> Federation:
    urls = {n: s.url for n, s in http_sites["sites"].items()}
    return Federation.connect(urls, SCIENTIST, os.environ["FEDSYFT_TEST_SCIENTIST_PASSWORD"])


def private_rows(centre: str) -> pd.DataFrame:
    train, test = heart.load_centre(HEART, centre)
    return pd.concat([train, test], ignore_index=True)


def test_no_datasite_keeps_the_default_admin_password(http_sites):
    import syft as sy

    for name, site in http_sites["sites"].items():
        for email in ("info@openmined.org", f"admin@{name}.example"):
            try:
                client = sy.login(url="http://127.0.0.1", port=site.port, email=email, password="changethis")
            except Exception:
                continue  # refused: what we want
            assert not hasattr(client, "datasets"), f"{name} accepted {email} / changethis"


def test_scientist_reading_asset_data_gets_no_private_row(http_sites):
    with scientist_federation(http_sites) as fed:
        for name, site in fed.sites.items():
            private = private_rows(name)
            for asset in (site.train, site.test):
                leaked = asset.data
                assert not isinstance(leaked, pd.DataFrame | pd.Series), f"{name}: asset.data gave rows"
                mock = asset.mock
                assert list(mock.columns) == list(private.columns)
                assert dict(mock.dtypes) == dict(private.dtypes)
                shared = mock.merge(private, how="inner", on=list(private.columns))
                assert shared.empty, f"{name}: the mock copies {len(shared)} private rows"
    for site in http_sites["sites"].values():  # the owner's log: one line per refusal, no traceback
        log = site.log_path.read_text()
        assert "a call was refused: 'ActionObject: not found'" in log and "Traceback" not in log, log[-3000:]
        assert site.log_path.stat().st_mode & 0o077 == 0, "the owner's log is the owner's only"


def test_unapproved_code_cannot_run_on_private_data(http_sites):
    source = HEART_MODULE.read_text() + "\n# unapproved variant\n"
    with scientist_federation(http_sites) as fed:
        fed.submit(source, "pending.py", rounds=1)
        site = fed.sites["cleveland"]
        weights = {"weight": np.zeros((1, 13), np.float32), "bias": np.zeros(1, np.float32)}
        answer = fed._run_all("train", weights, {"epochs": 1})["cleveland"]
        assert answer.status == "error", answer
        assert "PENDING" in answer.reason and "not decided" in answer.reason, answer
        # the scientist cannot approve their own request either
        for request in site.requests.values():
            try:
                outcome = request.approve()
            except AttributeError as refused:  # syft hides the admin API from scientists
                assert "permission" in str(refused)
            else:
                assert type(outcome).__name__ == "SyftError", outcome
            assert request.get_status().name == "PENDING"
    steward = admin_steward(http_sites["configs"]["cleveland"])
    code_hash = hashlib.sha256(source.encode()).hexdigest()
    ran = [e for e in steward.home.audit.entries()
           if e.event in ("executed", "released") and e.fields.get("code_hash") == code_hash]
    assert ran == [], "unapproved code reached the executor"


def test_human_approves_over_http_and_rounds_run(http_sites):
    source = HEART_MODULE.read_text()
    with scientist_federation(http_sites) as fed:
        fed.submit(source, "heart_logreg.py", rounds=2)
        for config in http_sites["configs"].values():
            steward = admin_steward(config)
            for request, report in steward.pending():
                if report is None:
                    steward.review_pending()
                    report = steward.home.read_review(str(request.id))
                code = request.code.raw_code
                if "heart_logreg.py" in code and "unapproved variant" not in code:
                    steward.approve(str(request.id))
        fed.wait_for_approval(timeout_s=30)
        from scientist.local import load_module

        weights = load_module(source).init_weights({"seed": 0})
        result = fed.train_round(1, weights, {"epochs": 2, "lr": 0.05, "seed": 1})
        evaluation = fed.evaluate(result.weights, {})
    assert result.released == list(CENTRES)
    assert evaluation.examples == sum(len(heart.load_centre(HEART, c)[1]) for c in CENTRES)
    assert 0.5 < evaluation.accuracy <= 1.0


def test_restarted_datasite_has_everything_it_had(tmp_path):
    config = write_site(tmp_path, "va", policy_text(mode="auto"))
    site = launch(config)
    try:
        with Federation.connect({"va": site.url}, SCIENTIST,
                                os.environ["FEDSYFT_TEST_SCIENTIST_PASSWORD"]) as fed:
            fed.submit(HEART_MODULE.read_text(), "heart_logreg.py", rounds=3)
            fed.wait_for_approval(timeout_s=30)
            from scientist.local import load_module

            weights = load_module(HEART_MODULE.read_text()).init_weights({"seed": 0})
            first = fed.train_round(1, weights, {"epochs": 1, "seed": 0})
            assert first.released == ["va"]
            functions = dict(fed.sites["va"].functions)
    finally:
        site.stop()
    audit_before = (tmp_path / "va" / "audit.jsonl").read_text().splitlines()
    site = launch(config)
    try:
        with Federation.connect({"va": site.url}, SCIENTIST,
                                os.environ["FEDSYFT_TEST_SCIENTIST_PASSWORD"]) as fed:
            assert len(fed.sites["va"].train.mock) == len(heart.load_centre(HEART, "va")[0])
            fed.sites["va"].functions.update(functions)  # approved before the restart
            second = fed.train_round(2, first.weights, {"epochs": 1, "seed": 1})
            assert second.released == ["va"], second.answers
        steward = admin_steward(config)
        requests = steward.client.requests.get_all()
        assert len(requests) == 2 and all(r.get_status().name == "APPROVED" for r in requests)
        assert len(steward.client.datasets.get_all()) == 1
        assert {u.email for u in steward.client.users.get_all()} >= {SCIENTIST, "admin@va.example"}
    finally:
        site.stop()
    audit_after = (tmp_path / "va" / "audit.jsonl").read_text().splitlines()
    assert audit_after[: len(audit_before)] == audit_before
    events = [json.loads(line)["event"] for line in audit_after]
    assert events.count("approved") == 2, "a restarted steward approved something twice"
    assert events.count("dataset_uploaded") == 1 and events.count("user_registered") == 1
    assert steward.home.audit.verify() == []


def test_two_round_demo_over_http(tmp_path):
    from fedsyft.demo import DemoSettings, run

    report = run(DemoSettings(rounds=2, out=tmp_path / "out"))
    written = json.loads((tmp_path / "out" / "report.json").read_text())
    assert written["dataset"] == "uci-heart-disease"
    assert [(s["name"], s["n_train"], s["n_test"]) for s in written["sites"]] == [
        (c, len(heart.load_centre(HEART, c)[0]), len(heart.load_centre(HEART, c)[1]))
        for c in heart.CENTRES
    ]
    assert sum(s["n_train"] + s["n_test"] for s in written["sites"]) == 740
    assert all(re.fullmatch(r"http://127\.0\.0\.1:\d+", s["url"]) for s in written["sites"])
    assert [r["round"] for r in written["rounds"]] == [1, 2]
    for row in written["rounds"]:
        assert 0.4 < row["accuracy"] <= 1.0 and row["loss"] > 0
        assert row["wall_s"] >= row["compute_s"] > 0
    assert 0.5 < written["federated"]["accuracy"] <= 1.0
    assert set(written["federated"]["per_site_accuracy"]) == set(heart.CENTRES)
    assert set(written["baselines"]["local_only"]) == set(heart.CENTRES)
    assert written["requests"] == {"submitted": 8, "approved": 8, "denied": 0}
    assert written["timing"]["startup_s"] > 0 and written["timing"]["total_s"] > written["timing"]["startup_s"]
    assert (tmp_path / "out" / "training.png").stat().st_size > 10_000
    assert report == written
    # every datasite was stopped, and each audit log's hash chain is intact
    from datasite.audit import AuditLog

    for centre, path in written["audit_logs"].items():
        log = AuditLog(Path(path))
        assert log.verify() == [], centre
        assert log.entries()[-1].event == "stopped"


def test_over_http_a_scientist_gets_no_server_side_execution_and_no_password_reset(http_sites, tmp_path):
    """The red team's attacks on an unguarded datasite, sent over HTTP to a launched one."""
    import urllib.error
    import urllib.request

    import syft as sy
    from syft.service.action.action_object import ActionType
    from syft.types.errors import SyftException
    from syft.types.uid import LineageID

    site = http_sites["sites"]["cleveland"]
    sci = sy.login(url="http://127.0.0.1", port=site.port, email=SCIENTIST,
                   password=os.environ["FEDSYFT_TEST_SCIENTIST_PASSWORD"])
    asset = sci.datasets["heart"].assets["train"]
    box = sy.ActionObject.from_obj({}).send(sci)
    key = sy.ActionObject.from_obj("k").send(sci)
    action = box.syft_make_action(path="builtins.dict", op="setdefault", remote_self=box.id,
                                  args=[LineageID(key.id), LineageID(asset.action_id)], kwargs={},
                                  action_type=ActionType.METHOD)
    with pytest.raises(SyftException, match="does not offer `action.execute`"):
        sci.api.services.action.execute(action)
    for route in ("forgot_password", "reset_password"):
        request = urllib.request.Request(f"{site.url}/api/v2/{route}", data=b"{}", method="POST")
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(request, timeout=10)
        assert err.value.code == 404, route
