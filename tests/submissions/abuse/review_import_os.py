"""Imports `os` to list the datasite's data directory; `os` is not in the default policy's imports.

Expected to be stopped by: the steward's static review (denied, never runs).
"""

import os

import numpy as np

EXPECT = "review"
FINDING = "module os is not in the policy's allowed imports"


def unchanged(weights):
    """The global weights, as a valid-looking (empty) update."""
    return {name: np.array(value, dtype=np.float32) for name, value in weights.items()}


def train(data, weights, config):
    names = os.listdir(config["datasite_dir"])
    return {"weights": unchanged(weights), "num_examples": len(data),
            "metrics": {"loss": float(len(names))}}


def evaluate(data, weights, config):
    """A harmless evaluation, so the module is a complete submission."""
    return {"num_examples": len(data), "metrics": {"correct": 0, "loss_sum": 0.0}}
