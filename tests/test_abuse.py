"""Abuse corpus: hostile submissions driven through a real in-process datasite, as a scientist would.

Every module in tests/submissions/abuse/ is one attack. Its docstring says what it tries and
which layer must stop it; module-level constants say what the test expects:

    EXPECT      "review"   the steward denies it; it never reaches the executor
                "sandbox"  it is approved (the policy allows its imports) and the run fails
                "gate"     it is approved, runs, and the output gate blocks the result
                "released" it is released, with nothing private in it (logs withheld, or a
                           documented RESIDUAL channel that only differential privacy can close)
    POLICY      overrides of tests.conftest.policy_text; "extra_imports" are added to the
                default imports (a careless owner allowing os, socket, subprocess, ...)
    ENTRY       "train" (default) or "evaluate": the entrypoint the attack runs through
    FINDING     review: text the steward's reason must contain (naming the problem)
    STATUS      sandbox: the status the owner's execution record must show (or a list of them)
    ERROR_HAS   sandbox: text the owner's execution record's error must contain
    REASON      gate: text the gate's reason must contain
    OWNER_SEES  the owner's execution record holds the smuggled marker (logs stay on the owner's side)
    RESIDUAL    a known channel the gate cannot see: released, and tested as such (not counted)
    TIMING      the attack leaks through the run's duration: tested by its own test (not counted)
    XFAIL       a known hole: the test is xfail(strict=True, raises=PrivateValueLeaked) with this reason

For every attack, everything the scientist received (the answer dict, every string in it, the
denial reasons and any exception text) must hold no private value: no "LEAK" marker (attacks
build it at run time from "LE" + "AK" and private data), no private Cleveland row as a
sequence of numbers, and no patient's age, blood pressure and cholesterol packed into one
number as digits AAATTTCCC (for channels that carry a single number). Refusals carry only
`status` and `reason` (the test policy releases no logs). Sites are cached per policy for the
module; the last test checks that every one of them still serves a legit round.
"""

from __future__ import annotations

import ast
import hashlib
import re
import socket
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from datasite import data as heart
from scientist.federation import Federation, SiteAnswer, SubmissionDenied, site_from_client
from scientist.local import load_module
from tests.conftest import HEART, HEART_MODULE, IMPORTS, LocalSite, policy_text, site_config_text

ABUSE_DIR = Path(__file__).resolve().parent / "submissions" / "abuse"
PATHS = sorted(ABUSE_DIR.glob("*.py"))
MARKER = "LEAK"
BLOCKING = ("review", "sandbox", "gate")
SANDBOX_STATUSES = frozenset(
    {"error", "timeout", "cpu_limit", "memory_limit", "violation", "oversized", "crashed"}
)
REFUSAL_KEYS = {"status", "reason"}
EXECUTOR_EVENTS = ("executed", "released", "failed")
_CONSTANTS = ("EXPECT", "POLICY", "ENTRY", "FINDING", "STATUS", "ERROR_HAS", "REASON", "OWNER_SEES",
              "RESIDUAL", "TIMING", "XFAIL")


# --- the corpus ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Attack:
    """One attack module and what it declares about itself."""

    path: Path
    doc: str
    expect: str
    policy: dict = field(default_factory=dict)
    entry: str = "train"
    finding: str | None = None
    status: tuple[str, ...] = ()
    error_has: str | None = None
    reason: str | None = None
    owner_sees: bool = False
    residual: str | None = None
    timing: bool = False
    xfail: str | None = None

    @property
    def name(self) -> str:
        return self.path.stem

    @property
    def source(self) -> str:
        return self.path.read_text()

    @property
    def code_hash(self) -> str:
        return hashlib.sha256(self.source.encode()).hexdigest()


