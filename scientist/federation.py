"""The scientist's side: connect to datasites, submit a module, run federated rounds.

Every call to the datasites goes out in parallel (one thread per site). A site
answers each run with a dict whose `status` is "released", "blocked" or
"failed"; only released results are aggregated, and a round needs a quorum.

The per-round call path is kept short, because on a datasite every syft call
costs CPU (signing, serialisation, database lookups) that competes with training:
the remote function is resolved once per site, small inputs travel inline in one
`action.set` instead of syft's four-call blob-storage upload, an input identical to
one already uploaded to that site (the config of every round, the weights that
`evaluate` and the next round share) is not uploaded again, and the result is
fetched with one `action.get` (plus a blob read when the site stored it there).
See benchmarks/README.md for the measurements.
"""

from __future__ import annotations

import hashlib
import inspect
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from policies.submission import ENTRYPOINTS, SPLIT, Submission, build, runs_for
from scientist.strategies import fedavg

Weights = dict[str, np.ndarray]


class FederationError(RuntimeError):
    """Something about the federation as a whole failed; the message names the site(s)."""


def group_denials(reasons: dict[str, str]) -> dict[str, list[str]]:
    """Each distinct reason once, with the "site/entrypoint"s it came from (the same review
    report usually comes from every site)."""
    groups: dict[str, list[str]] = {}
    for where, why in reasons.items():
        groups.setdefault(why.strip() or "denied by the data owner", []).append(where)
    return groups


def denial_headline(reasons: dict[str, str]) -> str:
    """"the code was denied on N datasite(s) (M request(s)):" for `reasons` by "site/entrypoint"."""
    sites = len({where.split("/")[0] for where in reasons})
    return f"the code was denied on {sites} datasite(s) ({len(reasons)} request(s)):"


class SubmissionDenied(FederationError):
    """At least one datasite denied the code; `reasons` maps "site/entrypoint" to the owner's reason."""

    def __init__(self, reasons: dict[str, str], undecided: list[str] | None = None) -> None:
        self.reasons = reasons
        self.undecided = list(undecided or [])
        lines = "\n".join(f"  {', '.join(where)}: {why}" for why, where in group_denials(reasons).items())
        pending = f"\nstill undecided: {', '.join(self.undecided)}" if self.undecided else ""
        super().__init__(f"{denial_headline(reasons)}\n{lines}{pending}")


@dataclass
class Site:
    """One connected datasite and the assets of the dataset used on it."""

    name: str
    url: str
    client: Any
    train: Any
    test: Any
    functions: dict[str, str] = field(default_factory=dict)  # entrypoint -> syft function name
    requests: dict[str, Any] = field(default_factory=dict)
    # call-path caches: syft function name -> remote function; input fingerprint -> pointer
    remote: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    uploads: OrderedDict = field(default_factory=OrderedDict, repr=False, compare=False)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)


@dataclass(frozen=True)
class SiteAnswer:
    """What one site answered to one run."""

    site: str
    status: str  # "released" | "blocked" | "failed" | "error"
    value: dict
    reason: str
    wall_s: float


@dataclass(frozen=True)
class RoundResult:
    """One round of training: the new global weights and what each site answered."""

    round: int
    weights: Weights
    answers: dict[str, SiteAnswer]
    wall_s: float
    compute_s: float  # the longest time a site spent inside the training code

    @property
    def released(self) -> list[str]:
        """Sites whose update was released and aggregated."""
        return [s for s, a in self.answers.items() if a.status == "released"]


@dataclass(frozen=True)
class Evaluation:
    """Federated evaluation: summed counts over every site's test split."""

    answers: dict[str, SiteAnswer]
    correct: int
    examples: int
    loss_sum: float
    wall_s: float

    @property
    def accuracy(self) -> float:
        """Correct predictions over all examples."""
        return self.correct / self.examples if self.examples else 0.0

    @property
    def loss(self) -> float:
        """Mean loss per example."""
        return self.loss_sum / self.examples if self.examples else 0.0

    def per_site_accuracy(self) -> dict[str, float]:
        """Accuracy on each site's own test split."""
        out = {}
        for site, answer in self.answers.items():
            if answer.status == "released" and answer.value["num_examples"]:
                out[site] = answer.value["metrics"]["correct"] / answer.value["num_examples"]
        return out


