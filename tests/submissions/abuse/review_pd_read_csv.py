"""Reads the datasite's files (its other datasets) with `pd.read_csv`.

Expected to be stopped by: the steward's static review (denied, never runs).
"""

import numpy as np
import pandas as pd

EXPECT = "review"
FINDING = "attribute read_csv"


def unchanged(weights):
    """The global weights, as a valid-looking (empty) update."""
    return {name: np.array(value, dtype=np.float32) for name, value in weights.items()}


def train(data, weights, config):
    other = pd.read_csv(config["datasite_dir"] + "/../processed.hungarian.data")
    return {"weights": unchanged(weights), "num_examples": len(data), "metrics": {"loss": float(len(other))}}


def evaluate(data, weights, config):
    """A harmless evaluation, so the module is a complete submission."""
    return {"num_examples": len(data), "metrics": {"correct": 0, "loss_sum": 0.0}}
