"""The output gate: the only way a result leaves a datasite.

A result is released only in one of two shapes (DESIGN.md, the training
contract): a model update matching the round's global weights, or scalar
metrics over enough rows. Everything is rebuilt from checked values, so
nothing rides along with a released result.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
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
    reasons: tuple[str, ...] = ()
    update_norm: float | None = None
    clipped: bool = False
    notes: tuple[str, ...] = field(default=())

    @property
    def reason(self) -> str:
        """All reasons in one line."""
        return "; ".join(self.reasons)


class OutputGate:
    """Checks results against one policy; ask it, it answers with a GateDecision."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy

    def check(
        self, kind: Kind, result: object, *, global_weights: dict | None, n_rows: int
    ) -> GateDecision:
        """Gate a result of the given kind computed over `n_rows` private rows."""
        if kind not in self.policy.output.allowed:
            return GateDecision(kind, False, reasons=(f"the policy releases no {kind} results",))
        if kind == "model_update":
            if global_weights is None:
                return GateDecision(kind, False, reasons=("no global weights for this round",))
            return self.check_update(result, global_weights, n_rows)
        return self.check_metrics(result, n_rows)

    def check_update(self, result: object, global_weights: dict, n_rows: int) -> GateDecision:
        """Gate a model update against the round's global weights."""
        reasons: list[str] = []
        if not isinstance(result, dict):
            return _blocked("model_update", f"result must be a dict, got {type(result).__name__}")
        extra = set(result) - {"weights", "num_examples", "metrics"}
        if extra:
            reasons.append(f"unexpected keys {sorted(map(str, extra))}")
        count = self._check_count(result.get("num_examples"), n_rows, reasons)
        metrics = self._check_metrics_dict(result.get("metrics", {}), count, reasons)
        weights = result.get("weights")
        if not isinstance(weights, dict):
            reasons.append("`weights` must be a dict of arrays")
            return _blocked("model_update", *reasons)
        if set(weights) != set(global_weights):
            missing = sorted(set(global_weights) - set(weights))
            added = sorted(map(str, set(weights) - set(global_weights)))
            reasons.append(f"weight keys differ from the global model (missing {missing}, extra {added})")
            return _blocked("model_update", *reasons)
        released: dict[str, np.ndarray] = {}
        for name, reference in global_weights.items():
            array = weights[name]
            if not isinstance(array, np.ndarray):
                reasons.append(f"weights[{name!r}] must be an array, got {type(array).__name__}")
                continue
            if array.shape != reference.shape or array.dtype != reference.dtype:
                reasons.append(
                    f"weights[{name!r}] is {array.dtype}{list(array.shape)}, "
                    f"the global model has {reference.dtype}{list(reference.shape)}"
                )
                continue
            if not np.isfinite(array).all():
                reasons.append(f"weights[{name!r}] has NaN or infinite values")
                continue
            released[name] = np.array(array, dtype=reference.dtype, copy=True)
        size = sum(a.nbytes for a in released.values())
        if size > self.policy.limits.result_bytes:
            reasons.append(f"update is {size} bytes, the policy allows {self.policy.limits.result_bytes}")
        if reasons:
            return _blocked("model_update", *reasons)

        delta_sq = sum(
            float(np.sum((released[k].astype(np.float64) - global_weights[k].astype(np.float64)) ** 2))
            for k in released
        )
        norm = math.sqrt(delta_sq)
        bound = self.policy.output.update_norm_bound
        clipped = False
        if norm > bound:
            if self.policy.output.on_norm_exceeded == "block":
                return GateDecision(
                    "model_update", False, update_norm=norm,
                    reasons=(f"update norm {norm:.4g} exceeds the policy's bound {bound:.4g}",),
                )
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
        reasons: list[str] = []
        if not isinstance(result, dict):
            return _blocked("metrics", f"result must be a dict, got {type(result).__name__}")
        extra = set(result) - {"num_examples", "metrics"}
        if extra:
            reasons.append(f"unexpected keys {sorted(map(str, extra))}")
        count = self._check_count(result.get("num_examples"), n_rows, reasons)
        metrics = self._check_metrics_dict(result.get("metrics"), count, reasons)
        if not metrics and not reasons:
            reasons.append("no metrics to release")
        if reasons:
            return _blocked("metrics", *reasons)
        return GateDecision("metrics", True, value={"num_examples": count, "metrics": metrics})

    def _check_count(self, count: object, n_rows: int, reasons: list[str]) -> int:
        """An honest example count: an int between the policy's minimum rows and the data size."""
        minimum = self.policy.output.min_rows
        if isinstance(count, bool) or not isinstance(count, int | np.integer):
            reasons.append(f"`num_examples` must be an integer, got {type(count).__name__}")
            return 0
        count = int(count)
        if count > n_rows:
            reasons.append(f"`num_examples` {count} exceeds the {n_rows} rows of the data")
        elif count < minimum:
            reasons.append(f"`num_examples` {count} is below the policy's minimum of {minimum} rows")
        return count

    def _check_metrics_dict(self, metrics: object, count: int, reasons: list[str]) -> dict:
        """Scalar, finite metrics of allowed names, within the bounds of known names."""
        if not isinstance(metrics, dict):
            reasons.append("`metrics` must be a dict of scalars")
            return {}
        allowed = set(self.policy.output.metric_names)
        clean: dict[str, float | int] = {}
        for name, value in metrics.items():
            if name not in allowed:
                reasons.append(f"metric {str(name)[:40]!r} is not allowed by the policy")
                continue
            if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
                reasons.append(f"metric {name!r} must be a scalar number")
                continue
            number = float(value)
            if not math.isfinite(number):
                reasons.append(f"metric {name!r} is not finite")
                continue
            check = _KNOWN_METRICS.get(name)
            if check is not None and not check(number, count):
                reasons.append(f"metric {name!r} is out of its range")
                continue
            clean[name] = int(number) if name == "correct" else number
        return clean


def _blocked(kind: Kind, *reasons: str) -> GateDecision:
    return GateDecision(kind, False, reasons=tuple(reasons))