class Federation:
    """A scientist's connections to several datasites holding the same kind of data."""

    def __init__(self, sites: Sequence[Site], quorum: int | None = None) -> None:
        if not sites:
            raise FederationError("a federation needs at least one datasite")
        self.sites = {s.name: s for s in sites}
        self.quorum = len(sites) if quorum is None else quorum
        if not 1 <= self.quorum <= len(sites):
            raise FederationError(f"quorum must be between 1 and {len(sites)}, got {quorum}")
        self._pool = ThreadPoolExecutor(max_workers=len(sites), thread_name_prefix="fedsyft-site")

    # --- connecting ------------------------------------------------------------------

    @classmethod
    def connect(
        cls, urls: dict[str, str], email: str, password: str, *, dataset: str = "heart",
        quorum: int | None = None,
    ) -> Federation:
        """Log in to every datasite (in parallel) and find the dataset's train/test assets."""
        with ThreadPoolExecutor(max_workers=max(1, len(urls))) as pool:
            futures = {n: pool.submit(_connect_site, n, u, email, password, dataset) for n, u in urls.items()}
            sites, errors = [], {}
            for name, future in futures.items():
                try:
                    sites.append(future.result())
                except Exception as err:  # report every site, not just the first
                    errors[name] = str(err)
        if errors:
            lines = "\n".join(f"  {n} ({urls[n]}): {e}" for n, e in errors.items())
            raise FederationError(f"could not connect to {len(errors)} datasite(s):\n{lines}")
        return cls(sites, quorum=quorum)

    def mocks(self, split: str = "train") -> dict[str, Any]:
        """The synthetic mock of a split on every site (no private row is ever here)."""
        return {n: getattr(s, split).mock for n, s in self.sites.items()}

    # --- submitting ------------------------------------------------------------------

    def submit(self, source: str, filename: str, *, rounds: int) -> dict[str, dict[str, str]]:
        """Request approval of the module's train and evaluate on every site."""
        from syft.service.policy.policy import OutputPolicyExecuteCount

        nonce = secrets.token_hex(4)  # a new request each time, even for a module submitted before

        def one(site: Site) -> dict[str, str]:
            ids = {}
            for entrypoint in ENTRYPOINTS:
                submission = build(source, entrypoint, filename, nonce)
                asset = getattr(site, SPLIT[entrypoint])
                limit = runs_for(entrypoint, rounds)
                request = _request(site.client, submission, asset, OutputPolicyExecuteCount(limit=limit))
                site.functions[entrypoint] = submission.func_name
                site.requests[entrypoint] = request
                ids[entrypoint] = str(request.id)
            return ids

        return self._each(one)

    def wait_for_approval(
        self, timeout_s: float = 120.0, poll_s: float = 0.25, denial_grace_s: float = 5.0
    ) -> list[str]:
        """Block until every request is approved; return them as "site/entrypoint".

        Raises SubmissionDenied with the owners' reasons when any is denied. After the
        first denial it keeps asking the other sites for up to `denial_grace_s` seconds,
        so the error lists every owner that denied the code, not only the quickest.
        """
        from syft.service.request.request import RequestStatus

        deadline = time.monotonic() + timeout_s
        # a request seen decided is not asked again: each status costs its site two calls
        approved: set[tuple[str, str]] = set()
        denied: dict[str, str] = {}
        give_up_waiting_at: float | None = None  # set at the first denial
        while True:
            statuses = self._each(
                lambda s: {e: (r.get_status(), r) for e, r in s.requests.items()
                           if (s.name, e) not in approved and f"{s.name}/{e}" not in denied}
            )
            waiting = []
            for site, per_entry in statuses.items():
                for entrypoint, (status, request) in per_entry.items():
                    if status == RequestStatus.REJECTED:
                        denied[f"{site}/{entrypoint}"] = _deny_reason(request)
                    elif status == RequestStatus.PENDING:
                        waiting.append(f"{site}/{entrypoint}")
                    else:
                        approved.add((site, entrypoint))
            now = time.monotonic()
            if denied and give_up_waiting_at is None:
                give_up_waiting_at = now + denial_grace_s
            if denied and (not waiting or now >= give_up_waiting_at):
                raise SubmissionDenied(dict(sorted(denied.items())), undecided=sorted(waiting))
            if not waiting:
                return sorted(f"{site}/{entrypoint}" for site, entrypoint in approved)
            if now > deadline:
                raise FederationError(f"still waiting for an owner's approval after {timeout_s:.0f} s: {waiting}")
            time.sleep(poll_s)

    # --- rounds ----------------------------------------------------------------------

    def train_round(
        self, round_number: int, weights: Weights, config: dict,
        strategy: Callable[[list[tuple[Weights, int]]], Weights] = fedavg,
    ) -> RoundResult:
        """Send the global weights to every site, aggregate the released updates."""
        started = time.perf_counter()
        answers = self._run_all("train", weights, config)
        released = [a for a in answers.values() if a.status == "released"]
        if len(released) < self.quorum:
            problems = {s: f"{a.status}: {a.reason}" for s, a in answers.items() if a.status != "released"}
            raise FederationError(
                f"round {round_number}: {len(released)} of {len(answers)} sites released an update, "
                f"the quorum is {self.quorum}: {problems}"
            )
        new = strategy([(a.value["weights"], a.value["num_examples"]) for a in released])
        new = {k: v.astype(weights[k].dtype) for k, v in new.items()}
        compute = max((a.value.get("compute_s", 0.0) for a in released), default=0.0)
        return RoundResult(round_number, new, answers, time.perf_counter() - started, compute)

    def evaluate(self, weights: Weights, config: dict) -> Evaluation:
        """Federated evaluation on every site's private test split: counts and sums only."""
        started = time.perf_counter()
        answers = self._run_all("evaluate", weights, config)
        released = [a for a in answers.values() if a.status == "released"]
        if len(released) < self.quorum:
            problems = {s: f"{a.status}: {a.reason}" for s, a in answers.items() if a.status != "released"}
            raise FederationError(f"evaluation: fewer sites than the quorum answered: {problems}")
        return Evaluation(
            answers,
            correct=sum(int(a.value["metrics"]["correct"]) for a in released),
            examples=sum(int(a.value["num_examples"]) for a in released),
            loss_sum=sum(float(a.value["metrics"]["loss_sum"]) for a in released),
            wall_s=time.perf_counter() - started,
        )

    def close(self) -> None:
        """Stop the worker threads."""
        self._pool.shutdown(wait=True)

    def __enter__(self) -> Federation:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- internals -------------------------------------------------------------------

    def _each(self, fn: Callable[[Site], Any]) -> dict[str, Any]:
        futures = {name: self._pool.submit(fn, site) for name, site in self.sites.items()}
        return {name: f.result() for name, f in futures.items()}

    def _run_all(self, entrypoint: str, weights: Weights, config: dict) -> dict[str, SiteAnswer]:
        return self._each(lambda site: _run(site, entrypoint, weights, config))


