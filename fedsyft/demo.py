"""`fedsyft demo`: four real hospitals train one heart-disease model, every role played here.

Owners launch one syft datasite per UCI centre (own process, own data directory,
generated admin password), upload their private splits with synthetic mocks and
install the default policy. The scientist connects, tries the module on the
mocks, submits it, and runs FedAvg rounds; each owner's steward reviews and
approves, each owner's side runs the code in its sandbox and releases only what
passes the output gate. Baselines (pooled, local-only) are computed here on the
raw files for comparison only, outside the privacy boundary, and say so.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import math
import secrets
import shutil
import socket
import time
import traceback
import types
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from datasite import data as heart
from datasite.server import DatasiteProcess, start, wait_ready
from policies.gate import OutputGate
from policies.policy import Policy, PolicyError, default_policy_path, load_policy
from policies.submission import SubmissionError, build
from scientist.federation import Federation
from scientist.local import load_module

SCIENTIST_EMAIL = "scientist@fedsyft.example"
DEFAULT_SITES = heart.CENTRES
MOCK_ROWS = 40  # rows of the synthetic mock the module is tried on before any launch
CONTRACT = "docs/CONTRACTS.md"  # where a module's return shapes are written down
TRAIN_SHAPE = '{"weights": {name: float32 array}, "num_examples": int, "metrics": {"loss": float}}'
EVALUATE_SHAPE = '{"num_examples": int, "metrics": {"correct": int, "loss_sum": float}}'


class DemoError(ValueError):
    """The demo cannot run as asked; the message says what is wrong, where, and what to do."""


@dataclass
class DemoSettings:
    """What `fedsyft demo` runs; the defaults meet the quality bar on the bundled data."""

    rounds: int = 20
    out: Path = Path("fedsyft-out")
    sites: tuple[str, ...] = DEFAULT_SITES
    seed: int = 42
    epochs: int = 5
    lr: float = 0.05
    batch_size: int = 16
    module: Path | None = None
    policy: Path | None = None
    extra: dict = field(default_factory=dict)

    def config(self, round_number: int = 0) -> dict:
        """The training config sent with a round (the seed changes each round)."""
        return {"epochs": self.epochs, "lr": self.lr, "batch_size": self.batch_size,
                "seed": self.seed + round_number}


def data_dir() -> Path:
    """The vendored UCI Heart Disease files."""
    return Path(str(resources.files("fedsyft.data") / "uci-heart-disease"))


def module_path(settings: DemoSettings) -> Path:
    """The training module the scientist submits."""
    if settings.module is not None:
        return settings.module
    return Path(str(resources.files("scientist") / "examples" / "heart_logreg.py"))


def policy_path(settings: DemoSettings) -> Path:
    """The policy every datasite of the demo installs."""
    return settings.policy if settings.policy is not None else default_policy_path()


# --- checks before any datasite is launched -------------------------------------------


@dataclass(frozen=True)
class Checked:
    """What `preflight` validated: the module's text and the policy the sites will install."""

    source: str
    filename: str
    policy: Policy


def preflight(settings: DemoSettings) -> Checked:
    """Check the settings, the policy and the module before anything is launched.

    Raises DemoError naming what is wrong: settings out of range, duplicate or unknown
    sites, limits beyond the policy's, a module that does not load or whose `train`,
    `evaluate` and `init_weights` do not return the contract's shapes on a synthetic mock.
    The code review itself is left to the owners, whose stewards deny with the reasons.
    """
    check_settings(settings)
    policy = check_policy(settings)
    path = module_path(settings)
    source, filename = read_module_file(path)
    check_module(source, filename, settings, policy, label=str(path))
    return Checked(source, filename, policy)


