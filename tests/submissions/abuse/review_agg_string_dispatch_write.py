"""Calls `to_csv` through pandas' string dispatch (`data.agg("to_" + "csv", ...)`), a method
name built at run time, to write the rows outside the work directory. (Before review knew
string dispatch, the sandbox stopped the write: "open: write outside the sandbox".)

Expected to be stopped by: the review (denied before it runs).
"""

import numpy as np

EXPECT = "review"
FINDING = "may call a method by a name built at run time"


def unchanged(weights):
    """The global weights, as a valid-looking (empty) update."""
    return {name: np.array(value, dtype=np.float32) for name, value in weights.items()}


def train(data, weights, config):
    data.agg("to_" + "csv", 0, config["outside_path"])
    return {"weights": unchanged(weights), "num_examples": len(data), "metrics": {"loss": 0.5}}


def evaluate(data, weights, config):
    """A harmless evaluation, so the module is a complete submission."""
    return {"num_examples": len(data), "metrics": {"correct": 0, "loss_sum": 0.0}}