def _connect_site(name: str, url: str, email: str, password: str, dataset: str) -> Site:
    import syft as sy

    host, _, port = url.rpartition(":")
    try:
        client = sy.login(url=host, port=int(port), email=email, password=password)
    except Exception as err:
        raise FederationError(f"cannot log in: {_short(err)}") from None
    return site_from_client(name, url, client, dataset)


def site_from_client(name: str, url: str, client: Any, dataset: str = "heart") -> Site:
    """A Site from a logged-in scientist client: finds the dataset's train and test assets."""
    if not hasattr(client, "datasets"):
        raise FederationError(f"cannot log in: {_short(client)}")
    try:
        # not `client.datasets[dataset]`: its lookup of a missing `get_index` endpoint makes
        # syft refetch the whole API (~0.7 s of CPU per site) before it falls back to get_all
        ds = client.api.services.dataset.get_all()[dataset]
        return Site(name, url, client, ds.assets["train"], ds.assets["test"])
    except Exception as err:
        raise FederationError(f"dataset {dataset!r} with train/test assets not found: {_short(err)}") from None


def _request(client: Any, submission: Submission, asset: Any, output_policy: Any) -> Any:
    """Submit one generated syft function as a code request."""
    import syft as sy
    from syft.service.code.user_code import SubmitUserCode
    from syft.service.response import SyftError

    namespace: dict[str, Any] = {}
    code = submission.wrapper_code()
    exec(code, namespace)  # defines the wrapper function object syft wants alongside the text
    function = namespace[submission.func_name]
    input_policy = sy.MixedInputPolicy(client=client, data=asset, weights=dict, config=dict)
    submit = SubmitUserCode(
        code=code,
        func_name=submission.func_name,
        signature=inspect.signature(function),
        input_policy_type=type(input_policy),
        input_policy_init_kwargs=input_policy.init_kwargs,
        output_policy_type=type(output_policy),
        output_policy_init_kwargs=output_policy.init_kwargs,
        local_function=function,
        input_kwargs=["data", "weights", "config"],
    )
    request = client.code.request_code_execution(submit)
    if isinstance(request, SyftError):
        raise FederationError(f"submission of {submission.func_name} failed: {request.message}")
    return request


