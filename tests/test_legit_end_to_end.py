"""No false positives: every legitimate module runs end to end on a real datasite under default.toml.

Each of the ten modules in tests/submissions/legit/ and the demo's scientist/examples/heart_logreg.py
is submitted by the scientist to an in-process syft datasite holding the real Cleveland data, whose
installed policy is policies/examples/default.toml itself (the file, copied). The steward must
approve it with a clean review, and one training round and one evaluation must be released with
exactly the layout of the module's own init_weights and the true example counts of the splits.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from datasite import data as heart
from policies.policy import default_policy_path
from scientist.federation import Federation, site_from_client
from scientist.local import load_module
from tests.conftest import HEART, HEART_MODULE, LocalSite, site_config_text

LEGIT_DIR = Path(__file__).resolve().parent / "submissions" / "legit"
MODULES = [*sorted(LEGIT_DIR.glob("*.py")), HEART_MODULE]
CONFIG = {"epochs": 2, "lr": 0.05, "batch_size": 32, "seed": 0}


@pytest.fixture(scope="module")
def default_site(tmp_path_factory: pytest.TempPathFactory, test_passwords: dict[str, str]):
    """One datasite for the module (as conftest's make_site builds it), policy = default.toml's text."""
    from datasite.config import load_config
    from datasite.executor import Executor, install
    from datasite.server import prepare
    from datasite.steward import Steward

    root = tmp_path_factory.mktemp("legit-site")
    policy_path = root / "policy.toml"
    policy_path.write_bytes(default_policy_path().read_bytes())
    config_path = root / "cleveland.toml"
    config_path.write_text(site_config_text(
        "cleveland", 18700, root / "data", policy_path,
        [("heart", "uci-heart", HEART / "processed.cleveland.data")],
    ))
    config = load_config(config_path)
    worker, home = prepare(config)
    executor = Executor(home)
    install(executor, str(worker.id))
    site = LocalSite(config, worker, home, executor, Steward(worker.root_client, home))
    yield site, site.scientist()
    site.close()


@pytest.fixture(scope="module")
def splits():
    return heart.load_centre(HEART, "cleveland")


def test_the_site_runs_the_shipped_default_policy(default_site: tuple[LocalSite, Any]) -> None:
    site, _ = default_site
    shipped = hashlib.sha256(default_policy_path().read_bytes()).hexdigest()
    assert site.home.policy().sha256 == shipped
    assert site.home.policy().name == "default"


def test_the_corpus_is_ten_modules_and_the_demo() -> None:
    assert len(MODULES) == 11


@pytest.mark.parametrize("path", MODULES, ids=[p.stem for p in MODULES])
def test_legit_module_is_approved_trained_and_evaluated_with_nothing_blocked(
    path: Path, default_site: tuple[LocalSite, Any], splits,
) -> None:
    site, client = default_site
    train, test = splits
    source = path.read_text()
    initial = load_module(source).init_weights(dict(CONFIG))  # the scientist's side, locally
    name = site.config.name
    with Federation([site_from_client(name, site.config.url, client)]) as fed:
        ids = fed.submit(source, path.name, rounds=1)
        ours = set(ids[name].values())
        decisions = [d for d in site.steward.review_pending() if d.request_id in ours]
        assert sorted(d.outcome for d in decisions) == ["approved", "approved"], [d.reason for d in decisions]
        for request_id in ours:
            report = site.home.read_review(request_id)
            assert report["verdict"] == "passed" and report["findings"] == [], report
        fed.wait_for_approval(timeout_s=10)
        result = fed.train_round(1, initial, dict(CONFIG))
        evaluation = fed.evaluate(result.weights, dict(CONFIG))

    answer = result.answers[name]
    assert answer.status == "released", answer.reason
    released = answer.value["weights"]
    assert set(released) == set(initial)
    for key, array in initial.items():
        assert isinstance(released[key], np.ndarray), key
        assert released[key].shape == array.shape, key
        assert released[key].dtype == array.dtype, key
        assert np.isfinite(released[key]).all(), key
    assert answer.value["num_examples"] == len(train)
    assert set(answer.value["metrics"]) <= {"loss", "accuracy"}
    assert not answer.value["clipped"], "a legit update should stay within the default norm bound"
    assert any(not np.array_equal(released[k], initial[k]) for k in initial), "the round trained nothing"

    scored = evaluation.answers[name]
    assert scored.status == "released", scored.reason
    assert scored.value["num_examples"] == len(test)
    assert evaluation.examples == len(test)
    assert 0 <= evaluation.correct <= len(test)

    code_hash = hashlib.sha256(source.encode()).hexdigest()
    runs = [e for e in site.home.audit.entries() if e.fields.get("code_hash") == code_hash]
    assert [e.event for e in runs if e.event in ("executed", "released", "blocked", "failed")] == [
        "executed", "released", "executed", "released",
    ]
