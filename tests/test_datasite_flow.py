"""The owner's side end to end on an in-process syft datasite with real data."""

from __future__ import annotations

import contextlib

import numpy as np
import pytest

from datasite import data as heart
from scientist.federation import Federation, SubmissionDenied, site_from_client
from scientist.local import load_module
from tests.conftest import HEART, HEART_MODULE, SCIENTIST, policy_text


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


def test_calling_code_the_owner_denied_says_so_with_the_owner_reason(make_site):
    """syft's refusal text is scrubbed of digits; the status and reason come from the owner's records."""
    site = make_site(policy=policy_text(mode="human"))
    weights = load_module(HEART_MODULE.read_text()).init_weights({"seed": 0})
    with federation_for(site) as fed:
        fed.submit(HEART_MODULE.read_text(), "heart_logreg.py", rounds=2)
        site.steward.review_pending()
        pending = fed._run_all("train", weights, {"epochs": 1})["cleveland"]
        for request, _ in site.steward.pending():
            site.steward.deny(str(request.id), "not before the ethics board meets on 12 May")
        denied = fed._run_all("train", weights, {"epochs": 1})["cleveland"]
    assert pending.status == "error" and "PENDING" in pending.reason, pending
    assert denied.status == "error" and "DENIED" in denied.reason, denied
    assert "ethics board meets on 12 May" in denied.reason, denied
    assert [e for e in site.home.audit.entries() if e.event in ("executed", "released")] == []


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


def test_restarted_steward_resumes_without_deciding_twice(make_site):
    from datasite.owner import register_scientist
    from datasite.steward import Steward

    second = "second@fedsyft.example"
    site = make_site(policy=policy_text(mode="human", known_hashes=True, submitters=(SCIENTIST, second)))
    register_scientist(site.admin, site.home, second, "Second Scientist", "a-long-enough-password")
    source = HEART_MODULE.read_text()
    with federation_for(site) as fed:
        fed.submit(source, "heart_logreg.py", rounds=2)
        assert {d.outcome for d in site.steward.review_pending()} == {"needs_human"}
        for request, _ in site.steward.pending():
            site.steward.approve(str(request.id))
    # a new steward on the same datasite: what a restart gives
    restarted = Steward(site.worker.root_client, site.home)
    assert restarted.review_pending() == [], "the restarted steward re-decided a request"
    # another scientist sends the very module a human approved: the policy re-approves its hash
    other = Federation([site_from_client("cleveland", site.config.url,
                                         site.scientist(second, "a-long-enough-password"))])
    with other:
        other.submit(source, "heart_logreg.py", rounds=2)
        again = restarted.review_pending()
        other.wait_for_approval(timeout_s=10)
    assert [d.outcome for d in again] == ["approved", "approved"]
    assert all("human approved this exact code" in d.reason for d in again)
    approvals = site.home.audit.find("approved")
    assert len(approvals) == 4
    assert len({e.fields["request_id"] for e in approvals}) == 4, "an approval was recorded twice"


def test_runs_are_refused_when_the_sandbox_cannot_confine_them(make_site):
    import dataclasses

    from datasite.sandbox import Sandbox

    class UnconfinedSandbox(Sandbox):
        """The real sandbox, reporting that the kernel layers did not take effect."""

        def run(self, *args, **kwargs):
            return dataclasses.replace(super().run(*args, **kwargs), confinement=("rlimits", "audit-hook"))

    site = make_site()
    site.executor.sandbox = UnconfinedSandbox()
    source = HEART_MODULE.read_text()
    with federation_for(site) as fed:
        fed.submit(source, "heart_logreg.py", rounds=2)
        site.steward.review_pending()
        fed.wait_for_approval(timeout_s=10)
        weights = load_module(source).init_weights({"seed": 0})
        answer = fed._run_all("train", weights, {"epochs": 1})["cleveland"]
    assert answer.status == "failed" and set(answer.value) == {"status", "reason"}
    blocked = site.home.audit.find("blocked")
    assert blocked and "netns" in blocked[-1].fields["reason"] and "landlock" in blocked[-1].fields["reason"]
    assert not site.home.audit.find("released")