def _run(site: Site, entrypoint: str, weights: Weights, config: dict) -> SiteAnswer:
    from syft.service.response import SyftError

    started = time.perf_counter()
    asset = getattr(site, SPLIT[entrypoint])
    try:
        function = _remote_function(site, site.functions[entrypoint])
        with site.lock:
            weights_ptr = _upload(site, weights)
            config_ptr = _upload(site, config)
        pointer = function(data=asset, weights=weights_ptr, config=config_ptr)
        value = _fetch(pointer) if hasattr(pointer, "refresh_object") else pointer
    except Exception as err:
        with site.lock:
            site.uploads.clear()  # whatever went wrong, the next call uploads afresh
        return SiteAnswer(site.name, "error", {}, _short(err), time.perf_counter() - started)
    wall = time.perf_counter() - started
    if isinstance(value, SyftError):
        return SiteAnswer(site.name, "error", {}, _short(value.message), wall)
    if not isinstance(value, dict) or "status" not in value:
        return SiteAnswer(site.name, "error", {}, f"unexpected answer {type(value).__name__}", wall)
    return SiteAnswer(site.name, value["status"], value, str(value.get("reason", "")), wall)


# --- the call path --------------------------------------------------------------------

INLINE_MAX_BYTES = 1 << 20  # inputs below this go inline (syft's own default blob threshold)
_UPLOADS_KEPT = 8  # pointers remembered per site


def _remote_function(site: Site, func_name: str) -> Any:
    """The site's syft function, looked up in its API once."""
    function = site.remote.get(func_name)
    if function is None:
        function = getattr(site.client.code, func_name)
        site.remote[func_name] = function
    return function


def _upload(site: Site, value: Any) -> Any:
    """A pointer to `value` on the site: reused when identical content was uploaded before."""
    key = _fingerprint(value)
    if key is not None and key in site.uploads:
        site.uploads.move_to_end(key)
        return site.uploads[key]
    pointer = _send(site.client, value)
    if key is not None:
        site.uploads[key] = pointer
        while len(site.uploads) > _UPLOADS_KEPT:
            site.uploads.popitem(last=False)
    return pointer