def check_settings(settings: DemoSettings) -> None:
    """Sites known and distinct, counts positive, learning rate a positive number."""
    problems = []
    sites = list(settings.sites)
    if not sites:
        problems.append(f"no sites given; choose from {', '.join(heart.CENTRES)}")
    unknown = [s for s in sites if s not in heart.CENTRES]
    if unknown:
        problems.append(f"unknown centre(s) {', '.join(unknown)}; choose from {', '.join(heart.CENTRES)}")
    twice = sorted({s for s in sites if sites.count(s) > 1})
    if twice:
        problems.append(f"site(s) listed more than once: {', '.join(twice)}; each centre is one datasite")
    for name in ("rounds", "epochs", "batch_size"):
        value = getattr(settings, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            problems.append(f"{name} must be a positive integer, got {value!r}")
    lr = settings.lr
    if isinstance(lr, bool) or not isinstance(lr, int | float) or not math.isfinite(lr) or lr <= 0:
        problems.append(f"the learning rate (lr) must be a positive number, got {lr!r}")
    out = Path(settings.out)
    if out.exists() and not out.is_dir():
        problems.append(f"the output directory {out} is a file; choose another --out")
    if problems:
        raise DemoError("\n".join(problems))


def check_policy(settings: DemoSettings) -> Policy:
    """Load the sites' policy and check the demo's rounds, epochs and approval against it."""
    path = policy_path(settings)
    try:
        policy = load_policy(path)
    except PolicyError as err:
        raise DemoError(f"the policy for every datasite is unusable: {err}") from None
    where = f"the policy {path.name}"
    problems = []
    if settings.rounds > policy.training.max_rounds:
        problems.append(
            f"rounds {settings.rounds} is more than {where} allows (training.max_rounds = "
            f"{policy.training.max_rounds}): use --rounds {policy.training.max_rounds} or fewer, "
            "or a --policy with a larger training.max_rounds")
    if settings.epochs > policy.training.max_epochs:
        problems.append(
            f"epochs {settings.epochs} is more than {where} allows (training.max_epochs = "
            f"{policy.training.max_epochs}): use --epochs {policy.training.max_epochs} or fewer, "
            "or a --policy with a larger training.max_epochs")
    if policy.approval.mode != "auto":
        problems.append(
            f'{where} asks a human to approve (approval.mode = "{policy.approval.mode}"), and the '
            'demo plays no human: use a policy with approval.mode = "auto" (the default policy has it)')
    if problems:
        raise DemoError("\n".join(problems))
    return policy


def read_module_file(path: Path) -> tuple[str, str]:
    """The (source, file name) of the training module, with errors that name the file."""
    path = Path(path)
    if not path.exists():
        raise DemoError(f"training module {path}: no such file")
    if not path.is_file():
        raise DemoError(f"training module {path}: not a file")
    try:
        source = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as err:
        raise DemoError(f"training module {path}: not UTF-8 text ({err.reason} at byte {err.start}); "
                        "save it as UTF-8") from None
    try:
        build(source, "train", path.name)
    except SubmissionError as err:
        raise DemoError(f"training module {path}: {err}") from None
    return source, path.name


def check_module(
    source: str, filename: str, settings: DemoSettings, policy: Policy, *, label: str | None = None
) -> None:
    """Run init_weights, train and evaluate here on a synthetic mock; check what they return.

    `filename` is the name the module is compiled under; `label` (default: the same) is how
    errors name it, e.g. the path the user gave.
    """
    label = label or filename
    module = _load(source, filename, label)
    missing = [name for name in ("train", "evaluate") if not callable(getattr(module, name, None))]
    if missing:
        raise DemoError(f"{label}: defines no {' and no '.join(f'{m}(data, weights, config)' for m in missing)}"
                        f"; a submission needs both ({CONTRACT})")
    if not callable(getattr(module, "init_weights", None)):
        raise DemoError(
            f"{label}: defines no init_weights(config); it is optional for a submission, but "
            "`fedsyft demo` needs it to make the starting global weights: add "
            "`def init_weights(config) -> dict[str, np.ndarray]` (run only here, never on a datasite)")
    weights = _call(module, "init_weights", source, filename, label, settings.config())
    check_weights(weights, label)
    schema = pd.DataFrame({**{c: pd.Series(dtype="float64") for c in heart.FEATURES},
                           heart.LABEL: pd.Series(dtype="int64")})
    rows = max(MOCK_ROWS, policy.output.min_rows)
    train_mock = heart.synthesize_mock(schema, rows, seed=settings.seed)
    test_mock = heart.synthesize_mock(schema, rows, seed=settings.seed + 1)
    config = {**settings.config(1), "epochs": 1}
    update = _call(module, "train", source, filename, label, train_mock, copy.deepcopy(weights), config)
    check_update(update, weights, len(train_mock), label)
    result = _call(module, "evaluate", source, filename, label, test_mock, copy.deepcopy(update["weights"]),
                   config)
    check_evaluation(result, len(test_mock), label)
    # the owners' output gate, as the sites will apply it (a norm beyond the bound is the data's doing)
    gate = OutputGate(policy.model_copy(update={"output": policy.output.model_copy(
        update={"on_norm_exceeded": "clip"})}))
    for kind, value, n_rows, entry in (("model_update", update, len(train_mock), "train"),
                                       ("metrics", result, len(test_mock), "evaluate")):
        decision = gate.check(kind, value, global_weights=weights, n_rows=n_rows)
        if not decision.released:
            raise DemoError(f"{label}: the output gate of {policy_path(settings).name} would block what "
                            f"{entry}() returns on a synthetic mock: {decision.detail}")


def check_weights(weights: object, filename: str) -> None:
    """init_weights must return a non-empty dict of finite floating-point numpy arrays."""
    where = f"{filename}: init_weights(config)"
    if not isinstance(weights, dict) or not weights:
        raise DemoError(f"{where} returned {_kind(weights)}; it must return a non-empty dict "
                        f"{{name: float32 numpy array}} ({CONTRACT})")
    for name, array in weights.items():
        if not isinstance(name, str):
            raise DemoError(f"{where}: weight names must be strings, got {name!r}")
        if not isinstance(array, np.ndarray) or array.dtype.kind != "f":
            raise DemoError(f"{where}: weights[{name!r}] is {_kind(array)}, expected a float32 numpy array")
        if not np.isfinite(array).all():
            raise DemoError(f"{where}: weights[{name!r}] has NaN or infinite values")


def check_update(update: object, weights: dict, n_rows: int, filename: str) -> None:
    """train must return the contract's model update, matching the global weights exactly."""
    where = f"{filename}: train(data, weights, config) on a synthetic mock of {n_rows} rows"
    expected = f"it must return a dict {TRAIN_SHAPE} ({CONTRACT})"
    if not isinstance(update, dict):
        raise DemoError(f"{where} returned {_kind(update)}; {expected}")
    _check_keys(update, {"weights", "num_examples"}, {"metrics"}, where, expected)
    new = update["weights"]
    if not isinstance(new, dict):
        raise DemoError(f"{where}: \"weights\" is {_kind(new)}, expected a dict of numpy arrays")
    if set(new) != set(weights):
        missing = sorted(set(weights) - set(new))
        extra = sorted(map(str, set(new) - set(weights)))
        raise DemoError(f"{where}: the weight names differ from init_weights' "
                        f"(missing {missing or 'none'}, extra {extra or 'none'})")
    for name, reference in weights.items():
        array = new[name]
        shape = f"{reference.dtype}{list(reference.shape)}"
        if not isinstance(array, np.ndarray):
            raise DemoError(f"{where}: weights[{name!r}] is {_kind(array)}, expected a numpy array {shape}")
        if array.dtype != reference.dtype or array.shape != reference.shape:
            raise DemoError(f"{where}: weights[{name!r}] is {array.dtype}{list(array.shape)}, "
                            f"expected {shape} as init_weights made it")
        if not np.isfinite(array).all():
            raise DemoError(f"{where}: weights[{name!r}] has NaN or infinite values")
    _check_count(update["num_examples"], n_rows, where)
    _check_metrics(update.get("metrics", {}), (), where)


def check_evaluation(result: object, n_rows: int, filename: str) -> None:
    """evaluate must return the contract's counts: num_examples, correct and loss_sum."""
    where = f"{filename}: evaluate(data, weights, config) on a synthetic mock of {n_rows} rows"
    expected = f"it must return a dict {EVALUATE_SHAPE} ({CONTRACT})"
    if not isinstance(result, dict):
        raise DemoError(f"{where} returned {_kind(result)}; {expected}")
    _check_keys(result, {"num_examples", "metrics"}, set(), where, expected)
    count = _check_count(result["num_examples"], n_rows, where)
    metrics = _check_metrics(result["metrics"], ("correct", "loss_sum"), where)
    correct = metrics["correct"]
    if not float(correct).is_integer() or not 0 <= correct <= count:
        raise DemoError(f"{where}: metrics[\"correct\"] is {correct!r}, expected a whole number "
                        f"between 0 and num_examples ({count})")
    if metrics["loss_sum"] < 0:
        raise DemoError(f"{where}: metrics[\"loss_sum\"] is {metrics['loss_sum']!r}, expected >= 0")


def _check_keys(value: dict, required: set[str], optional: set[str], where: str, expected: str) -> None:
    missing = sorted(required - set(value))
    extra = sorted(map(str, set(value) - required - optional))
    if missing or extra:
        found = ", ".join(f'"{k}"' for k in map(str, value)) or "none"
        raise DemoError(f"{where} returned a dict with keys {found}; {expected}")


def _check_count(count: object, n_rows: int, where: str) -> int:
    if isinstance(count, bool) or not isinstance(count, int | np.integer):
        raise DemoError(f"{where}: \"num_examples\" is {_kind(count)}, expected an int")
    if not 0 < count <= n_rows:
        raise DemoError(f"{where}: \"num_examples\" is {count}, expected the rows used (1 to {n_rows})")
    return int(count)


def _check_metrics(metrics: object, required: tuple[str, ...], where: str) -> dict:
    if not isinstance(metrics, dict):
        raise DemoError(f"{where}: \"metrics\" is {_kind(metrics)}, expected a dict of numbers")
    missing = [name for name in required if name not in metrics]
    if missing:
        lacking = " and ".join(f'"{m}"' for m in missing)
        needed = " and ".join(f'"{m}"' for m in required)
        raise DemoError(f"{where}: \"metrics\" lacks {lacking}; the demo sums {needed} over the sites")
    for name, value in metrics.items():
        if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
            raise DemoError(f"{where}: metrics[{name!r}] is {_kind(value)}, expected a number")
        if not math.isfinite(float(value)):
            raise DemoError(f"{where}: metrics[{name!r}] is not finite")
    return metrics


def _kind(value: object) -> str:
    """How a wrong value is named in an error: its type, and its length when it has one."""
    name = type(value).__name__
    if isinstance(value, tuple | list | dict):
        return f"a {name} of {len(value)} item(s)"
    return "None" if value is None else f"a {name}"


def _load(source: str, filename: str, label: str) -> types.ModuleType:
    """The module loaded here, with its syntax and import-time errors located for people."""
    try:
        return load_module(source, filename)
    except SyntaxError as err:
        column = f", column {err.offset}" if err.offset else ""
        raise DemoError(f"{label} line {err.lineno}{column}: syntax error: {err.msg}") from None
    except Exception as err:
        raise DemoError(f"{label}: loading the module raised {_described(err, source, filename)}") from None


def _call(module: types.ModuleType, name: str, source: str, filename: str, label: str, *args: Any) -> Any:
    """Call one of the module's functions; an exception becomes a DemoError at its line."""
    try:
        return getattr(module, name)(*args)
    except Exception as err:
        signature = "(config)" if name == "init_weights" else "(data, weights, config)"
        mock = "" if name == "init_weights" else " on mock data"
        raise DemoError(f"{label}: {name}{signature}{mock} raised {_described(err, source, filename)}") from None


def _described(err: Exception, source: str, filename: str) -> str:
    """`Type: message (line N: `code`)`, the line being the module's deepest one in the traceback."""
    text = f"{type(err).__name__}: {err}" if str(err) else type(err).__name__
    frames = [f for f in traceback.extract_tb(err.__traceback__) if f.filename == filename]
    if frames and frames[-1].lineno:
        lines = source.splitlines()
        number = frames[-1].lineno
        code = lines[number - 1].strip() if number <= len(lines) else ""
        text += f" (line {number}: `{code}`)" if code else f" (line {number})"
    return text


def write_site_config(site: str, port: int, workdir: Path, policy: Path | None) -> Path:
    """A datasite config for one centre; secrets are named, never written."""
    upper = site.upper()
    policy_line = f'policy = "{policy.resolve()}"\n' if policy else ""
    text = (
        "[datasite]\n"
        f'name = "{site}"\n'
        f"port = {port}\n"
        f'data_dir = "{(workdir / site).resolve()}"\n'
        f'admin_email = "admin@{site}.example"\n'
        f'admin_password_env = "FEDSYFT_{upper}_ADMIN_PASSWORD"\n'
        f"{policy_line}\n"
        "[[datasets]]\n"
        'name = "heart"\n'
        'kind = "uci-heart"\n'
        f'path = "{(data_dir() / f"processed.{site}.data").resolve()}"\n'
        f'description = "UCI Heart Disease, {site} centre (1988)"\n\n'
        "[[scientists]]\n"
        f'email = "{SCIENTIST_EMAIL}"\n'
        'name = "Demo Scientist"\n'
        'password_env = "FEDSYFT_SCIENTIST_PASSWORD"\n'
    )
    path = workdir / f"{site}.toml"
    path.write_text(text)
    return path


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def launch_sites(
    sites: tuple[str, ...], workdir: Path, policy: Path | None = None
) -> tuple[list[DatasiteProcess], dict[str, str]]:
    """Launch one datasite per centre in parallel; return them and the scientist's password."""
    env = {f"FEDSYFT_{s.upper()}_ADMIN_PASSWORD": secrets.token_urlsafe(18) for s in sites}
    env["FEDSYFT_SCIENTIST_PASSWORD"] = secrets.token_urlsafe(18)
    configs = [write_site_config(s, free_port(), workdir, policy) for s in sites]
    started: list[DatasiteProcess] = []
    try:
        for config in configs:  # from this thread: a datasite dies with the thread that started it
            started.append(start(config, env=env))
        for site in started:  # they boot in parallel; wait for each in turn
            wait_ready(site)
    except BaseException:
        for site in started:
            site.stop()
        raise
    return started, env


def baselines(settings: DemoSettings, source: str) -> dict:
    """Pooled and local-only models, trained here on the raw files: comparison only."""
    module = load_module(source)
    splits = {c: heart.load_centre(data_dir(), c, seed=settings.seed) for c in settings.sites}
    tests = [te for _, te in splits.values()]
    total_epochs = {**settings.config(), "epochs": settings.epochs * settings.rounds}

    def accuracy(weights: dict) -> float:
        results = [module.evaluate(te, weights, {}) for te in tests]
        return sum(r["metrics"]["correct"] for r in results) / sum(r["num_examples"] for r in results)

    def fit(frame: pd.DataFrame) -> dict:
        return module.train(frame, module.init_weights(settings.config()), total_epochs)["weights"]

    pooled = pd.concat([tr for tr, _ in splits.values()], ignore_index=True)
    return {
        "note": "comparison only: trained on raw data outside the privacy boundary",
        "pooled": {"accuracy": accuracy(fit(pooled))},
        "local_only": {c: {"accuracy": accuracy(fit(tr))} for c, (tr, _) in splits.items()},
    }


def run(settings: DemoSettings, *, on_event: Callable[[str, dict], None] | None = None) -> dict:
    """Play every role; return the report (also written to OUT/report.json).

    Everything that can be checked without a datasite is checked first (`preflight`),
    so bad settings or a broken module fail in seconds, before anything is launched.
    """
    emit = on_event or (lambda kind, info: None)
    started = time.perf_counter()
    checked = preflight(settings)
    source, filename = checked.source, checked.filename
    emit("checked", {"module": filename, "policy": policy_path(settings).name})
    out = settings.out
    workdir = out / "sites"
    if workdir.exists():
        shutil.rmtree(workdir)  # the demo's own datasites from a previous run
    workdir.mkdir(parents=True)

    emit("launching", {"sites": list(settings.sites)})
    launch_started = time.perf_counter()
    sites, env = launch_sites(settings.sites, workdir, settings.policy)
    try:
        startup_s = time.perf_counter() - launch_started
        emit("launched", {"startup_s": startup_s, "urls": {s.name: s.url for s in sites}})
        urls = {s.name: s.url for s in sites}
        with contextlib.redirect_stdout(io.StringIO()):  # syft's "Logged into ..." banner per site
            fed = Federation.connect(urls, SCIENTIST_EMAIL, env["FEDSYFT_SCIENTIST_PASSWORD"])
        with fed:
            module = load_module(source, filename)
            weights = module.init_weights(settings.config())
            for name, mock in fed.mocks("train").items():  # try the code on each site's mock too
                config = {**settings.config(), "epochs": 1}
                update = _call(module, "train", source, filename, filename, mock, copy.deepcopy(weights), config)
                try:
                    check_update(update, weights, len(mock), filename)
                except DemoError as err:
                    raise DemoError(f"on {name}'s mock data: {err}") from None
            emit("mock_checked", {})
            submitted = fed.submit(source, filename, rounds=settings.rounds)
            n_submitted = sum(len(ids) for ids in submitted.values())
            emit("submitted", {"requests": n_submitted})
            approved = fed.wait_for_approval()  # raises SubmissionDenied with the owners' reasons
            emit("approved", {"requests": len(approved)})
            rounds = []
            for r in range(1, settings.rounds + 1):
                result = fed.train_round(r, weights, settings.config(r))
                weights = result.weights
                evaluation = fed.evaluate(weights, settings.config(r))
                row = {"round": r, "accuracy": evaluation.accuracy, "loss": evaluation.loss,
                       "wall_s": result.wall_s, "eval_wall_s": evaluation.wall_s,
                       "compute_s": result.compute_s, "sites_released": len(result.released)}
                rounds.append(row)
                emit("round", row)
            final = evaluation
            # example counts as each site's output gate released them in the last round
            site_rows = [
                {"name": s.name, "url": s.url,
                 "n_train": int(result.answers[s.name].value["num_examples"]),
                 "n_test": int(evaluation.answers[s.name].value["num_examples"])}
                for s in sites
            ]
        emit("baselines", {})
        compare = baselines(settings, source)
        report = {
            "dataset": "uci-heart-disease",
            "module": filename,
            "settings": {"rounds": settings.rounds, **settings.config()},
            "sites": site_rows,
            "rounds": rounds,
            "federated": {"accuracy": final.accuracy, "loss": final.loss,
                          "per_site_accuracy": final.per_site_accuracy()},
            "baselines": compare,
            "requests": {"submitted": n_submitted, "approved": len(approved),
                         "denied": n_submitted - len(approved)},
            "timing": timing(rounds, startup_s, time.perf_counter() - started),
            "audit_logs": {s.name: str((workdir / s.name / "audit.jsonl").resolve()) for s in sites},
        }
    finally:
        for site in sites:
            site.stop()
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(report, indent=2))
    plot(report, out / "training.png")
    emit("done", report)
    return report


