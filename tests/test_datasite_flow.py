"""The owner's side end to end on an in-process syft datasite with real data."""

from __future__ import annotations

import numpy as np
import pytest

from datasite import data as heart
from scientist.federation import Federation, SubmissionDenied, site_from_client
from scientist.local import load_module
from tests.conftest import HEART, HEART_MODULE, policy_text


def federation_for(site) -> Federation:
    return Federation([site_from_client(site.config.name, site.config.url, site.scientist())])


def test_submitted_module_is_reviewed_approved_run_and_released(make_site):
    site = make_site()
    source = HEART_MODULE.read_text()
    module = load_module(source)
    weights = module.init_weights({"seed": 0})
    with federation_for(site) as fed:
        fed.submit(source, "heart_logreg.py", rounds=3)
        decisions = site.steward.review_pending()
        assert [d.outcome for d in decisions] == ["approved", "approved"]
        fed.wait_for_approval(timeout_s=10)
        result = fed.train_round(1, weights, {"epochs": 2, "lr": 0.05, "seed": 0})
        evaluation = fed.evaluate(result.weights, {"seed": 0})
    answer = result.answers["cleveland"]
    assert answer.status == "released", answer.reason
    assert set(answer.value) >= {"weights", "num_examples", "metrics", "compute_s"}
    assert {k: v.shape for k, v in result.weights.items()} == {k: v.shape for k, v in weights.items()}
    assert not np.allclose(result.weights["weight"], weights["weight"])
    train, test = heart.load_centre(HEART, "cleveland")
    assert answer.value["num_examples"] == len(train)
    assert evaluation.examples == len(test)
    assert 0.5 < evaluation.accuracy <= 1.0
    events = [e.event for e in site.home.audit.entries()]
    for event in ("submitted", "reviewed", "approved", "executed", "released"):
        assert event in events
    assert site.home.audit.verify() == []


def test_code_breaking_the_policy_is_denied_with_the_findings(make_site):
    site = make_site()
    source = HEART_MODULE.read_text().replace("import torch\n", "import torch\nimport os\n")
    with federation_for(site) as fed:
        fed.submit(source, "leaky.py", rounds=2)
        decisions = site.steward.review_pending()
        assert {d.outcome for d in decisions} == {"denied"}
        with pytest.raises(SubmissionDenied) as denied:
            fed.wait_for_approval(timeout_s=10)
    assert "os" in str(denied.value)


def test_more_rounds_than_the_policy_allows_is_denied(make_site):
    site = make_site(policy=policy_text(max_rounds=2))
    with federation_for(site) as fed:
        fed.submit(HEART_MODULE.read_text(), "heart_logreg.py", rounds=5)
        decisions = site.steward.review_pending()
    assert all(d.outcome == "denied" and "policy allows" in d.reason for d in decisions)


def test_human_policy_leaves_the_request_for_a_human(make_site):
    site = make_site(policy=policy_text(mode="human"))
    with federation_for(site) as fed:
        fed.submit(HEART_MODULE.read_text(), "heart_logreg.py", rounds=2)
        decisions = site.steward.review_pending()
        assert [d.outcome for d in decisions] == ["needs_human", "needs_human"]
        assert site.steward.review_pending() == []  # not decided twice
        pending = site.steward.pending()
        assert len(pending) == 2 and all(report["verdict"] == "passed" for _, report in pending)
        for request, _ in pending:
            site.steward.approve(str(request.id))
        fed.wait_for_approval(timeout_s=10)
    approvals = site.home.audit.find("approved")
    assert len(approvals) == 2 and all(e.fields["by"] == "human" for e in approvals)
