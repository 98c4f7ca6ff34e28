"""Trains on `data.head(1)` and says so: an update computed from a single patient.

Expected to be stopped by: the output gate (runs, the result is blocked).
"""

import numpy as np

EXPECT = "gate"
REASON = "below the policy's minimum"


def unchanged(weights):
    """The global weights, as a valid-looking (empty) update."""
    return {name: np.array(value, dtype=np.float32) for name, value in weights.items()}


def train(data, weights, config):
    one = data.head(1)
    new = unchanged(weights)
    new["weight"] = new["weight"] + np.float32(0.001) * one.drop(columns=["target"]).to_numpy(dtype=np.float32)
    return {"weights": new, "num_examples": len(one), "metrics": {"loss": 0.5}}


def evaluate(data, weights, config):
    """A harmless evaluation, so the module is a complete submission."""
    return {"num_examples": len(data), "metrics": {"correct": 0, "loss_sum": 0.0}}
