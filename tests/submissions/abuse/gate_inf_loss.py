"""Returns an infinite loss, a signal the scientist could read as a bit.

Expected to be stopped by: the output gate (runs, the result is blocked).
"""

import numpy as np

EXPECT = "gate"
REASON = "is not finite"


def unchanged(weights):
    """The global weights, as a valid-looking (empty) update."""
    return {name: np.array(value, dtype=np.float32) for name, value in weights.items()}


def train(data, weights, config):
    bit = float(data["target"].iloc[0])
    return {"weights": unchanged(weights), "num_examples": len(data),
            "metrics": {"loss": float("inf") if bit else 0.5}}


def evaluate(data, weights, config):
    """A harmless evaluation, so the module is a complete submission."""
    return {"num_examples": len(data), "metrics": {"correct": 0, "loss_sum": 0.0}}
