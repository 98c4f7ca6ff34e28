"""Drops a weight and renames another to carry a private row under a new name.

Expected to be stopped by: the output gate (runs, the result is blocked).
"""

import numpy as np

EXPECT = "gate"
REASON = "weight keys differ from the global model"


def train(data, weights, config):
    new = {"weight": np.array(weights["weight"], dtype=np.float32),
           "bias_row": data.iloc[0].to_numpy(dtype=np.float32)}
    return {"weights": new, "num_examples": len(data), "metrics": {"loss": 0.5}}


def evaluate(data, weights, config):
    """A harmless evaluation, so the module is a complete submission."""
    return {"num_examples": len(data), "metrics": {"correct": 0, "loss_sum": 0.0}}
