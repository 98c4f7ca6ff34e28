"""KNOWN RESIDUAL CHANNEL, not blocked: a private row (scaled down to keep the update norm under
the bound) is written into the weight matrix. Keys, shapes, dtype, finiteness and norm are all
valid, so the gate releases it and the scientist recovers the row exactly; only differential
privacy (clipping plus noise) or secure aggregation can close this channel.

Expected outcome: RELEASED (a documented residual channel; it does not count as a blocked
attack).
"""

import numpy as np

EXPECT = "released"
RESIDUAL = "weights"


def unchanged(weights):
    """The global weights, as a valid-looking (empty) update."""
    return {name: np.array(value, dtype=np.float32) for name, value in weights.items()}


def train(data, weights, config):
    new = unchanged(weights)
    row = data.drop(columns=["target"]).to_numpy(dtype=np.float32)[:1]
    new["weight"] = new["weight"] + row / np.float32(100.0)
    return {"weights": new, "num_examples": len(data), "metrics": {"loss": 0.5}}


def evaluate(data, weights, config):
    """A harmless evaluation, so the module is a complete submission."""
    return {"num_examples": len(data), "metrics": {"correct": 0, "loss_sum": 0.0}}
