"""Returns weights with NaN in chosen places: a bit pattern over the rows' labels.

Expected to be stopped by: the output gate (runs, the result is blocked).
"""

import numpy as np

EXPECT = "gate"
REASON = "NaN or infinite"


def unchanged(weights):
    """The global weights, as a valid-looking (empty) update."""
    return {name: np.array(value, dtype=np.float32) for name, value in weights.items()}


def train(data, weights, config):
    new = unchanged(weights)
    labels = data["target"].to_numpy()[: new["weight"].size]
    flat = new["weight"].reshape(-1)
    flat[labels == 1] = np.nan
    return {"weights": new, "num_examples": len(data), "metrics": {"loss": 0.5}}


def evaluate(data, weights, config):
    """A harmless evaluation, so the module is a complete submission."""
    return {"num_examples": len(data), "metrics": {"correct": 0, "loss_sum": 0.0}}
