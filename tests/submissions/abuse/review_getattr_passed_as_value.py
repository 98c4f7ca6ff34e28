"""Passes `getattr` itself to `functools.reduce` to walk a dunder chain.

Expected to be stopped by: the steward's static review (denied, never runs).
"""

import functools

import numpy as np

EXPECT = "review"
FINDING = "getattr may only be called directly"


def unchanged(weights):
    """The global weights, as a valid-looking (empty) update."""
    return {name: np.array(value, dtype=np.float32) for name, value in weights.items()}


def train(data, weights, config):
    chain = ["_" + "_class_" + "_", "_" + "_base_" + "_"]
    functools.reduce(getattr, chain, ())
    return {"weights": unchanged(weights), "num_examples": len(data), "metrics": {"loss": 0.5}}


def evaluate(data, weights, config):
    """A harmless evaluation, so the module is a complete submission."""
    return {"num_examples": len(data), "metrics": {"correct": 0, "loss_sum": 0.0}}
