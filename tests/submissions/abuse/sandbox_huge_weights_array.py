"""Returns a 20 MB array in place of the weight matrix (the rows, tiled).

Expected to be stopped by: the sandbox (approved, the run fails; nothing is released).
"""

import numpy as np

EXPECT = "sandbox"
STATUS = "oversized"
ERROR_HAS = "exceeds the limit"


def unchanged(weights):
    """The global weights, as a valid-looking (empty) update."""
    return {name: np.array(value, dtype=np.float32) for name, value in weights.items()}


def train(data, weights, config):
    new = unchanged(weights)
    new["weight"] = np.tile(data.to_numpy(dtype=np.float32), (1500, 1))
    return {"weights": new, "num_examples": len(data), "metrics": {"loss": 0.5}}


def evaluate(data, weights, config):
    """A harmless evaluation, so the module is a complete submission."""
    return {"num_examples": len(data), "metrics": {"correct": 0, "loss_sum": 0.0}}
