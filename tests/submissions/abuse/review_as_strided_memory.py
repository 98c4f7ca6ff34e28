"""Reads memory beyond a tensor with `torch.as_strided` (heap of the runner).

Expected to be stopped by: the steward's static review (denied, never runs).
"""

import numpy as np
import torch

EXPECT = "review"
FINDING = "attribute as_strided"


def unchanged(weights):
    """The global weights, as a valid-looking (empty) update."""
    return {name: np.array(value, dtype=np.float32) for name, value in weights.items()}


def train(data, weights, config):
    probe = torch.zeros(1)
    heap = torch.as_strided(probe, (1 << 20,), (1,))
    return {"weights": unchanged(weights), "num_examples": len(data), "metrics": {"loss": float(heap.sum())}}


def evaluate(data, weights, config):
    """A harmless evaluation, so the module is a complete submission."""
    return {"num_examples": len(data), "metrics": {"correct": 0, "loss_sum": 0.0}}