def load_attack(path: Path) -> Attack:
    """Read an attack's docstring and constants without running it (ast only)."""
    tree = ast.parse(path.read_text())
    found: dict[str, Any] = {}
    for node in tree.body:
        if (isinstance(node, ast.Assign) and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name) and node.targets[0].id in _CONSTANTS):
            found[node.targets[0].id] = ast.literal_eval(node.value)
    status = found.get("STATUS", ())
    return Attack(
        path=path, doc=ast.get_docstring(tree) or "", expect=found.get("EXPECT", ""),
        policy=found.get("POLICY", {}), entry=found.get("ENTRY", "train"),
        finding=found.get("FINDING"), status=(status,) if isinstance(status, str) else tuple(status),
        error_has=found.get("ERROR_HAS"), reason=found.get("REASON"),
        owner_sees=bool(found.get("OWNER_SEES", False)), residual=found.get("RESIDUAL"),
        timing=bool(found.get("TIMING", False)), xfail=found.get("XFAIL"),
    )


ATTACKS = [load_attack(path) for path in PATHS]
CHECKED = [a for a in ATTACKS if a.residual is None and not a.timing]
RESIDUALS = [a for a in ATTACKS if a.residual is not None]
TIMED = [a for a in ATTACKS if a.timing]


class PrivateValueLeaked(AssertionError):
    """The scientist received a private value (the failure a known hole's xfail expects)."""


def params(attacks: list[Attack]) -> list:
    """Attacks as pytest params; a known hole is xfail(strict=True) on the leak assertion only."""
    return [
        pytest.param(a, id=a.name, marks=[pytest.mark.xfail(strict=True, raises=PrivateValueLeaked,
                                                            reason=a.xfail)] if a.xfail else [])
        for a in attacks
    ]


def policy_for(overrides: dict) -> str:
    """The policy text of an attack: the test policy with the attack's overrides."""
    settings = dict(overrides)
    extra = tuple(settings.pop("extra_imports", ()))
    return policy_text(name="abuse", imports=IMPORTS + extra, **settings)


# --- what the scientist may never see -----------------------------------------------------------

_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")
_ROW_WINDOW = 4  # age, sex, trestbps, chol in a row: unique among the Cleveland patients


@pytest.fixture(scope="module")
def private_rows() -> np.ndarray:
    """Every private Cleveland row (train and test splits), features then label, as float64."""
    train, test = heart.load_centre(HEART, "cleveland")
    columns = [*heart.FEATURES, heart.LABEL]
    return np.vstack([train[columns].to_numpy(np.float64), test[columns].to_numpy(np.float64)])


def _texts(value: Any) -> list[str]:
    """Every string inside a received value (keys included)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, bytes):
        return [value.decode("utf-8", "replace")]
    if isinstance(value, dict):
        return [t for k, v in value.items() for t in (*_texts(k), *_texts(v))]
    if isinstance(value, list | tuple):
        return [t for item in value for t in _texts(item)]
    return []


def _number_sequences(value: Any) -> list[np.ndarray]:
    """Every sequence of numbers a reader could find in a received value."""
    if isinstance(value, str | bytes):
        text = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
        return [np.array([float(n) for n in _NUMBER.findall(text)], dtype=np.float64)]
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "biuf":
            return [value.astype(np.float64).ravel(), *(v.astype(np.float64).ravel() for v in value.T)]
        return []
    if isinstance(value, bool | int | float | np.number):
        return [np.array([float(value)])]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (*_number_sequences(k), *_number_sequences(v))]
    if isinstance(value, list | tuple):
        scalars = [float(v) for v in value if isinstance(v, int | float | np.number)]
        return [np.array(scalars), *(s for v in value for s in _number_sequences(v))]
    return []


def private_row_in(value: Any, rows: np.ndarray) -> np.ndarray | None:
    """The first private row whose first values appear, in order, somewhere in `value`."""
    prefixes = rows[:, :_ROW_WINDOW]
    for sequence in _number_sequences(value):
        if len(sequence) < _ROW_WINDOW:
            continue
        windows = np.lib.stride_tricks.sliding_window_view(sequence, _ROW_WINDOW)
        hits = np.isclose(windows[:, None, :], prefixes[None, :, :], rtol=1e-5, atol=1e-6).all(axis=2)
        if hits.any():
            return rows[np.argwhere(hits)[0][1]]
    return None


def packed(rows: np.ndarray) -> np.ndarray:
    """Each patient's age, trestbps and chol packed into one number, digits AAATTTCCC."""
    return rows[:, 0] * 1_000_000 + rows[:, 2] * 1_000 + rows[:, 3]