def test_code_approved_around_the_steward_still_cannot_run(make_site):
    """An admin approving in syft directly does not skip the policy: the executor reviews again."""
    site = make_site(policy=policy_text(mode="human"))
    source = HEART_MODULE.read_text().replace(
        "def evaluate(", "def leak(data):\n    return open('/etc/passwd').read()\n\n\ndef evaluate("
    )
    with federation_for(site) as fed:
        fed.submit(source, "sneaky.py", rounds=2)
        for request in site.admin.requests.get_all():  # approved in syft, not through the steward
            request.approve(disable_warnings=True)
        fed.wait_for_approval(timeout_s=10)
        weights = load_module(HEART_MODULE.read_text()).init_weights({"seed": 0})
        answer = fed._run_all("train", weights, {"epochs": 1})["cleveland"]
    assert answer.status == "blocked" and "policy review" in answer.reason
    assert not site.home.audit.find("executed"), "code that fails review reached the sandbox"
    assert site.home.audit.find("blocked")[-1].fields["stage"] == "review"


def test_plain_syft_code_is_denied_and_never_runs(make_site):
    """Only fedsyft's exact module wrapper runs here, never an arbitrary syft function."""
    import syft as sy

    site = make_site(policy=policy_text(mode="human"))
    scientist = site.scientist()
    asset = scientist.datasets["heart"].assets["train"]

    @sy.syft_function_single_use(data=asset)
    def first_rows(data):
        return data.head(5)

    scientist.code.request_code_execution(first_rows)
    decisions = site.steward.review_pending()
    assert [d.outcome for d in decisions] == ["denied"] and "not a fedsyft submission" in decisions[0].reason
    request = site.admin.requests.get_all()[0]
    assert request.get_status().name == "REJECTED"
    # even if an admin overrides the denial inside syft, the executor refuses to run it
    site.admin.api.services.request.apply(request.id)
    result = scientist.code.first_rows(data=asset)
    value = result.get() if hasattr(result, "get") else result
    assert value == {"status": "blocked",
                     "reason": "not a fedsyft submission: function 'first_rows' is not a fedsyft submission"}
    assert not site.home.audit.find("executed")
    assert site.home.audit.find("blocked")[-1].fields["stage"] == "submission"


def test_strangers_cannot_sign_themselves_up(make_site):
    site = make_site()
    guest = site.worker.get_guest_client(verbose=False)
    with pytest.raises(Exception, match="no permission to create an account"):
        guest.register(name="Eve", email="eve@evil.example", password="a-long-password-1",
                       password_verify="a-long-password-1")
    assert "eve@evil.example" not in {u.email for u in site.admin.users.get_all()}


def test_constant_time_policy_answers_every_outcome_at_the_same_moment(make_site):
    """Released, failed and blocked runs all answer wall_time_s + margin after they start."""
    from datasite.executor import CONSTANT_TIME_MARGIN_S

    wall = 2.0
    site = make_site(policy=policy_text(constant_time=True, wall_time_s=wall, cpu_time_s=wall))
    assert site.executor.warm() == [], "as a launched datasite does: the first run pays no cold start"
    good = HEART_MODULE.read_text()
    crashing = good.replace('def train(data, weights, config):\n',
                            'def train(data, weights, config):\n    raise ValueError("no")\n')
    oversized = good.replace('return {"weights": new,', 'return {"weights": {**new, "extra": new["bias"]},')
    weights = load_module(good).init_weights({"seed": 0})
    waited = {}
    # the first call to a fresh server costs syft ~0.5 s more outside the executor, whatever the code
    for label, source in (("warm-up", good), ("released", good), ("failed", crashing), ("blocked", oversized)):
        with federation_for(site) as fed:
            fed.submit(source, f"{label}.py", rounds=1)
            site.steward.review_pending()
            fed.wait_for_approval(timeout_s=10)
            answer = fed._run_all("train", weights, {"epochs": 1, "seed": 0})["cleveland"]
        if label == "warm-up":
            continue
        assert answer.status == label, answer
        waited[label] = answer.wall_s
        if label == "released":
            assert answer.value["compute_s"] == round(wall + CONSTANT_TIME_MARGIN_S, 2)
    fixed = wall + CONSTANT_TIME_MARGIN_S
    assert all(fixed <= w < fixed + 0.5 for w in waited.values()), waited


