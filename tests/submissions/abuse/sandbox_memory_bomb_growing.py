"""Grows a list of 1 MB chunks until memory runs out, under a 256 MB memory policy.

Expected to be stopped by: the sandbox (approved, the run fails; nothing is released).
"""

import numpy as np

EXPECT = "sandbox"
POLICY = {"wall_time_s": 3, "memory_mb": 256, "extra_imports": ["time"]}
STATUS = "memory_limit"
ERROR_HAS = "Unable to allocate"


def train(data, weights, config):
    chunks = []
    while True:
        chunks.append(np.ones(1 << 18, dtype=np.float32))


def evaluate(data, weights, config):
    """A harmless evaluation, so the module is a complete submission."""
    return {"num_examples": len(data), "metrics": {"correct": 0, "loss_sum": 0.0}}
