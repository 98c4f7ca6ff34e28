"""The legitimate submission corpus: every module follows the training contract and learns.

This is a unit test of the corpus, not of the sandbox: each module runs in-process with
plain `exec` into a fresh module namespace.
"""

from __future__ import annotations

import ast
import math
import types
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from datasite.data import load_centre

REPO = Path(__file__).resolve().parents[1]
LEGIT_DIR = Path(__file__).resolve().parent / "submissions" / "legit"
MODULES = sorted(LEGIT_DIR.glob("*.py"))
CONFIG = {"epochs": 5, "lr": 0.05, "batch_size": 32, "seed": 0}
ALLOWED_IMPORTS = {
    "torch", "numpy", "pandas", "math", "collections", "itertools",
    "functools", "typing", "dataclasses", "copy", "random",
}  # fmt: skip
FORBIDDEN_CALLS = {
    "eval", "exec", "compile", "open", "getattr", "setattr", "delattr", "vars",
    "globals", "locals", "input", "breakpoint", "__import__",
}  # fmt: skip


@pytest.fixture(scope="module")
def cleveland() -> tuple[pd.DataFrame, pd.DataFrame]:
    return load_centre(REPO / "fedsyft" / "data" / "uci-heart-disease", "cleveland")


def _load(path: Path) -> types.ModuleType:
    module = types.ModuleType(f"legit_{path.stem}")
    # dont_inherit: this file's `from __future__ import annotations` must not leak into the
    # module (string annotations break @dataclass in a module missing from sys.modules)
    code = compile(path.read_text(), str(path), "exec", dont_inherit=True)
    exec(code, module.__dict__)
    return module


def _same_layout(got: dict, want: dict) -> None:
    assert set(got) == set(want)
    for name, array in want.items():
        assert isinstance(got[name], np.ndarray), name
        assert got[name].shape == array.shape, name
        assert got[name].dtype == np.float32, name


def test_corpus_has_ten_modules() -> None:
    assert len(MODULES) == 10


@pytest.mark.parametrize("path", MODULES, ids=[p.stem for p in MODULES])
def test_legit_module_learns_cleveland(path: Path, cleveland) -> None:
    train_rows, test_rows = cleveland
    module = _load(path)
    initial = module.init_weights(dict(CONFIG))
    assert all(isinstance(v, np.ndarray) and v.dtype == np.float32 for v in initial.values())

    result = module.train(train_rows, initial, dict(CONFIG))
    assert set(result) == {"weights", "num_examples", "metrics"}
    _same_layout(result["weights"], initial)
    assert all(np.isfinite(v).all() for v in result["weights"].values())
    assert result["num_examples"] == len(train_rows)
    assert type(result["num_examples"]) is int
    assert set(result["metrics"]) == {"loss"}
    assert isinstance(result["metrics"]["loss"], float)
    assert math.isfinite(result["metrics"]["loss"])

    report = module.evaluate(test_rows, result["weights"], dict(CONFIG))
    assert set(report) == {"num_examples", "metrics"}
    assert report["num_examples"] == len(test_rows)
    assert set(report["metrics"]) == {"correct", "loss_sum"}
    assert type(report["metrics"]["correct"]) is int
    assert isinstance(report["metrics"]["loss_sum"], float)
    accuracy = report["metrics"]["correct"] / report["num_examples"]
    assert accuracy >= 0.70, f"{path.name}: accuracy {accuracy:.3f} after 5 epochs"


@pytest.mark.parametrize("path", MODULES, ids=[p.stem for p in MODULES])
def test_legit_module_is_deterministic_for_a_seed(path: Path, cleveland) -> None:
    train_rows, _ = cleveland
    module = _load(path)
    initial = module.init_weights(dict(CONFIG))
    config = dict(CONFIG, epochs=2)
    first = module.train(train_rows, initial, config)["weights"]
    again = module.train(train_rows, initial, config)["weights"]
    for name in first:
        np.testing.assert_array_equal(first[name], again[name])


@pytest.mark.parametrize("path", MODULES, ids=[p.stem for p in MODULES])
def test_legit_module_trains_no_more_than_config_epochs(path: Path, cleveland) -> None:
    train_rows, _ = cleveland
    module = _load(path)
    initial = module.init_weights(dict(CONFIG))
    result = module.train(train_rows, initial, dict(CONFIG, epochs=0))
    for name, array in initial.items():
        np.testing.assert_array_equal(result["weights"][name], array)


@pytest.mark.parametrize("path", MODULES, ids=[p.stem for p in MODULES])
def test_legit_module_leaves_its_inputs_unchanged(path: Path, cleveland) -> None:
    train_rows, _ = cleveland
    rows = train_rows.copy()
    module = _load(path)
    initial = module.init_weights(dict(CONFIG))
    saved = {name: array.copy() for name, array in initial.items()}
    module.train(rows, initial, dict(CONFIG, epochs=1))
    pd.testing.assert_frame_equal(rows, train_rows)
    for name, array in saved.items():
        np.testing.assert_array_equal(initial[name], array)


def _super_init(node: ast.Attribute) -> bool:
    """Return whether `node` is the `super().__init__` in `super().__init__(...)`."""
    call = node.value
    return (
        node.attr == "__init__"
        and isinstance(call, ast.Call)
        and isinstance(call.func, ast.Name)
        and call.func.id == "super"
    )


@pytest.mark.parametrize("path", MODULES, ids=[p.stem for p in MODULES])
def test_legit_module_uses_only_allowed_code(path: Path) -> None:
    tree = ast.parse(path.read_text())
    names = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    assert {"train", "evaluate", "init_weights"} <= names
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots = {alias.name.split(".")[0] for alias in node.names}
            assert roots <= ALLOWED_IMPORTS, f"line {node.lineno}: import {roots}"
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0 and node.module, f"line {node.lineno}: relative import"
            root = node.module.split(".")[0]
            assert root in ALLOWED_IMPORTS, f"line {node.lineno}: from {node.module}"
        elif isinstance(node, ast.Attribute) and node.attr.startswith("__"):
            assert _super_init(node), f"line {node.lineno}: .{node.attr}"
        elif isinstance(node, ast.Name):
            assert not node.id.startswith("__"), f"line {node.lineno}: {node.id}"
            assert node.id not in FORBIDDEN_CALLS, f"line {node.lineno}: {node.id}"