def assert_nothing_private(received: list[Any], rows: np.ndarray, what: str) -> None:
    """What the scientist received holds no marker, no private row and no packed private values."""
    for text in _texts(received):
        if MARKER in text:
            raise PrivateValueLeaked(f"{what}: the scientist received the private marker: {text[:300]!r}")
    row = private_row_in(received, rows)
    if row is not None:
        raise PrivateValueLeaked(f"{what}: the scientist received a private row: {row.tolist()}")
    numbers = np.concatenate([np.abs(s) for s in _number_sequences(received)] or [np.zeros(0)])
    hits = numbers[np.isin(numbers, packed(rows))]
    if hits.size:
        raise PrivateValueLeaked(f"{what}: the scientist received packed private values: {hits[:3].tolist()}")


def test_the_private_value_detector_finds_what_it_looks_for(private_rows: np.ndarray) -> None:
    row = private_rows[7]
    assert private_row_in(f"x {row.tolist()} y", private_rows) is not None
    assert private_row_in({"w": row.astype(np.float32)[None, :]}, private_rows) is not None
    assert private_row_in({"m": list(row)}, private_rows) is not None
    assert private_row_in({"w": np.zeros((1, 13), np.float32), "n": 199, "r": "a 2 b 3"}, private_rows) is None
    number = int(packed(private_rows[:1])[0])
    for leaked in (f"count {number} too big", {"n": number}, [f"{MARKER}x"]):
        with pytest.raises(PrivateValueLeaked):
            assert_nothing_private([leaked], private_rows, "detector")
    assert_nothing_private(["output gate: `num_examples` exceeds the rows of the data", {"n": 199}],
                           private_rows, "detector")


# --- the datasites ------------------------------------------------------------------------------


class Listener:
    """A TCP listener on 127.0.0.1 that records every connection an attack manages to make."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections: list[tuple[str, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, name="abuse-listener", daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, peer = self.sock.accept()
            except OSError:
                continue
            self.connections.append(peer)
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self.sock.close()


@pytest.fixture(scope="module")
def listener():
    server = Listener()
    yield server
    server.close()


class Sites:
    """In-process datasites on the real Cleveland data, one per distinct policy, made on demand."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.made: dict[str, tuple[LocalSite, Any]] = {}  # policy text -> (site, scientist client)

    def get(self, policy: str) -> tuple[LocalSite, Any]:
        """The site running `policy`, and a scientist's client logged in to it."""
        if policy not in self.made:
            self.made[policy] = self._make(f"abuse{len(self.made)}", policy)
        return self.made[policy]

    def _make(self, name: str, policy: str) -> tuple[LocalSite, Any]:
        # the same steps as conftest's make_site, module-scoped
        from datasite.config import load_config
        from datasite.executor import Executor, install
        from datasite.server import prepare
        from datasite.steward import Steward

        root = self.root / name
        root.mkdir(parents=True)
        (root / "policy.toml").write_text(policy)
        config_path = root / f"{name}.toml"
        config_path.write_text(site_config_text(
            name, 18500 + len(self.made), root / "data", root / "policy.toml",
            [("heart", "uci-heart", HEART / "processed.cleveland.data")],
        ))
        config = load_config(config_path)
        worker, home = prepare(config)
        executor = Executor(home)
        install(executor, str(worker.id))
        site = LocalSite(config, worker, home, executor, Steward(worker.root_client, home))
        return site, site.scientist()

    def close(self) -> None:
        for site, _ in self.made.values():
            site.close()


@pytest.fixture(scope="module")
def sites(tmp_path_factory: pytest.TempPathFactory, test_passwords: dict[str, str]):
    made = Sites(tmp_path_factory.mktemp("abuse-sites"))
    yield made
    made.close()


