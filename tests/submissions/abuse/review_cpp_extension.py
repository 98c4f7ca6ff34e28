"""Compiles and loads native code with `torch.utils.cpp_extension.load_inline`.

Expected to be stopped by: the steward's static review (denied, never runs).
"""

import numpy as np
import torch

EXPECT = "review"
FINDING = "cpp_extension"


def unchanged(weights):
    """The global weights, as a valid-looking (empty) update."""
    return {name: np.array(value, dtype=np.float32) for name, value in weights.items()}


def train(data, weights, config):
    torch.utils.cpp_extension.load_inline("x", "int f() { return system(\"id\"); }")
    return {"weights": unchanged(weights), "num_examples": len(data), "metrics": {"loss": 0.5}}


def evaluate(data, weights, config):
    """A harmless evaluation, so the module is a complete submission."""
    return {"num_examples": len(data), "metrics": {"correct": 0, "loss_sum": 0.0}}
