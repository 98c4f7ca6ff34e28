"""Evaluation returns its metrics plus the rows of the test split.

Expected to be stopped by: the output gate (runs, the result is blocked).
"""

import numpy as np

EXPECT = "gate"
ENTRY = "evaluate"
REASON = "unexpected keys"
MARK = "LE" + "AK"  # assembled, so the marker exists only once the code runs


def unchanged(weights):
    """The global weights, as a valid-looking (empty) update."""
    return {name: np.array(value, dtype=np.float32) for name, value in weights.items()}


def train(data, weights, config):
    """A harmless training step, so the module is a complete submission."""
    return {"weights": unchanged(weights), "num_examples": len(data), "metrics": {"loss": 0.5}}


def evaluate(data, weights, config):
    return {"num_examples": len(data), "metrics": {"correct": 0, "loss_sum": 1.0},
            "rows": data.to_numpy(), "note": MARK + str(data.iloc[0].tolist())}
