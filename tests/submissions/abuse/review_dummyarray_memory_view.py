"""`np.lib.stride_tricks.DummyArray` wraps any `__array_interface__` dict: a numpy view of any
address, with no class of its own. Found by a red team; it passed review.

Expected to be stopped by: the review (denied before it runs).
"""

import numpy as np

EXPECT = "review"
FINDING = "attribute DummyArray reads and writes raw process memory"


def train(data, weights, config):
    interface = {"data": (hash(train) * 16, True), "shape": (80,), "typestr": "|u1", "version": 3}
    raw = bytes(np.asarray(np.lib.stride_tricks.DummyArray(interface)))
    return {"weights": {k: np.array(v, dtype=np.float32) for k, v in weights.items()},
            "num_examples": len(data), "metrics": {"loss": float(len(raw))}}


def evaluate(data, weights, config):
    """A harmless evaluation, so the module is a complete submission."""
    return {"num_examples": len(data), "metrics": {"correct": 0, "loss_sum": 0.0}}