def test_request_count_signal_counts_requests_and_never_hides_a_change(make_site, tmp_path):
    from datasite.server import DB_FILE, request_count_signal

    site = make_site()
    signal = request_count_signal(site.home.path / DB_FILE)
    assert signal() == 0
    with federation_for(site) as fed:
        fed.submit(HEART_MODULE.read_text(), "heart_logreg.py", rounds=1)
    assert signal() == 2, "train and evaluate are two requests"
    unreadable = request_count_signal(tmp_path / "missing.db")
    assert unreadable() != unreadable(), "when it cannot count, every answer is a change"


def test_background_steward_approves_new_requests_and_idles_without_syft_calls(make_site, monkeypatch):
    import time

    from syft.service.request.request import Request

    from datasite.server import DB_FILE, request_count_signal
    from datasite.steward import Steward

    site = make_site()
    steward = Steward(site.admin, site.home, change_signal=request_count_signal(site.home.path / DB_FILE))
    passes, statuses = [], []
    original_pass, original_status = steward.review_pending, Request.get_status
    monkeypatch.setattr(steward, "review_pending", lambda: passes.append(1) or original_pass())
    monkeypatch.setattr(Request, "get_status",
                        lambda self, *a, **k: statuses.append(1) or original_status(self, *a, **k))
    steward.start(interval_s=0.05)
    try:
        with federation_for(site) as fed:
            fed.submit(HEART_MODULE.read_text(), "heart_logreg.py", rounds=1)
            approved = fed.wait_for_approval(timeout_s=10)
        assert approved == ["cleveland/evaluate", "cleveland/train"]
        settled = len(passes)
        time.sleep(1.0)  # twenty intervals with nothing new
        assert len(passes) == settled, "the steward made syft calls while nothing changed"
        statuses.clear()
        steward.review_pending()
        assert statuses == [], "a pass asked syft the status of requests decided for good"
    finally:
        steward.stop()
    assert [e.event for e in site.home.audit.find("approved")] == ["approved", "approved"]


@contextlib.contextmanager
def approved_heart_module(site, rounds: int):
    """A scientist's federation over `site` whose demo module is approved for `rounds` rounds."""
    source = HEART_MODULE.read_text()
    with federation_for(site) as fed:
        fed.submit(source, "heart_logreg.py", rounds=rounds)
        site.steward.review_pending()
        fed.wait_for_approval(timeout_s=10)
        yield fed, load_module(source).init_weights({"seed": 0})


def test_a_request_runs_no_more_times_than_it_was_approved_for(make_site):
    """syft 0.9.5 ignores a spent OutputPolicyExecuteCount; the executor counts runs itself."""
    site = make_site()
    with approved_heart_module(site, rounds=2) as (fed, weights):
        statuses = [fed._run_all("train", weights, {"epochs": 1, "seed": i})["cleveland"] for i in range(4)]
        evaluations = [fed._run_all("evaluate", weights, {"seed": 0})["cleveland"] for _ in range(4)]
    assert [a.status for a in statuses] == ["released", "released", "blocked", "blocked"]
    assert "approved runs are used up" in statuses[2].reason
    assert [a.status for a in evaluations] == ["released"] * 3 + ["blocked"], "evaluate gets rounds + 1"
    events = site.home.audit.entries()
    assert sum(e.event == "run_started" for e in events) == 5
    assert sum(e.event == "blocked" and e.fields.get("stage") == "budget" for e in events) == 3


