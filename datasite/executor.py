"""Runs approved submissions on private data: the owner's side of every round.

syft 0.9.5 executes user code inside the server process with `exec`. On a
fedsyft datasite that function is replaced (:func:`install`) so that every
execution goes: fedsyft submission check -> policy review -> input checks ->
sandboxed child process with the policy's limits -> output gate -> audit log.
What reaches the scientist is a plain dict with a `status` of "released",
"blocked" or "failed" and a reason, never the content of a blocked result,
nor logs or exception messages unless the policy releases logs.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from typing import Any

import numpy as np
import pandas as pd

from datasite.home import DatasiteHome
from datasite.sandbox import Limits, Sandbox
from datasite.stash import stash_value
from policies.gate import OutputGate
from policies.policy import Policy
from policies.review import ReviewReport, review
from policies.submission import Submission, SubmissionError, parse, runs_for

log = logging.getLogger("fedsyft.executor")

# kernel layers without which private data is not handed to submitted code (fail closed)
REQUIRED_CONFINEMENT = ("netns", "landlock", "seccomp", "rlimits", "audit-hook")
_CONFIG_MAX_KEYS = 32
_CONFIG_MAX_STR = 200
_KIND = {"train": "model_update", "evaluate": "metrics"}
# under a constant-time policy, answers leave this long after the wall-time limit: enough for
# the sandbox to notice a timeout, kill the run and reap it, so timeouts are not early or late
CONSTANT_TIME_MARGIN_S = 1.0


class Executor:
    """Executes fedsyft submissions for one datasite."""

    def __init__(self, home: DatasiteHome, sandbox: Sandbox | None = None) -> None:
        self.home = home
        self.sandbox = sandbox or Sandbox(workdir_root=None)
        self._reviews: dict[tuple[str, str, str], ReviewReport] = {}
        self._lock = threading.Lock()
        self._runs: dict[str, int] | None = None  # code id -> runs started, from the audit log
        self._running = 0
        self._slot_free = threading.Condition()

    def review(self, submission: Submission, policy: Policy) -> ReviewReport:
        """The (cached) review of a submission under the installed policy."""
        key = (submission.code_hash, submission.entrypoint, policy.sha256)
        with self._lock:
            if key not in self._reviews:
                self._reviews[key] = review(submission.source, policy, required=(submission.entrypoint,))
            return self._reviews[key]

    def run(
        self, raw_code: str, kwargs: dict[str, Any], *, submitter: str, code_id: str, run_limit: object = None
    ) -> dict:
        """Run one request's code on private inputs; return what the scientist may see.

        `run_limit` is the number of runs the approved request asked for (its syft output
        policy's limit); the executor counts runs itself, since syft 0.9.5 does not stop a
        request whose count is spent.
        """
        policy = self.home.policy()
        audit = self.home.audit
        try:
            submission = parse(raw_code)
        except SubmissionError as err:
            audit.append("blocked", code_id=code_id, submitter=submitter, stage="submission",
                         reason=str(err))
            return _refusal("blocked", f"not a fedsyft submission: {err}")
        base = {"code_id": code_id, "code_hash": submission.code_hash, "submitter": submitter,
                "entrypoint": submission.entrypoint}
        report = self.review(submission, policy)
        if not report.passed:
            audit.append("blocked", **base, stage="review", reason="code does not pass review")
            return _refusal("blocked", "the code does not pass this datasite's policy review")
        if not policy.allows_submitter(submitter):
            audit.append("blocked", **base, stage="submitter", reason="submitter not allowed")
            return _refusal("blocked", f"{submitter} may not run code on this datasite")
        problem = _check_inputs(kwargs, policy, submission.entrypoint)
        if problem:
            audit.append("blocked", **base, stage="inputs", reason=problem)
            return _refusal("blocked", problem)

        with self._run_slot(policy.limits.max_concurrent_runs):
            budget = _run_budget(run_limit, policy, submission.entrypoint)
            if not self._reserve_run(code_id, budget):
                audit.append("blocked", **base, stage="budget", reason=f"all {budget} runs of this request used")
                return _refusal("blocked", f"this request's {budget} approved runs are used up; submit again")
            started = time.perf_counter()
            try:
                audit.append("run_started", **base, rows=len(kwargs["data"]), budget=budget)
                answer = self._run_confined(submission, kwargs, policy, base, started)
            except Exception:
                # whatever failed after the run began, the owner's log says a run took place
                log.exception("fedsyft executor failed during a run of %s", code_id)
                audit.append("failed", **base, stage="executor", status="executor_error")
                answer = _refusal("failed", "the datasite failed to run the code; its owner has the details")
            finally:
                if policy.limits.constant_time:
                    # every outcome (released, blocked, failed, even an executor error) leaves at
                    # the same moment, so the run's duration carries nothing the code chose
                    _sleep_until(started + policy.limits.wall_time_s + CONSTANT_TIME_MARGIN_S)
        if policy.limits.constant_time and "compute_s" in answer:
            answer["compute_s"] = round(policy.limits.wall_time_s + CONSTANT_TIME_MARGIN_S, 2)
        return answer

    def runs_started(self, code_id: str) -> int:
        """How many runs of a request have started on this datasite (restarts included)."""
        with self._lock:
            return self._run_counts().get(code_id, 0)

    def _reserve_run(self, code_id: str, budget: int) -> bool:
        """Count one more run of `code_id` if its budget allows; False when it is spent."""
        with self._lock:
            counts = self._run_counts()
            if counts.get(code_id, 0) >= budget:
                return False
            counts[code_id] = counts.get(code_id, 0) + 1
            return True

    def _run_counts(self) -> dict[str, int]:
        if self._runs is None:  # once per process: the audit log survives restarts
            self._runs = {}
            for entry in self.home.audit.entries():
                if entry.event == "run_started":
                    code = str(entry.fields.get("code_id"))
                    self._runs[code] = self._runs.get(code, 0) + 1
        return self._runs

    @contextlib.contextmanager
    def _run_slot(self, capacity: int):
        """Wait for one of the datasite's `capacity` run slots."""
        with self._slot_free:
            self._slot_free.wait_for(lambda: self._running < capacity)
            self._running += 1
        try:
            yield
        finally:
            with self._slot_free:
                self._running -= 1
                self._slot_free.notify_all()

    def _run_confined(
        self, submission: Submission, kwargs: dict[str, Any], policy: Policy, base: dict, started: float
    ) -> dict:
        """Sandbox, record, gate and audit one run whose code and inputs passed every check."""
        audit = self.home.audit
        data: pd.DataFrame = kwargs["data"]
        weights: dict[str, np.ndarray] = kwargs["weights"]
        limits = Limits(
            wall_time_s=policy.limits.wall_time_s, cpu_time_s=policy.limits.cpu_time_s,
            memory_mb=policy.limits.memory_mb, result_bytes=policy.limits.result_bytes,
        )
        outcome = self.sandbox.run(
            submission.source, submission.entrypoint, data, weights, dict(kwargs["config"]), limits
        )
        run_id = self.home.record_execution(
            **base, status=outcome.status, stdout=outcome.stdout, stderr=outcome.stderr,
            error=outcome.error, wall_s=outcome.wall_s, cpu_s=outcome.cpu_s,
            confinement=list(outcome.confinement),
        )
        audit.append("executed", **base, run_id=run_id, status=outcome.status,
                     rows=len(data), wall_s=round(outcome.wall_s, 3), cpu_s=round(outcome.cpu_s, 3),
                     confinement=list(outcome.confinement))
        logs = _logs(outcome) if policy.logs.release_to_scientist else None
        missing = missing_confinement(outcome.confinement)
        if outcome.status == "ok" and missing:
            audit.append("blocked", **base, run_id=run_id, stage="sandbox",
                         reason=f"sandbox layers missing: {missing}")
            return _refusal("failed", "the datasite could not confine the run; nothing is released")
        if outcome.status != "ok":
            audit.append("failed", **base, run_id=run_id, status=outcome.status)
            return _refusal("failed", f"the run ended with status {outcome.status!r}", logs=logs)

        decision = OutputGate(policy).check(
            _KIND[submission.entrypoint], outcome.value, global_weights=weights, n_rows=len(data)
        )
        if not decision.released:
            audit.append("blocked", **base, run_id=run_id, stage="gate", reason=decision.detail)
            return _refusal("blocked", f"output gate: {decision.reason}", logs=logs)
        audit.append("released", **base, run_id=run_id, kind=decision.kind,
                     num_examples=decision.value["num_examples"], clipped=decision.clipped,
                     update_norm=decision.update_norm)
        return {
            "status": "released",
            "kind": decision.kind,
            **decision.value,
            "clipped": decision.clipped,
            # coarse on purpose: compute time is a (small) timing channel
            "compute_s": round(time.perf_counter() - started, 2),
            **({"logs": logs} if logs is not None else {}),
        }

    def warm(self) -> list[str]:
        """Start the sandbox's fork server and self-test it; return the missing confinement layers.

        A non-empty answer means this machine cannot confine runs: every run will fail
        closed (nothing is released), so the datasite's owner should hear it at launch.
        """
        outcome = self.sandbox.warm()
        if outcome.status != "ok":
            return [f"self-test run ended with status {outcome.status!r}"]
        return missing_confinement(outcome.confinement)

    def close(self) -> None:
        """Stop the sandbox's worker processes."""
        self.sandbox.close()


def _run_budget(run_limit: object, policy: Policy, entrypoint: str) -> int:
    """Runs a request may make: what it asked for, never more than the policy allows now."""
    allowed = runs_for(entrypoint, policy.training.max_rounds)
    if isinstance(run_limit, bool) or not isinstance(run_limit, int) or run_limit < 1:
        return 0
    return min(run_limit, allowed)


def missing_confinement(layers: tuple[str, ...]) -> list[str]:
    """Required sandbox layers that did not take effect in a run."""
    return [req for req in REQUIRED_CONFINEMENT if not any(layer.startswith(req) for layer in layers)]


def _sleep_until(moment: float) -> None:
    """Sleep until time.perf_counter() reaches `moment`."""
    while (left := moment - time.perf_counter()) > 0:
        time.sleep(left)


def _refusal(status: str, reason: str, logs: dict | None = None) -> dict:
    return {"status": status, "reason": reason, **({"logs": logs} if logs is not None else {})}


def _logs(outcome: Any) -> dict:
    return {"stdout": outcome.stdout, "stderr": outcome.stderr}


def _check_inputs(kwargs: dict[str, Any], policy: Policy, entrypoint: str) -> str:
    """Why the call's inputs are not acceptable, or '' when they are."""
    if set(kwargs) != {"data", "weights", "config"}:
        return f"the call must pass data, weights and config, got {sorted(kwargs)}"
    if not isinstance(kwargs["data"], pd.DataFrame):
        return "`data` must be a private dataset asset of this datasite"
    weights = kwargs["weights"]
    if not isinstance(weights, dict) or not weights:
        return "`weights` must be a non-empty dict of arrays"
    total = 0
    for name, array in weights.items():
        if not isinstance(name, str) or not isinstance(array, np.ndarray):
            return "`weights` must map names to numpy arrays"
        if array.dtype.kind != "f" or not np.isfinite(array).all():
            return f"weights[{name!r}] must be finite floating-point values"
        total += array.nbytes
    if total > policy.limits.result_bytes:
        return f"the global weights are {total} bytes, the policy allows {policy.limits.result_bytes}"
    config = kwargs["config"]
    if not isinstance(config, dict) or len(config) > _CONFIG_MAX_KEYS:
        return f"`config` must be a dict of at most {_CONFIG_MAX_KEYS} settings"
    for key, value in config.items():
        if not isinstance(key, str) or not isinstance(value, bool | int | float | str):
            return "`config` values must be numbers, booleans or short strings"
        if isinstance(value, str) and len(value) > _CONFIG_MAX_STR:
            return f"config[{key!r}] is longer than {_CONFIG_MAX_STR} characters"
    epochs = config.get("epochs", 1)
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        return "config['epochs'] must be a positive integer"
    if entrypoint == "train" and epochs > policy.training.max_epochs:
        return f"config['epochs'] is {epochs}, the policy allows {policy.training.max_epochs}"
    return ""


# --- wiring into syft 0.9.5 -------------------------------------------------------------

_twin = threading.local()
_executors: dict[str, Executor] = {}  # server id -> the executor of that datasite


def install(executor: Executor, server_id: str) -> None:
    """Route every syft code execution of datasite `server_id` through `executor`."""
    from syft.service.action import action_service
    from syft.service.code.user_code import UserCodeExecutionOutput
    from syft.service.policy import policy as syft_policy
    from syft.types.twin_object import TwinMode

    first = not _executors
    _executors[str(server_id)] = executor
    if not first:
        return
    original_filter = action_service.filter_twin_kwargs

    def filter_twin_kwargs(kwargs: dict, twin_mode: Any, allow_python_types: bool = False) -> Any:
        _twin.mode = twin_mode  # execute_byte_code runs next, on this thread
        return original_filter(kwargs, twin_mode=twin_mode, allow_python_types=allow_python_types)

    def execute_byte_code(code_item: Any, kwargs: dict[str, Any], context: Any) -> Any:
        mode = getattr(_twin, "mode", None)
        _twin.mode = None
        executor = _executors.get(str(context.server.id))
        if executor is None:
            # a syft server in this process without fedsyft's executor runs nothing
            result = {"status": "blocked", "reason": "this server has no fedsyft executor"}
        elif mode == TwinMode.MOCK:
            # the scientist runs submissions on mock data locally; the datasite spends nothing on it
            result = {"status": "mock", "reason": "fedsyft runs submissions on private data only"}
        else:
            try:
                submitter = _submitter_email(context, code_item)
                result = executor.run(
                    code_item.raw_code, kwargs, submitter=submitter, code_id=str(code_item.id),
                    run_limit=(code_item.output_policy_init_kwargs or {}).get("limit"),
                )
            except Exception:  # an exception's text could quote private data: the owner's log only
                log.exception("fedsyft executor failed on code %s", code_item.id)
                result = _refusal("failed", "the datasite failed to run the code; its owner has the details")
        return UserCodeExecutionOutput(
            user_code_id=code_item.id, stdout="", stderr="", result=result, errored=False
        )

    def refuse_policy_code(user_policy: Any) -> Any:
        raise RuntimeError("fedsyft datasites never run scientist-defined policy code")

    action_service.filter_twin_kwargs = filter_twin_kwargs
    action_service.execute_byte_code = execute_byte_code
    syft_policy.execute_policy_code = refuse_policy_code
    _keep_small_results_in_the_database()


INLINE_RESULT_MAX_BYTES = 1 << 20  # syft's own default blob threshold for launched servers


def _keep_small_results_in_the_database() -> None:
    """Store a run's (small) result in the action store instead of a blob file.

    A fedsyft datasite's blob store has no minimum size, so that datasets (DataFrames)
    always live in blob files: syft re-renders the repr of a DataFrame kept in the
    database every time it loads it. For anything else under 1 MB (every released
    result) the blob costs the datasite a metadata call, an allocation and a file write
    per run, and the scientist a second read per fetch: ~0.1 s of CPU per run.
    """
    from syft.service.action import action_object
    from syft.util.util import get_mb_serialized_size

    original = action_object.can_upload_to_blob_storage
    if getattr(original, "fedsyft", False):
        return

    from syft.types.result import Ok

    def can_upload_to_blob_storage(data: Any, metadata: Any) -> Any:
        if isinstance(data, pd.DataFrame):
            return original(data, metadata)
        return Ok(get_mb_serialized_size(data) * (1 << 20) >= INLINE_RESULT_MAX_BYTES)

    can_upload_to_blob_storage.fedsyft = True  # type: ignore[attr-defined]
    action_object.can_upload_to_blob_storage = can_upload_to_blob_storage


def uninstall(server_id: str) -> None:
    """Forget the executor of a stopped datasite."""
    _executors.pop(str(server_id), None)


def _submitter_email(context: Any, code_item: Any) -> str:
    """The email of the user who submitted the code."""
    stash = context.server.services.user.stash
    user = stash_value(stash.get_by_verify_key(context.server.verify_key, code_item.user_verify_key))
    return str(user.email)