def timing(rounds: list[dict], startup_s: float, total_s: float) -> dict:
    """The report's timing: startup, total, and per round the training and the evaluation (s)."""
    return {
        "startup_s": startup_s,
        "total_s": total_s,
        "mean_round_wall_s": float(np.mean([r["wall_s"] for r in rounds])),
        "mean_round_compute_s": float(np.mean([r["compute_s"] for r in rounds])),
        "mean_eval_wall_s": float(np.mean([r["eval_wall_s"] for r in rounds])),
    }


def plot(report: dict, path: Path) -> None:
    """Write the training figure (see `figure`) as a PNG."""
    import matplotlib.pyplot as plt

    fig = figure(report)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def figure(report: dict):  # noqa: ANN201 - a matplotlib Figure, imported lazily
    """Accuracy and loss per round, baselines as horizontal lines, the legend below both plots."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    rounds = [r["round"] for r in report["rounds"]]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.8), layout="constrained")
    left.plot(rounds, [r["accuracy"] for r in report["rounds"]], marker="o", label="federated (FedAvg)")
    left.axhline(report["baselines"]["pooled"]["accuracy"], color="k", linestyle="--",
                 label="pooled (outside privacy boundary)")
    for i, (site, base) in enumerate(report["baselines"]["local_only"].items()):
        left.axhline(base["accuracy"], color=f"C{i + 1}", linestyle=":", label=f"{site} alone")
    left.set(xlabel="round", ylabel="accuracy on all test splits", title="Accuracy")
    for axis in (left, right):
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))
    right.plot(rounds, [r["loss"] for r in report["rounds"]], marker="o", color="C3")
    right.set(xlabel="round", ylabel="mean loss per example", title="Loss")
    # below the axes, outside them: a legend inside the accuracy plot covered its lines
    handles, labels = left.get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=min(len(labels), 3), fontsize=8,
               frameon=False)
    names = [s["name"] for s in report.get("sites", [])] or list(report["baselines"]["local_only"])
    count = f"{len(names)} datasite{'s' * (len(names) != 1)}"
    fig.suptitle(f"fedsyft: UCI Heart Disease across {count} ({', '.join(names)})")
    return fig
