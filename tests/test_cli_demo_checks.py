"""`fedsyft demo` refuses bad input in seconds, before any datasite is launched, and says why.

Also the demo's messages and figure: denials grouped by reason, the timing line with the
federated evaluation, the plot's title and legend.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import HEART_MODULE, REPO

FEDSYFT = [sys.executable, "-m", "fedsyft.cli"]
TRAIN_RETURN = 'return {"weights": new, "num_examples": len(data), "metrics": {"loss": total / steps}}'


def demo(tmp_path: Path, *args: object) -> subprocess.CompletedProcess:
    """Run `fedsyft demo` into tmp_path/out; it must give up well before a datasite could boot."""
    started = time.monotonic()
    run = subprocess.run([*FEDSYFT, "demo", "--out", str(tmp_path / "out"), *map(str, args)],
                         capture_output=True, text=True, cwd=REPO, env=dict(os.environ), timeout=90)
    run.elapsed = time.monotonic() - started
    return run


def assert_refused_before_launch(run: subprocess.CompletedProcess, tmp_path: Path, *needles: str) -> None:
    assert run.returncode in (1, 2), run.stdout + run.stderr
    assert "Traceback" not in run.stderr + run.stdout
    assert "launching" not in run.stdout, "a datasite was launched for input that could be checked first"
    assert not (tmp_path / "out" / "sites").exists()
    for needle in needles:
        assert needle in run.stderr, run.stderr


def module_variant(tmp_path: Path, name: str, old: str, new: str) -> Path:
    source = HEART_MODULE.read_text()
    assert old in source
    path = tmp_path / name
    path.write_text(source.replace(old, new))
    return path


def test_demo_refuses_duplicate_sites_before_launching(tmp_path):
    run = demo(tmp_path, "--sites", "cleveland,cleveland")
    assert_refused_before_launch(run, tmp_path, "cleveland", "more than once")


def test_demo_refuses_a_non_positive_learning_rate(tmp_path):
    for value in ("-1", "0", "nan"):
        run = demo(tmp_path, "--lr", value)
        assert_refused_before_launch(run, tmp_path, "--lr", "must be a positive number")


def test_demo_refuses_epochs_and_rounds_beyond_the_policy_naming_its_keys(tmp_path):
    run = demo(tmp_path, "--epochs", "100", "--rounds", "101")
    assert_refused_before_launch(run, tmp_path, "training.max_epochs = 20", "training.max_rounds = 100",
                                 "default.toml")
    assert run.elapsed < 30


def test_demo_refuses_a_module_without_init_weights_naming_the_file(tmp_path):
    module = module_variant(tmp_path, "no_init.py", "def init_weights(config):", "def initial(config):")
    run = demo(tmp_path, "--module", module)
    assert_refused_before_launch(run, tmp_path, str(module), "init_weights(config)", "fedsyft demo")


def test_demo_refuses_a_module_whose_train_returns_a_tuple(tmp_path):
    module = module_variant(tmp_path, "tuple_train.py", TRAIN_RETURN, "return new, len(data)")
    run = demo(tmp_path, "--module", module)
    assert_refused_before_launch(run, tmp_path, str(module), "train(data, weights, config)",
                                 "returned a tuple", "docs/CONTRACTS.md")


def test_demo_locates_an_exception_and_a_syntax_error_in_the_module(tmp_path):
    crash = module_variant(tmp_path, "crash.py", "    x, y = tensors(data)\n    optimiser",
                           "    x, y = tensors(data)\n    1 / 0\n    optimiser")
    line = crash.read_text().splitlines().index("    1 / 0") + 1
    run = demo(tmp_path, "--module", crash)
    assert_refused_before_launch(run, tmp_path, str(crash), "ZeroDivisionError", f"line {line}")
    broken = module_variant(tmp_path, "broken.py", "def train(data, weights, config):",
                            "def train(data, weights, config)")
    run = demo(tmp_path, "--module", broken)
    assert_refused_before_launch(run, tmp_path, str(broken), "syntax error")


def test_demo_reads_well_when_rounds_is_not_a_number(tmp_path):
    run = demo(tmp_path, "--rounds", "abc")
    assert_refused_before_launch(run, tmp_path, "invalid positive integer value: 'abc'")
    assert "_positive" not in run.stderr


def test_preflight_checks_module_results_against_the_contract(tmp_path):
    from fedsyft.demo import DemoError, DemoSettings, preflight

    preflight(DemoSettings())  # the shipped module passes
    cases = {
        "float64 weights": (TRAIN_RETURN, TRAIN_RETURN.replace('"weights": new',
                            '"weights": {k: v.astype("float64") for k, v in new.items()}'), "float64"),
        "evaluate without counts": ('"metrics": {"correct": correct, "loss_sum": float(loss_sum)}',
                                    '"metrics": {"accuracy": 0.5}', '"correct" and "loss_sum"'),
        "a metric the policy blocks": ('"metrics": {"loss": total / steps}',
                                       '"metrics": {"loss": total / steps, "f1": 0.5}', "output gate"),
    }
    for name, (old, new, needle) in cases.items():
        module = module_variant(tmp_path, "variant.py", old, new)
        with pytest.raises(DemoError, match=needle):
            preflight(DemoSettings(module=module, out=tmp_path / "out"))
        assert not (tmp_path / "out").exists(), name


def test_demo_denial_prints_each_reason_once_with_the_requests_it_applies_to():
    from fedsyft.cli import denial_message

    report = ("review: REJECTED (1 finding)\npolicy: default (sha256 ab)\ncode sha256: cd\n"
              "entrypoints: train, evaluate\nline 3:0 [import] module os is not in the policy")
    reasons = {f"{site}/{entry}": report for site in ("cleveland", "switzerland")
               for entry in ("evaluate", "train")}
    reasons["va/train"] = "uses too many epochs"
    message = denial_message(reasons, ["va/evaluate"], "fedsyft policy check leaky.py")
    assert message.count("module os is not in the policy") == 1
    assert message.count("review: REJECTED") == 1
    assert "cleveland/evaluate, cleveland/train, switzerland/evaluate, switzerland/train:" in message
    assert "va/train:\n    uses too many epochs" in message
    assert message.startswith("the code was denied on 3 datasite(s) (5 request(s))")
    assert "still undecided: va/evaluate" in message and "fedsyft policy check leaky.py" in message


def test_demo_timing_reports_training_and_evaluation_of_a_round():
    from fedsyft.cli import round_summary, timing_summary
    from fedsyft.demo import timing

    rounds = [{"round": 1, "accuracy": 0.7, "loss": 0.6, "wall_s": 1.5, "compute_s": 0.5, "eval_wall_s": 0.75},
              {"round": 2, "accuracy": 0.8, "loss": 0.5, "wall_s": 2.5, "compute_s": 0.7, "eval_wall_s": 1.25}]
    summary = timing(rounds, startup_s=30.0, total_s=40.0)
    assert summary["mean_round_wall_s"] == 2.0 and summary["mean_round_compute_s"] == pytest.approx(0.6)
    assert summary["mean_eval_wall_s"] == 1.0
    line = timing_summary(summary)
    assert "training 2.00 s (compute inside 0.60 s)" in line and "federated evaluation 1.00 s" in line
    assert "eval 0.75 s" in round_summary(rounds[0])


def demo_report(sites: list[str]) -> dict:
    return {"sites": [{"name": s} for s in sites],
            "rounds": [{"round": r, "accuracy": 0.55 + 0.03 * r, "loss": 1 / r} for r in range(1, 11)],
            "baselines": {"pooled": {"accuracy": 0.84},
                          "local_only": {s: {"accuracy": 0.6 + 0.05 * i} for i, s in enumerate(sites)}}}


def test_plot_title_names_the_sites_and_the_legend_covers_no_line(tmp_path):
    import matplotlib.pyplot as plt

    from fedsyft.demo import figure, plot

    fig = figure(demo_report(["cleveland", "va"]))
    try:
        title = fig.get_suptitle()
        assert "2 datasites" in title and "cleveland, va" in title and "four" not in title
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()
        legends = fig.legends + [a.get_legend() for a in fig.axes if a.get_legend() is not None]
        assert legends
        for legend in legends:
            box = legend.get_window_extent(renderer)
            for axis in fig.axes:
                assert not axis.get_window_extent(renderer).overlaps(box), "the legend covers a plot"
    finally:
        plt.close(fig)
    plot(demo_report(["cleveland", "hungarian", "switzerland", "va"]), tmp_path / "training.png")
    assert (tmp_path / "training.png").stat().st_size > 10_000
