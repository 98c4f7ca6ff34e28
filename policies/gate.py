"""The output gate: the only way a result leaves a datasite.

A result is released only in one of two shapes (DESIGN.md, the training
contract): a model update matching the round's global weights, or scalar
metrics over enough rows. Everything is rebuilt from checked values, so
nothing rides along with a released result.

A blocked result's reasons reach the scientist, so they never quote anything
the submitted code chose (key names, counts, shapes, dtypes, norms): that
would turn the refusal itself into an exfiltration channel. The owner's audit
log gets the full details.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

from policies.policy import Policy

Kind = Literal["model_update", "metrics"]

# Bounds a metric of a known name must respect; `n` is the example count.
_KNOWN_METRICS = {
    "correct": lambda v, n: float(v).is_integer() and 0 <= v <= n,
    "accuracy": lambda v, n: 0.0 <= v <= 1.0,
    "loss": lambda v, n: v >= 0.0,
    "loss_sum": lambda v, n: v >= 0.0,
}


@dataclass(frozen=True)
class GateDecision:
    """What the gate did with one result: released (value set) or blocked (reasons)."""

    kind: Kind
    released: bool
    value: dict | None = None
    reasons: tuple[str, ...] = ()  # for the scientist: never a name, number or type taken from the result
    details: tuple[str, ...] = ()  # for the owner's audit log: what exactly was wrong
    update_norm: float | None = None
    clipped: bool = False

    @property
    def reason(self) -> str:
        """All scientist-facing reasons in one line."""
        return "; ".join(self.reasons)

    @property
    def detail(self) -> str:
        """All owner-facing details in one line."""
        return "; ".join(self.details)


class _Problems:
    """Reasons a result is blocked: what the scientist may read, and what the owner logs."""

    def __init__(self) -> None:
        self.public: list[str] = []
        self.details: list[str] = []

    def add(self, public: str, detail: str | None = None) -> None:
        if public not in self.public:
            self.public.append(public)
        self.details.append(detail or public)

    def __bool__(self) -> bool:
        return bool(self.public)

    def blocked(self, kind: Kind, update_norm: float | None = None) -> GateDecision:
        return GateDecision(kind, False, reasons=tuple(self.public), details=tuple(self.details),
                            update_norm=update_norm)


class OutputGate:
    """Checks results against one policy; ask it, it answers with a GateDecision."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy

    def check(
        self, kind: Kind, result: object, *, global_weights: dict | None, n_rows: int
    ) -> GateDecision:
        """Gate a result of the given kind computed over `n_rows` private rows."""
        problems = _Problems()
        if kind not in self.policy.output.allowed:
            problems.add(f"the policy releases no {kind} results")
            return problems.blocked(kind)
        if kind == "model_update":
            if global_weights is None:
                problems.add("no global weights for this round")
                return problems.blocked(kind)
            return self.check_update(result, global_weights, n_rows)
        return self.check_metrics(result, n_rows)

    def check_update(self, result: object, global_weights: dict, n_rows: int) -> GateDecision:
        """Gate a model update against the round's global weights."""
        problems = _Problems()
        if not isinstance(result, dict):
            problems.add("result must be a dict", f"result is a {type(result).__name__}")
            return problems.blocked("model_update")
        extra = set(result) - {"weights", "num_examples", "metrics"}
        if extra:
            problems.add("unexpected keys in the result", f"unexpected keys {sorted(map(str, extra))}")
        count = self._check_count(result.get("num_examples"), n_rows, problems)
        metrics = self._check_metrics_dict(result.get("metrics", {}), count, problems)
        weights = result.get("weights")
        if not isinstance(weights, dict):
            problems.add("`weights` must be a dict of arrays")
            return problems.blocked("model_update")
        if set(weights) != set(global_weights):
            missing = sorted(set(global_weights) - set(weights))
            added = sorted(map(str, set(weights) - set(global_weights)))
            problems.add(
                f"weight keys differ from the global model (missing {missing}"
                f"{', and extra keys' if added else ''})",
                f"weight keys differ from the global model (missing {missing}, extra {added})",
            )
            return problems.blocked("model_update")
        released: dict[str, np.ndarray] = {}
        for name, reference in global_weights.items():
            array = weights[name]
            expected = f"{reference.dtype}{list(reference.shape)}"
            if not isinstance(array, np.ndarray):
                problems.add(f"weights[{name!r}] must be an array",
                             f"weights[{name!r}] is a {type(array).__name__}")
                continue
            if array.shape != reference.shape or array.dtype != reference.dtype:
                problems.add(f"weights[{name!r}] is not what the global model has ({expected})",
                             f"weights[{name!r}] is {array.dtype}{list(array.shape)}, expected {expected}")
                continue
            if not np.isfinite(array).all():
                problems.add(f"weights[{name!r}] has NaN or infinite values")
                continue
            released[name] = np.array(array, dtype=reference.dtype, copy=True)
        size = sum(a.nbytes for a in released.values())
        if size > self.policy.limits.result_bytes:
            problems.add(f"the update exceeds the policy's {self.policy.limits.result_bytes} bytes",
                         f"the update is {size} bytes")
        if problems:
            return problems.blocked("model_update")

        delta_sq = sum(
            float(np.sum((released[k].astype(np.float64) - global_weights[k].astype(np.float64)) ** 2))
            for k in released
        )
        norm = math.sqrt(delta_sq)
        bound = self.policy.output.update_norm_bound
        clipped = False
        if norm > bound:
            if self.policy.output.on_norm_exceeded == "block":
                problems.add(f"the update norm exceeds the policy's bound {bound:.4g}",
                             f"update norm {norm:.6g} exceeds the bound {bound:.4g}")
                return problems.blocked("model_update", update_norm=norm)
            scale = bound / norm
            for k in released:
                g = global_weights[k].astype(np.float64)
                released[k] = (g + (released[k].astype(np.float64) - g) * scale).astype(
                    global_weights[k].dtype
                )
            clipped = True
        value = {"weights": released, "num_examples": count, "metrics": metrics}
        return GateDecision("model_update", True, value=value, update_norm=norm, clipped=clipped)

    def check_metrics(self, result: object, n_rows: int) -> GateDecision:
        """Gate an evaluation result: scalar allowed metrics over enough rows."""
        problems = _Problems()
        if not isinstance(result, dict):
            problems.add("result must be a dict", f"result is a {type(result).__name__}")
            return problems.blocked("metrics")
        extra = set(result) - {"num_examples", "metrics"}
        if extra:
            problems.add("unexpected keys in the result", f"unexpected keys {sorted(map(str, extra))}")
        count = self._check_count(result.get("num_examples"), n_rows, problems)
        metrics = self._check_metrics_dict(result.get("metrics"), count, problems)
        if not metrics and not problems:
            problems.add("no metrics to release")
        if problems:
            return problems.blocked("metrics")
        return GateDecision("metrics", True, value={"num_examples": count, "metrics": metrics})

    def _check_count(self, count: object, n_rows: int, problems: _Problems) -> int:
        """An honest example count: an int between the policy's minimum rows and the data size."""
        minimum = self.policy.output.min_rows
        if isinstance(count, bool) or not isinstance(count, int | np.integer):
            problems.add("`num_examples` must be an integer", f"`num_examples` is a {type(count).__name__}")
            return 0
        count = int(count)
        if count > n_rows:
            problems.add("`num_examples` exceeds the rows of the data",
                         f"`num_examples` {count} exceeds the {n_rows} rows of the data")
        elif count < minimum:
            problems.add(f"`num_examples` is below the policy's minimum of {minimum} rows",
                         f"`num_examples` {count} is below the minimum of {minimum} rows")
        return count

    def _check_metrics_dict(self, metrics: object, count: int, problems: _Problems) -> dict:
        """Scalar, finite metrics of allowed names, within the bounds of known names."""
        if not isinstance(metrics, dict):
            problems.add("`metrics` must be a dict of scalars")
            return {}
        allowed = set(self.policy.output.metric_names)
        clean: dict[str, float | int] = {}
        for name, value in metrics.items():
            if name not in allowed:
                problems.add("a metric name is not allowed by the policy",
                             f"metric {str(name)[:80]!r} is not allowed by the policy")
                continue
            if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
                problems.add(f"metric {name!r} must be a scalar number",
                             f"metric {name!r} is a {type(value).__name__}")
                continue
            number = float(value)
            if not math.isfinite(number):
                problems.add(f"metric {name!r} is not finite")
                continue
            check = _KNOWN_METRICS.get(name)
            if check is not None and not check(number, count):
                problems.add(f"metric {name!r} is out of its range",
                             f"metric {name!r} = {number!r} is out of its range for {count} examples")
                continue
            clean[name] = int(number) if name == "correct" else number
        return clean