def _send(client: Any, value: Any) -> Any:
    """Upload one input as syft's call path would (`convert_to_pointers`), in fewer calls.

    syft asks the server for its metadata and then, because a fedsyft datasite's on-disk
    blob store has no minimum size, allocates a blob, writes it and registers it: four
    calls. An object small enough travels inline in the single `action.set` instead,
    the way syft itself sends objects under its default 1 MB blob threshold.
    """
    from syft.service.action.action_object import ActionObject

    api = client.api
    obj = ActionObject.from_obj(
        syft_action_data=value,
        syft_client_verify_key=api.signing_key.verify_key,
        syft_server_location=api.server_uid,
    )
    obj.syft_server_uid = api.server_uid
    if _approx_nbytes(value) < INLINE_MAX_BYTES:
        obj.syft_action_saved_to_blob_store = False
    else:
        obj._save_to_blob_storage().unwrap()
    return api.services.action.set(obj)


def _fetch(pointer: Any) -> Any:
    """The value behind a result pointer: `ActionObject.get` without its permission probe.

    `.get()` asks the server whether the scientist can read the object only to print a
    warning when not; the value (or the error) comes from the same `action.get` here.
    """
    from syft.service.action.action_object import ActionObject
    from syft.types.errors import SyftException
    from syft.types.result import Err

    result = pointer.refresh_object()
    if not isinstance(result, ActionObject):
        raise SyftException(public_message=f"{result}")
    if issubclass(result.syft_action_data_type, Err):
        raise SyftException(public_message=f"{result.syft_action_data.err()}")
    value = result.syft_action_data
    if isinstance(value, ActionObject):
        value.syft_server_location = result.syft_server_location
        value.syft_client_verify_key = result.syft_client_verify_key
    return value


def _fingerprint(value: Any) -> str | None:
    """A digest of an input's exact content and types; None when it cannot be computed."""
    digest = hashlib.sha256()

    def feed(item: Any) -> bool:
        if isinstance(item, np.ndarray):
            if item.dtype.hasobject:
                return False
            digest.update(f"nd:{item.dtype.str}:{item.shape}:".encode())
            digest.update(np.ascontiguousarray(item).data)
            return True
        if isinstance(item, dict):
            digest.update(f"dict:{len(item)}:".encode())
            return all(feed(k) and feed(v) for k, v in item.items())
        if isinstance(item, list | tuple):
            digest.update(f"{type(item).__name__}:{len(item)}:".encode())
            return all(feed(v) for v in item)
        if item is None or isinstance(item, bool | int | float | str | bytes | np.generic):
            digest.update(f"{type(item).__name__}:{item!r};".encode())
            return True
        return False

    return digest.hexdigest() if feed(value) else None


def _approx_nbytes(value: Any) -> int:
    """A quick upper-bound estimate of an input's serialised size."""
    if isinstance(value, np.ndarray):
        return value.nbytes + 256
    if isinstance(value, dict):
        return sum(_approx_nbytes(k) + _approx_nbytes(v) for k, v in value.items()) + 64
    if isinstance(value, list | tuple):
        return sum(_approx_nbytes(v) for v in value) + 64
    if isinstance(value, str | bytes):
        return len(value) * 4 + 64
    if value is None or isinstance(value, bool | int | float | np.generic):
        return 64
    return INLINE_MAX_BYTES  # unknown kinds take syft's own path


def _deny_reason(request: Any) -> str:
    """The owner's reason for a denial (syft 0.9.5 keeps it on the code's status)."""
    try:
        reason = request.deny_reason
    except Exception:
        reason = None
    return reason if isinstance(reason, str) and reason else "denied by the data owner"


def _short(err: object, limit: int = 500) -> str:
    text = " ".join(str(err).split())
    return text if len(text) <= limit else text[:limit] + "..."
