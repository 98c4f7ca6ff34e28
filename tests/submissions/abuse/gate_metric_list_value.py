"""Puts a whole private row in the `loss` metric as a list.

Expected to be stopped by: the output gate (runs, the result is blocked).
"""

import numpy as np

EXPECT = "gate"
REASON = "must be a scalar number"


def unchanged(weights):
    """The global weights, as a valid-looking (empty) update."""
    return {name: np.array(value, dtype=np.float32) for name, value in weights.items()}


def train(data, weights, config):
    return {"weights": unchanged(weights), "num_examples": len(data),
            "metrics": {"loss": data.iloc[0].tolist()}}


def evaluate(data, weights, config):
    """A harmless evaluation, so the module is a complete submission."""
    return {"num_examples": len(data), "metrics": {"correct": 0, "loss_sum": 0.0}}
