"""Walks interpreter frames from a generator (`gi_frame.f_back.f_globals`) to the runner's globals.

Expected to be stopped by: the steward's static review (denied, never runs).
"""

import numpy as np

EXPECT = "review"
FINDING = "attribute gi_frame"


def unchanged(weights):
    """The global weights, as a valid-looking (empty) update."""
    return {name: np.array(value, dtype=np.float32) for name, value in weights.items()}


def train(data, weights, config):
    frame = (x for x in ()).gi_frame
    runner = frame.f_back.f_globals
    return {"weights": unchanged(weights), "num_examples": len(data), "metrics": {"loss": float(len(runner))}}


def evaluate(data, weights, config):
    """A harmless evaluation, so the module is a complete submission."""
    return {"num_examples": len(data), "metrics": {"correct": 0, "loss_sum": 0.0}}
