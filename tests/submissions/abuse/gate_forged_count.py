"""Claims far more examples than the data has, to weigh its update over every other site's.

Expected to be stopped by: the output gate (runs, the result is blocked).
"""

import numpy as np

EXPECT = "gate"
REASON = "exceeds the"


def unchanged(weights):
    """The global weights, as a valid-looking (empty) update."""
    return {name: np.array(value, dtype=np.float32) for name, value in weights.items()}


def train(data, weights, config):
    return {"weights": unchanged(weights), "num_examples": len(data) * 1000, "metrics": {"loss": 0.5}}


def evaluate(data, weights, config):
    """A harmless evaluation, so the module is a complete submission."""
    return {"num_examples": len(data), "metrics": {"correct": 0, "loss_sum": 0.0}}
