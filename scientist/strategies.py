"""Aggregation rules: pure functions from released model updates to new global weights.

Every function takes `Updates`, a list of (weights, example count) pairs where weights map
state_dict names to numpy arrays, computes in float64 and returns each array in the dtype
it came in. No state, no I/O: the federation decides whom to ask and which rule to apply.
"""

from __future__ import annotations

import numpy as np

Weights = dict[str, np.ndarray]
Updates = list[tuple[Weights, int]]


def _check_updates(updates: Updates) -> list[str]:
    """Return the sorted weight names; raise if names, shapes, dtypes or counts disagree."""
    if not updates:
        raise ValueError("no updates to aggregate")
    first, _ = updates[0]
    names = sorted(first)
    for index, (weights, count) in enumerate(updates):
        if sorted(weights) != names:
            missing = sorted(set(names) - set(weights))
            extra = sorted(set(weights) - set(names))
            raise ValueError(
                f"update {index} has different weight names than update 0: "
                f"missing {missing}, unexpected {extra}"
            )
        for name in names:
            got, want = np.asarray(weights[name]), np.asarray(first[name])
            if got.shape != want.shape:
                raise ValueError(
                    f"update {index}: {name!r} has shape {got.shape}, update 0 has {want.shape}"
                )
            if got.dtype != want.dtype:
                raise ValueError(
                    f"update {index}: {name!r} has dtype {got.dtype}, update 0 has {want.dtype}"
                )
        if isinstance(count, bool) or not isinstance(count, int | np.integer) or count < 0:
            raise ValueError(f"update {index}: example count must be an int >= 0, got {count!r}")
    return names


def _as_dtype(value: np.ndarray, like: np.ndarray) -> np.ndarray:
    """Return float64 `value` cast back to the dtype of `like` (integers rounded)."""
    dtype = np.asarray(like).dtype
    if np.issubdtype(dtype, np.integer):
        value = np.rint(value)
    return np.asarray(value).astype(dtype)


def _stack(updates: Updates, name: str) -> np.ndarray:
    """Return the `name` arrays of all updates stacked along a new first axis, as float64."""
    return np.stack([np.asarray(weights[name], dtype=np.float64) for weights, _ in updates])


def fedavg(updates: Updates) -> Weights:
    """Return the mean of the updates weighted by their example counts (FedAvg)."""
    names = _check_updates(updates)
    counts = np.array([int(count) for _, count in updates], dtype=np.float64)
    total = counts.sum()
    if total <= 0:
        raise ValueError("fedavg needs a positive total example count; every update has 0")
    share = counts / total
    first, _ = updates[0]
    return {
        name: _as_dtype(np.tensordot(share, _stack(updates, name), axes=1), first[name])
        for name in names
    }


def fedmedian(updates: Updates) -> Weights:
    """Return the coordinate-wise median of the updates (example counts ignored)."""
    names = _check_updates(updates)
    first, _ = updates[0]
    return {
        name: _as_dtype(np.median(_stack(updates, name), axis=0), first[name]) for name in names
    }


def trimmed_mean(updates: Updates, trim_fraction: float) -> Weights:
    """Return the coordinate-wise mean without the trim_fraction lowest and highest values."""
    names = _check_updates(updates)
    if not 0.0 <= trim_fraction < 1.0:
        raise ValueError(f"trim_fraction must be in [0, 1), got {trim_fraction}")
    cut = int(trim_fraction * len(updates))
    if 2 * cut >= len(updates):
        raise ValueError(
            f"trim_fraction {trim_fraction} would trim all {len(updates)} updates "
            f"({cut} from each end)"
        )
    first, _ = updates[0]
    result = {}
    for name in names:
        ordered = np.sort(_stack(updates, name), axis=0)
        result[name] = _as_dtype(ordered[cut : len(updates) - cut].mean(axis=0), first[name])
    return result


def krum(updates: Updates, num_malicious: int, num_selected: int = 1) -> Weights:
    """Return the update closest to its neighbours (Krum), or FedAvg of the best `num_selected`."""
    names = _check_updates(updates)
    count = len(updates)
    if num_malicious < 0:
        raise ValueError(f"num_malicious must be >= 0, got {num_malicious}")
    if count < 2 * num_malicious + 3:
        raise ValueError(
            f"krum requires at least 2 * num_malicious + 3 updates "
            f"({2 * num_malicious + 3} for num_malicious={num_malicious}), got {count}"
        )
    if not 1 <= num_selected <= count:
        raise ValueError(f"num_selected must be between 1 and {count}, got {num_selected}")
    flat = np.stack(
        [
            np.concatenate([np.asarray(weights[n], dtype=np.float64).ravel() for n in names])
            for weights, _ in updates
        ]
    )
    distances = np.zeros((count, count))
    for i in range(count):  # pairwise loop: memory stays O(updates * parameters)
        for j in range(i + 1, count):
            distances[i, j] = distances[j, i] = float(np.sum((flat[i] - flat[j]) ** 2))
    neighbours = count - num_malicious - 2
    scores = np.empty(count)
    for i in range(count):
        others = np.delete(distances[i], i)  # a score never counts the update itself
        scores[i] = np.sort(others)[:neighbours].sum()
    ranked = np.argsort(scores, kind="stable")
    if num_selected == 1:
        best, _ = updates[int(ranked[0])]
        return {name: np.array(best[name], copy=True) for name in names}
    return fedavg([updates[int(i)] for i in ranked[:num_selected]])
