"""The owner's steward: reviews every code request against the datasite's policy.

It denies, with the findings, what breaks the policy; approves automatically what
the policy lets through without a human; and leaves the rest, with its review
report, for a human (`fedsyft datasite review|approve|deny` or the review
notebook). Every decision is written to the audit log, and the audit log is
what makes a restarted steward resume without deciding anything twice.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from datasite.home import DatasiteHome
from policies.policy import Policy
from policies.review import ReviewReport, format_report, review
from policies.submission import SPLIT, Submission, SubmissionError, parse, runs_for

log = logging.getLogger("fedsyft.steward")
_RECOVERY_GRACE_S = 5.0
SAFETY_PASS_S = 10.0  # a full pass at least this often, even when the change signal is quiet
_NOTHING = object()


class StewardError(ValueError):
    """A human decision the steward refuses (unknown request, code that breaks the policy)."""


@dataclass(frozen=True)
class Decision:
    """What the steward did with one request."""

    request_id: str
    outcome: str  # "approved" | "denied" | "needs_human"
    reason: str
    code_hash: str | None = None


@dataclass(frozen=True)
class PastDecision:
    """Who decided a request that is no longer pending, when and why."""

    request_id: str
    outcome: str  # "approved" | "denied"
    by: str  # "human", "steward", or "someone outside fedsyft" (no audit entry)
    at: str | None  # the audit entry's UTC timestamp
    reason: str | None


class Steward:
    """Reviews the code requests of one datasite through an admin syft client."""

    def __init__(
        self, client: Any, home: DatasiteHome, *, change_signal: Callable[[], object] | None = None
    ) -> None:
        """`change_signal`, if given, is a cheap call whose value changes when a request arrives.

        The background loop then makes a full pass (which costs syft calls) only when the
        signal changes, and every `SAFETY_PASS_S` seconds anyway.
        """
        self.client = client
        self.home = home
        self.change_signal = change_signal
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._decided_elsewhere: dict[str, float] = {}  # request id -> when first seen decided
        self._final: set[str] | None = None  # requests approved or denied, as the audit log says
        self._needs_human: set[str] = set()  # reviewed, left to a human, not decided yet
        self._pass_lock = threading.Lock()

    # --- one pass ------------------------------------------------------------------

    def review_pending(self) -> list[Decision]:
        """Decide every pending request not decided before; return what was decided now."""
        from syft.service.request.request import RequestStatus

        with self._pass_lock:
            final = self._final_ids()
            decisions = []
            for request in self.client.requests.get_all():
                request_id = str(request.id)
                if request_id in final:
                    continue  # decided for good: not worth the syft calls of get_status
                status = request.get_status()
                if status != RequestStatus.PENDING:
                    self._record_recovered(request, status)
                elif request_id not in self._needs_human:
                    decisions.append(self._decide(request))
            return decisions

    def _decide(self, request: Any) -> Decision:
        policy = self.home.policy()
        request_id = str(request.id)
        email = str(request.requesting_user_email)
        self.home.audit.append("submitted", request_id=request_id, submitter=email)
        submission, report, problems = self.assess(request, policy)
        code_hash = submission.code_hash if submission else None
        if report is not None:
            self.home.write_review(request_id, report, submitter=email, problems=problems)
        self.home.audit.append(
            "reviewed", request_id=request_id, submitter=email, code_hash=code_hash,
            verdict=report.verdict if report else "rejected",
            findings=len(report.findings) if report else 0, problems=problems,
        )
        if problems or report is None or not report.passed:
            reason = "; ".join(problems) or _findings_text(report)
            return self._deny(request, reason, by="steward", code_hash=code_hash)
        if policy.approval.mode == "auto":
            return self._approve(request, by="steward", code_hash=code_hash, why="policy allows automatic approval")
        if policy.approval.auto_approve_known_hashes and code_hash in self._human_approved_hashes():
            return self._approve(request, by="steward", code_hash=code_hash,
                                 why="a human approved this exact code before")
        self._needs_human.add(request_id)
        return Decision(request_id, "needs_human", "the policy asks a human to approve", code_hash)

    def assess(
        self, request: Any, policy: Policy
    ) -> tuple[Submission | None, ReviewReport | None, list[str]]:
        """Review a request: its submission, the code review, and request-level problems."""
        problems: list[str] = []
        try:
            submission = parse(request.code.raw_code)
        except SubmissionError as err:
            return None, None, [f"not a fedsyft submission: {err}"]
        report = review(submission.source, policy, required=(submission.entrypoint,))
        email = str(request.requesting_user_email)
        if not policy.allows_submitter(email):
            problems.append(f"{email} is not allowed to submit code to this datasite")
        problems.extend(_policy_problems(request.code, submission, policy))
        problems.extend(_input_problems(request.code, submission, self._asset_ids(), self._server_id()))
        return submission, report, problems

    def _asset_ids(self) -> dict[str, set[str]]:
        """Action ids of this datasite's assets by split name ("train", "test")."""
        by_split: dict[str, set[str]] = {}
        for dataset in self.client.api.services.dataset.get_all():
            for asset in dataset.asset_list:
                by_split.setdefault(asset.name, set()).add(str(asset.action_id))
        return by_split

    def _server_id(self) -> str:
        return str(self.client.api.server_uid)

    # --- human decisions -----------------------------------------------------------

    def approve(self, request_id: str, *, by: str = "human") -> Decision:
        """A human approves a pending request; refused when the code breaks the policy."""
        request = self._pending(request_id)
        submission, report, problems = self.assess(request, self.home.policy())
        if problems or report is None or not report.passed:
            reason = "; ".join(problems) or _findings_text(report)
            raise StewardError(f"request {request_id} breaks the policy and cannot be approved: {reason}")
        return self._approve(request, by=by, code_hash=submission.code_hash, why="approved by a human")

    def deny(self, request_id: str, reason: str, *, by: str = "human") -> Decision:
        """A human denies a pending request with a reason the scientist will read."""
        if not reason.strip():
            raise StewardError("a denial needs a reason the scientist can act on")
        request = self._pending(request_id)
        try:
            code_hash = parse(request.code.raw_code).code_hash
        except SubmissionError:
            code_hash = None
        return self._deny(request, reason, by=by, code_hash=code_hash)

    def past_decision(self, request_id: str) -> PastDecision | None:
        """None while the request is pending; else who decided it, when and why (audit log first)."""
        from syft.service.request.request import RequestStatus

        request = self._find(request_id)
        status = request.get_status()
        if status == RequestStatus.PENDING:
            return None
        outcome = "approved" if status == RequestStatus.APPROVED else "denied"
        entries = self.home.audit.find(outcome, request_id=str(request.id))
        entry = entries[-1] if entries else None
        fields = entry.fields if entry else {}
        reason = fields.get("reason")
        if outcome == "denied" and not reason:
            reason = _syft_deny_reason(request)
        return PastDecision(str(request.id), outcome, fields.get("by", "someone outside fedsyft"),
                            entry.ts if entry else None, reason)

    def pending(self) -> list[tuple[Any, dict | None]]:
        """Pending requests with their stored review reports."""
        from syft.service.request.request import RequestStatus

        return [
            (r, self.home.read_review(str(r.id)))
            for r in self.client.requests.get_all()
            if r.get_status() == RequestStatus.PENDING
        ]

    # --- background loop -----------------------------------------------------------

    def start(self, interval_s: float = 0.25) -> None:
        """Look for new requests every `interval_s` seconds in a daemon thread and review them."""
        def loop() -> None:
            seen: object = _NOTHING
            last_pass = -float("inf")
            while not self._stop.wait(interval_s):
                try:
                    signal = self.change_signal() if self.change_signal else _NOTHING
                    if (signal is _NOTHING or signal != seen
                            or time.monotonic() - last_pass >= SAFETY_PASS_S):
                        self.review_pending()
                        seen, last_pass = signal, time.monotonic()
                except Exception:  # keep serving; the next pass retries
                    log.exception("steward pass failed")

        self._thread = threading.Thread(target=loop, name="fedsyft-steward", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the background loop."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    # --- internals -----------------------------------------------------------------

    def _pending(self, request_id: str) -> Any:
        from syft.service.request.request import RequestStatus

        request = self._find(request_id)
        if request.get_status() != RequestStatus.PENDING:
            raise StewardError(f"request {request_id} is not pending")
        return request

    def _find(self, request_id: str) -> Any:
        for request in self.client.requests.get_all():
            if str(request.id) == request_id or str(request.id.no_dash) == request_id:
                return request
        raise StewardError(f"no request {request_id} on this datasite")

    def _approve(self, request: Any, *, by: str, code_hash: str | None, why: str) -> Decision:
        _unwrap(request.approve(disable_warnings=True))
        request_id = str(request.id)
        self.home.audit.append("approved", request_id=request_id, code_hash=code_hash, by=by, reason=why)
        self._mark_final(request_id)
        return Decision(request_id, "approved", why, code_hash)

    def _deny(self, request: Any, reason: str, *, by: str, code_hash: str | None) -> Decision:
        _unwrap(request.deny(reason=reason[:2000]))
        request_id = str(request.id)
        self.home.audit.append("denied", request_id=request_id, code_hash=code_hash, by=by, reason=reason)
        self._mark_final(request_id)
        return Decision(request_id, "denied", reason, code_hash)

    def _final_ids(self) -> set[str]:
        """Requests decided for good; read from the audit log once, then kept up to date here."""
        if self._final is None:
            decided = self._decided_request_ids()
            self._final, self._needs_human = decided["final"], decided["needs_human"]
        return self._final

    def _mark_final(self, request_id: str) -> None:
        self._final_ids().add(request_id)
        self._needs_human.discard(request_id)

    def _decided_request_ids(self) -> dict[str, set[str]]:
        final, needs_human = set(), set()
        for entry in self.home.audit.entries():
            rid = entry.fields.get("request_id")
            if entry.event in ("approved", "denied"):
                final.add(rid)
            elif entry.event == "reviewed":
                needs_human.add(rid)
        return {"final": final, "needs_human": needs_human - final}

    def _human_approved_hashes(self) -> set[str]:
        return {
            e.fields.get("code_hash")
            for e in self.home.audit.find("approved")
            if e.fields.get("by") == "human"
        }

    def _record_recovered(self, request: Any, status: Any) -> None:
        """A decision made outside the steward (or before a crash): write it down once.

        A human deciding from another process writes its own entry just after syft's
        status changes, so wait a grace period before recording it here.
        """
        from syft.service.request.request import RequestStatus

        request_id = str(request.id)
        first_seen = self._decided_elsewhere.setdefault(request_id, time.monotonic())
        if time.monotonic() - first_seen < _RECOVERY_GRACE_S:
            return
        if request_id not in self._decided_request_ids()["final"]:  # another process may have written it
            event = "approved" if status == RequestStatus.APPROVED else "denied"
            self.home.audit.append(event, request_id=request_id, by="syft", recovered=True)
        self._mark_final(request_id)
        self._decided_elsewhere.pop(request_id, None)


def _policy_problems(code: Any, submission: Submission, policy: Policy) -> list[str]:
    """Request-level checks: standard syft policies, and rounds within the budget."""
    from syft.service.policy.policy import MixedInputPolicy, OutputPolicyExecuteCount

    problems = []
    if code.input_policy_type is not MixedInputPolicy:
        problems.append("the input policy must be fedsyft's (MixedInputPolicy): custom policy code never runs here")
    if code.output_policy_type is not OutputPolicyExecuteCount:
        problems.append("the output policy must be an execution count (OutputPolicyExecuteCount)")
    else:
        limit = (code.output_policy_init_kwargs or {}).get("limit")
        budget = runs_for(submission.entrypoint, policy.training.max_rounds)
        if not isinstance(limit, int) or not 1 <= limit <= budget:
            problems.append(f"the request asks for {limit} runs; the policy allows {budget}")
    if list(code.input_kwargs) != ["data", "weights", "config"]:
        problems.append("the function must take (data, weights, config)")
    return problems


def _input_problems(code: Any, submission: Submission, asset_ids: dict[str, set[str]], server_id: str) -> list[str]:
    """The request's input rules must be exactly those fedsyft's scientist side makes.

    `data` matches one of this datasite's assets of the entrypoint's split; `weights` and
    `config` are the scientist's own dicts. Anything else is refused: a red team's hand-built
    `Constant` rule made syft load the private asset itself and quote it in an error.
    """
    from syft.service.policy.policy import Matches, UserOwned

    kwargs = code.input_policy_init_kwargs or {}
    if len(kwargs) != 1:
        return ["the input policy must name exactly this datasite"]
    (identity, rules), = kwargs.items()
    if str(getattr(identity, "server_id", "")) != server_id:
        return ["the input policy names another datasite"]
    if not isinstance(rules, dict) or set(rules) != {"data", "weights", "config"}:
        return ["the input policy must have rules for data, weights and config only"]
    problems = []
    split = SPLIT[submission.entrypoint]
    data = rules["data"]
    if type(data) is not Matches or str(getattr(data, "val", "")) not in asset_ids.get(split, set()):
        problems.append(f"`data` of {submission.entrypoint} must be one of this datasite's {split} assets")
    for name in ("weights", "config"):
        rule = rules[name]
        if type(rule) is not UserOwned or getattr(rule, "type", None) is not dict:
            problems.append(f"`{name}` must be the scientist's own dict")
    return problems


def _findings_text(report: ReviewReport | None) -> str:
    if report is None:
        return "no review"
    return format_report(report)


def _unwrap(result: Any) -> Any:
    from syft.service.response import SyftError

    if isinstance(result, SyftError):
        raise StewardError(str(result.message))
    return result


def _syft_deny_reason(request: Any) -> str | None:
    """The reason syft keeps for a denial made around fedsyft (no audit entry of its own)."""
    try:
        reason = request.deny_reason
    except Exception:  # syft raises its own kinds for a code it cannot resolve
        return None
    return reason if isinstance(reason, str) and reason else None
