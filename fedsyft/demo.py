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

import json
import secrets
import shutil
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from datasite import data as heart
from datasite.server import DatasiteProcess, start, wait_ready
from scientist.federation import Federation
from scientist.local import load_module, read_module

SCIENTIST_EMAIL = "scientist@fedsyft.example"
DEFAULT_SITES = heart.CENTRES


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
    """Play every role; return the report (also written to OUT/report.json)."""
    emit = on_event or (lambda kind, info: None)
    started = time.perf_counter()
    out = settings.out
    workdir = out / "sites"
    if workdir.exists():
        shutil.rmtree(workdir)  # the demo's own datasites from a previous run
    workdir.mkdir(parents=True)
    source, filename = read_module(module_path(settings))

    emit("launching", {"sites": list(settings.sites)})
    sites, env = launch_sites(settings.sites, workdir, settings.policy)
    try:
        startup_s = time.perf_counter() - started
        emit("launched", {"startup_s": startup_s, "urls": {s.name: s.url for s in sites}})
        urls = {s.name: s.url for s in sites}
        with Federation.connect(urls, SCIENTIST_EMAIL, env["FEDSYFT_SCIENTIST_PASSWORD"]) as fed:
            module = load_module(source, filename)
            weights = module.init_weights(settings.config())
            for name, mock in fed.mocks("train").items():  # try the code on mock data first
                update = module.train(mock, weights, {**settings.config(), "epochs": 1})
                if set(update["weights"]) != set(weights):
                    raise RuntimeError(f"the module's update on {name}'s mock has the wrong keys")
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
            "timing": {"startup_s": startup_s, "total_s": time.perf_counter() - started,
                       "mean_round_wall_s": float(np.mean([r["wall_s"] for r in rounds])),
                       "mean_round_compute_s": float(np.mean([r["compute_s"] for r in rounds]))},
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


def plot(report: dict, path: Path) -> None:
    """Accuracy and loss per round, baselines as horizontal lines."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    rounds = [r["round"] for r in report["rounds"]]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    left.plot(rounds, [r["accuracy"] for r in report["rounds"]], marker="o", label="federated (FedAvg)")
    left.axhline(report["baselines"]["pooled"]["accuracy"], color="k", linestyle="--",
                 label="pooled (outside privacy boundary)")
    for i, (site, base) in enumerate(report["baselines"]["local_only"].items()):
        left.axhline(base["accuracy"], color=f"C{i + 1}", linestyle=":", label=f"{site} alone")
    left.set(xlabel="round", ylabel="accuracy on all test splits", title="Accuracy")
    for axis in (left, right):
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))
    left.legend(fontsize=7, loc="lower right")
    right.plot(rounds, [r["loss"] for r in report["rounds"]], marker="o", color="C3")
    right.set(xlabel="round", ylabel="mean loss per example", title="Loss")
    fig.suptitle("fedsyft: UCI Heart Disease across four datasites")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
