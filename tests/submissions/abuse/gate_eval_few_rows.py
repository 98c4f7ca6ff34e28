"""Evaluation over 3 rows only: metrics that describe individual patients.

Expected to be stopped by: the output gate (runs, the result is blocked).
"""

import numpy as np

EXPECT = "gate"
ENTRY = "evaluate"
REASON = "below the policy's minimum"


def unchanged(weights):
    """The global weights, as a valid-looking (empty) update."""
    return {name: np.array(value, dtype=np.float32) for name, value in weights.items()}


def train(data, weights, config):
    """A harmless training step, so the module is a complete submission."""
    return {"weights": unchanged(weights), "num_examples": len(data), "metrics": {"loss": 0.5}}


def evaluate(data, weights, config):
    few = data.head(3)
    return {"num_examples": len(few), "metrics": {"correct": int(few["target"].sum()), "loss_sum": 1.0}}
