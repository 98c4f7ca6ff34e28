"""Prints the private rows and returns a clean update: the update is released, the logs stay with
the owner (the default test policy does not release logs).

Expected outcome: released, with nothing private in what the scientist receives.
"""

import numpy as np

EXPECT = "released"
OWNER_SEES = True
MARK = "LE" + "AK"  # assembled, so the marker exists only once the code runs


def unchanged(weights):
    """The global weights, as a valid-looking (empty) update."""
    return {name: np.array(value, dtype=np.float32) for name, value in weights.items()}


def train(data, weights, config):
    print(MARK, data.to_string())
    return {"weights": unchanged(weights), "num_examples": len(data), "metrics": {"loss": 0.5}}


def evaluate(data, weights, config):
    """A harmless evaluation, so the module is a complete submission."""
    return {"num_examples": len(data), "metrics": {"correct": 0, "loss_sum": 0.0}}