@pytest.fixture(scope="module")
def outside(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory outside every sandbox, where attacks try to write."""
    return tmp_path_factory.mktemp("abuse-outside")


@pytest.fixture(scope="module")
def global_weights() -> dict[str, np.ndarray]:
    return load_module(HEART_MODULE.read_text()).init_weights({"seed": 0})


# --- driving one attack -------------------------------------------------------------------------


@dataclass
class Outcome:
    """What happened to one attack, on both sides."""

    site: LocalSite
    decisions: list
    answer: SiteAnswer | None
    received: list[Any]  # everything the scientist got back: answers, reasons, exception texts
    record: dict | None  # the owner's execution record of the run, if there was one


def executor_entries(site: LocalSite, code_hash: str, *events: str) -> list:
    return [e for e in site.home.audit.entries()
            if e.event in events and e.fields.get("code_hash") == code_hash]


def run_attack(attack: Attack, sites: Sites, listener: Listener, outside: Path,
               weights: dict[str, np.ndarray], **extra: Any) -> Outcome:
    """Submit the attack as a scientist, let the steward decide, then run it (even if denied)."""
    site, client = sites.get(policy_for(attack.policy))
    name = site.config.name
    config = {
        "epochs": 1, "lr": 0.05, "seed": 0, "port": listener.port,
        # the worst case: the attacker knows where the datasite keeps its files
        "datasite_dir": str(site.home.path), "outside_path": str(outside / f"{attack.name}.out"),
        **extra,
    }
    received: list[Any] = []
    with Federation([site_from_client(name, site.config.url, client)]) as fed:
        ids = fed.submit(attack.source, attack.path.name, rounds=2)
        ours = set(ids[name].values())
        decisions = [d for d in site.steward.review_pending() if d.request_id in ours]
        try:
            fed.wait_for_approval(timeout_s=10)
        except SubmissionDenied as err:
            received.append(str(err))
            received.append(err.reasons)
        # run it whatever the decision: a denied request must not run either
        answer = fed._run_all(attack.entry, weights, config)[name]
    received += [answer.status, answer.reason, answer.value]
    runs = executor_entries(site, attack.code_hash, "executed")
    record = site.home.read_execution(runs[-1].fields["run_id"]) if runs else None
    return Outcome(site, decisions, answer, received, record)


@pytest.mark.parametrize("attack", params(CHECKED))
def test_attack_is_stopped_at_its_layer_and_the_scientist_sees_nothing_private(
    attack: Attack, sites: Sites, listener: Listener, outside: Path, private_rows: np.ndarray,
    global_weights: dict[str, np.ndarray],
) -> None:
    assert MARKER not in attack.source, "the marker must exist only at run time"
    connections_before = len(listener.connections)
    outcome = run_attack(attack, sites, listener, outside, global_weights)
    answer, site = outcome.answer, outcome.site
    assert len(outcome.decisions) == 2, "the steward decides the train and the evaluate request"

    if attack.expect == "review":
        assert all(d.outcome == "denied" for d in outcome.decisions), outcome.decisions
        for decision in outcome.decisions:
            assert attack.finding in decision.reason, decision.reason
        denial = str(outcome.received[0])
        assert attack.finding in denial, f"the scientist is not told why: {denial}"
        assert answer.status == "error" and "DENIED" in answer.reason, answer  # syft refuses to run it
        assert executor_entries(site, attack.code_hash, *EXECUTOR_EVENTS, "blocked") == []
        assert outcome.record is None
    else:
        assert all(d.outcome == "approved" for d in outcome.decisions), [d.reason for d in outcome.decisions]
        assert outcome.record is not None, "the approved code never ran"
        assert outcome.record["entrypoint"] == attack.entry

    if attack.expect == "sandbox":
        assert answer.status == "failed", answer
        assert set(answer.value) == REFUSAL_KEYS, answer.value
        assert outcome.record["status"] in attack.status, outcome.record["error"][:2000]
        assert outcome.record["status"] in SANDBOX_STATUSES
        if attack.error_has:
            assert attack.error_has in outcome.record["error"], outcome.record["error"][:2000]
        assert executor_entries(site, attack.code_hash, "failed")
        assert executor_entries(site, attack.code_hash, "released") == []

    if attack.expect == "gate":
        assert answer.status == "blocked", answer
        assert set(answer.value) == REFUSAL_KEYS, answer.value
        assert answer.reason.startswith("output gate: ") and attack.reason in answer.reason, answer.reason
        assert outcome.record["status"] == "ok"
        blocked = executor_entries(site, attack.code_hash, "blocked")
        assert [e.fields["stage"] for e in blocked] == ["gate"]
        assert executor_entries(site, attack.code_hash, "released") == []

    if attack.expect == "released":  # logs are the channel; they stay with the owner
        assert answer.status == "released", answer
        assert "logs" not in answer.value
        assert set(answer.value["weights"]) == set(global_weights)

    if attack.owner_sees:  # the owner's record keeps what the scientist must not see
        owner_text = " ".join(outcome.record[k] for k in ("stdout", "stderr", "error"))
        assert MARKER in owner_text

    assert_nothing_private(outcome.received, private_rows, attack.name)
    assert len(listener.connections) == connections_before, "an attack reached the listener"
    assert not (outside / f"{attack.name}.out").exists(), "an attack wrote outside its sandbox"


# --- known residual channels (released; documented; not counted as blocked) ---------------------


@pytest.mark.parametrize("attack", RESIDUALS, ids=[a.name for a in RESIDUALS])
def test_known_residual_channel_is_released_and_carries_a_private_value(
    attack: Attack, sites: Sites, listener: Listener, outside: Path, private_rows: np.ndarray,
    global_weights: dict[str, np.ndarray],
) -> None:
    """RESIDUAL, NOT BLOCKED: the gate checks form, not meaning.

    A released model update or an allowed scalar metric can carry private values the gate has
    no way to tell from training results. These tests assert the channel is open today, so
    that it stays documented and visible; differential privacy (clipping plus calibrated
    noise on what is released) is the layer that must close it, and when it does these
    assertions will fail and must be turned around.
    """
    outcome = run_attack(attack, sites, listener, outside, global_weights)
    answer = outcome.answer
    assert all(d.outcome == "approved" for d in outcome.decisions)
    assert answer.status == "released", answer
    train, _ = heart.load_centre(HEART, "cleveland")
    first = train.iloc[0]  # the private train asset is this split, in this order
    if attack.residual == "loss":
        assert answer.value["metrics"]["loss"] == pytest.approx(float(first["age"]))
    elif attack.residual == "weights":
        delta = (answer.value["weights"]["weight"] - global_weights["weight"]) * 100.0
        row = private_row_in(delta, private_rows)
        assert row is not None, "the row encoded in the weights is no longer recoverable"
        np.testing.assert_allclose(delta[0], first[list(heart.FEATURES)].to_numpy(np.float64), rtol=1e-3)
    else:
        pytest.fail(f"unknown residual channel {attack.residual!r}")


# --- timing: a channel no value check can see ---------------------------------------------------


# the run's wall-time limit under a constant-time policy: the attack's spin (~2 s) fits in it
CONSTANT_TIME_WALL_S = 6


def timing_params() -> list:
    """Each timing attack twice: under its own policy (a known hole: xfail) and constant-time."""
    out = []
    for a in TIMED:
        out += [
            pytest.param(a, False, id=f"{a.name}-unpadded", marks=[pytest.mark.xfail(
                strict=True, raises=PrivateValueLeaked, reason=a.xfail)] if a.xfail else []),
            pytest.param(a, True, id=f"{a.name}-constant-time"),
        ]
    return out


@pytest.mark.parametrize(("attack", "constant_time"), timing_params())
def test_the_duration_of_a_run_reveals_nothing_private(
    attack: Attack, constant_time: bool, sites: Sites, listener: Listener, outside: Path,
    private_rows: np.ndarray, global_weights: dict[str, np.ndarray],
) -> None:
    """Two runs of one approved module, on a patient with and one without the disease.

    The module spins only for a positive patient and returns the same clean update either way.
    If the released compute_s, or the time the scientist waits, differs by more than a second
    between the two, the label of a patient the scientist chose has leaked. A policy with
    `limits.constant_time` answers every run at the same moment: there it must not leak.
    """
    train, _ = heart.load_centre(HEART, "cleveland")
    positive = int(np.flatnonzero(train[heart.LABEL].to_numpy() == 1)[0])
    negative = int(np.flatnonzero(train[heart.LABEL].to_numpy() == 0)[0])
    overrides = dict(attack.policy)
    if constant_time:
        overrides.update(constant_time=True, wall_time_s=CONSTANT_TIME_WALL_S, cpu_time_s=CONSTANT_TIME_WALL_S)
    site, client = sites.get(policy_for(overrides))
    name = site.config.name
    answers = {}
    with Federation([site_from_client(name, site.config.url, client)]) as fed:
        fed.submit(attack.source, attack.path.name, rounds=2)
        assert [d.outcome for d in site.steward.review_pending()] == ["approved", "approved"]
        fed.wait_for_approval(timeout_s=10)
        for label, row in (("positive", positive), ("negative", negative)):
            config = {"epochs": 1, "seed": 0, "row": row}
            answers[label] = fed._run_all(attack.entry, global_weights, config)[name]
    for answer in answers.values():
        assert answer.status == "released", answer
        assert_nothing_private([answer.value, answer.reason], private_rows, attack.name)
    compute = {label: a.value["compute_s"] for label, a in answers.items()}
    waited = {label: a.wall_s for label, a in answers.items()}
    if constant_time:  # the spin really ran: the answer waited for the whole constant time
        assert min(waited.values()) >= CONSTANT_TIME_WALL_S, waited
    # the spin takes seconds; a constant-time answer may differ only by scheduling noise
    limit = 0.25 if constant_time else 1.0
    if compute["positive"] - compute["negative"] > limit or waited["positive"] - waited["negative"] > limit:
        raise PrivateValueLeaked(
            f"{attack.name}: the run's duration tells a patient's label: compute_s {compute}, "
            f"seconds the scientist waited {waited}"
        )


# --- the corpus itself --------------------------------------------------------------------------


def test_corpus_has_at_least_30_distinct_blocked_attacks_each_documented() -> None:
    counts = {layer: sum(a.expect == layer for a in ATTACKS) for layer in BLOCKING}
    assert sum(counts.values()) >= 30, counts
    assert all(counts[layer] >= 5 for layer in BLOCKING), counts
    assert len({a.code_hash for a in ATTACKS}) == len(ATTACKS), "two attack modules are identical"
    for attack in ATTACKS:
        assert attack.expect in (*BLOCKING, "released"), attack.name
        assert attack.doc and ("stopped by" in attack.doc or "Expected outcome" in attack.doc), attack.name
        assert attack.entry in ("train", "evaluate"), attack.name
        assert isinstance(attack.policy, dict), attack.name
        assert MARKER not in attack.source, attack.name
        if attack.expect == "review":
            assert attack.finding, attack.name
        if attack.expect == "sandbox":
            assert attack.status and set(attack.status) <= SANDBOX_STATUSES, attack.name
        if attack.expect == "gate":
            assert attack.reason, attack.name
        if attack.expect == "released":
            assert attack.owner_sees or attack.residual or attack.timing, attack.name


# --- after all of it ----------------------------------------------------------------------------


def test_every_attacked_datasite_still_serves_a_legit_round(
    sites: Sites, global_weights: dict[str, np.ndarray],
) -> None:
    """Runs last: each site the attacks used trains and evaluates a legit module, audit intact."""
    if not sites.made:
        sites.get(policy_for({}))
    source = HEART_MODULE.read_text()
    train, test = heart.load_centre(HEART, "cleveland")
    for site, client in sites.made.values():
        name = site.config.name
        with Federation([site_from_client(name, site.config.url, client)]) as fed:
            fed.submit(source, "heart_logreg.py", rounds=2)
            decisions = site.steward.review_pending()
            assert [d.outcome for d in decisions] == ["approved", "approved"], name
            fed.wait_for_approval(timeout_s=10)
            result = fed.train_round(1, global_weights, {"epochs": 2, "lr": 0.05, "seed": 0})
            evaluation = fed.evaluate(result.weights, {"seed": 0})
        answer = result.answers[name]
        assert answer.status == "released", answer.reason
        assert answer.value["num_examples"] == len(train)
        assert evaluation.examples == len(test) and evaluation.accuracy > 0.5
        assert site.home.audit.verify() == [], name