def test_the_run_budget_survives_a_restart_of_the_executor(make_site):
    from datasite.executor import Executor

    site = make_site()
    with approved_heart_module(site, rounds=1) as (fed, weights):
        assert fed._run_all("train", weights, {"seed": 0})["cleveland"].status == "released"
        code_id = str(fed.sites["cleveland"].requests["train"].code_id)
        restarted = Executor(site.home, site.executor.sandbox)
        assert restarted.runs_started(code_id) == 1, "counted again from the audit log"
        from datasite.executor import install

        install(restarted, str(site.worker.id))
        again = fed._run_all("train", weights, {"seed": 1})["cleveland"]
    assert again.status == "blocked" and "used up" in again.reason


def _concurrent_trains(site, rounds: int, calls: int) -> list:
    from concurrent.futures import ThreadPoolExecutor

    from scientist.federation import _run

    with approved_heart_module(site, rounds=rounds) as (fed, weights):
        handle = fed.sites["cleveland"]
        with ThreadPoolExecutor(calls) as pool:
            return list(pool.map(lambda i: _run(handle, "train", weights, {"seed": i}), range(calls)))


def test_concurrent_calls_cannot_overspend_the_budget(make_site):
    site = make_site()
    answers = _concurrent_trains(site, rounds=1, calls=4)
    assert sorted(a.status for a in answers) == ["blocked", "blocked", "blocked", "released"], answers
    assert sum(e.event == "run_started" for e in site.home.audit.entries()) == 1


def test_runs_beyond_max_concurrent_runs_wait_for_a_slot(make_site):
    site = make_site(policy=policy_text().replace("constant_time = false", "constant_time = false\n"
                                                                            "max_concurrent_runs = 1"))
    answers = _concurrent_trains(site, rounds=3, calls=3)
    assert [a.status for a in answers] == ["released"] * 3, answers
    events = [e.event for e in site.home.audit.entries() if e.event in ("run_started", "executed")]
    assert events == ["run_started", "executed"] * 3, "with one slot, each run ends before the next starts"


def test_submitting_the_same_module_again_makes_new_requests(make_site):
    """A scientist re-running a notebook cell got syft's raw "already exists for this UserCode"."""
    site = make_site()
    source = HEART_MODULE.read_text()
    with federation_for(site) as fed:
        first = fed.submit(source, "heart_logreg.py", rounds=1)["cleveland"]
        again = fed.submit(source, "heart_logreg.py", rounds=1)["cleveland"]
        assert set(first.values()).isdisjoint(again.values())
        site.steward.review_pending()
        fed.wait_for_approval(timeout_s=10)
    hashes = {e.fields["code_hash"] for e in site.home.audit.entries() if e.event == "approved"}
    assert len(hashes) == 1, "four requests, one module: one code hash"


def test_a_denial_lists_each_reason_once_with_where_it_applies():
    denied = SubmissionDenied({"a/train": "uses os", "a/evaluate": "uses os", "b/train": "too many rounds"},
                              undecided=["b/evaluate"])
    assert str(denied) == ("the code was denied on 2 datasite(s) (3 request(s)):\n"
                           "  a/train, a/evaluate: uses os\n  b/train: too many rounds\n"
                           "still undecided: b/evaluate")


def test_past_decision_says_who_decided_when_and_why(make_site):
    from datasite.steward import StewardError

    site = make_site(policy=policy_text(mode="human"))
    with federation_for(site) as fed:
        fed.submit(HEART_MODULE.read_text(), "heart_logreg.py", rounds=2)
        site.steward.review_pending()
        (first, _), (second, _) = site.steward.pending()
        assert site.steward.past_decision(str(first.id)) is None  # still pending
        site.steward.deny(str(first.id), "wait for the ethics board")
        site.steward.approve(str(second.id.no_dash))
    denied = site.steward.past_decision(str(first.id))
    assert (denied.outcome, denied.by, denied.reason) == ("denied", "human", "wait for the ethics board")
    assert denied.at is not None
    approved = site.steward.past_decision(str(second.id))
    assert (approved.outcome, approved.by) == ("approved", "human")
    with pytest.raises(StewardError, match="no request nosuch on this datasite"):
        site.steward.past_decision("nosuch")
