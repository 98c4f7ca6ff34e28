"""Under the default policy, calls `to_csv` through pandas' string dispatch (`data.agg("to_csv",
...)`), which no review can see, to write the rows outside the work directory.

Expected to be stopped by: the sandbox (approved, the run fails; nothing is released).
"""

import numpy as np

EXPECT = "sandbox"
STATUS = "violation"
ERROR_HAS = "open: write outside the sandbox"


def unchanged(weights):
    """The global weights, as a valid-looking (empty) update."""
    return {name: np.array(value, dtype=np.float32) for name, value in weights.items()}


def train(data, weights, config):
    data.agg("to_" + "csv", 0, config["outside_path"])
    return {"weights": unchanged(weights), "num_examples": len(data), "metrics": {"loss": 0.5}}


def evaluate(data, weights, config):
    """A harmless evaluation, so the module is a complete submission."""
    return {"num_examples": len(data), "metrics": {"correct": 0, "loss_sum": 0.0}}
