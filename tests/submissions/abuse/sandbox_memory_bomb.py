"""Allocates 4 GiB of bytes under a 256 MB memory policy.

Expected to be stopped by: the sandbox (approved, the run fails; nothing is released).
"""

import numpy as np

EXPECT = "sandbox"
POLICY = {"wall_time_s": 3, "memory_mb": 256, "extra_imports": ["time"]}
STATUS = "memory_limit"
ERROR_HAS = "MemoryError"


def unchanged(weights):
    """The global weights, as a valid-looking (empty) update."""
    return {name: np.array(value, dtype=np.float32) for name, value in weights.items()}


def train(data, weights, config):
    blob = bytearray(4 << 30)
    return {"weights": unchanged(weights), "num_examples": len(data), "metrics": {"loss": float(len(blob))}}


def evaluate(data, weights, config):
    """A harmless evaluation, so the module is a complete submission."""
    return {"num_examples": len(data), "metrics": {"correct": 0, "loss_sum": 0.0}}
