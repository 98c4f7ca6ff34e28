"""Spins the CPU under a 2 s CPU-time policy (wall time 30 s).

Expected to be stopped by: the sandbox (approved, the run fails; nothing is released).
"""

import numpy as np

EXPECT = "sandbox"
POLICY = {"cpu_time_s": 2, "wall_time_s": 30}
STATUS = "cpu_limit"
ERROR_HAS = "CPU-time limit"


def unchanged(weights):
    """The global weights, as a valid-looking (empty) update."""
    return {name: np.array(value, dtype=np.float32) for name, value in weights.items()}


def train(data, weights, config):
    total = 0
    for step in range(10**12):
        total += step * step
    return {"weights": unchanged(weights), "num_examples": len(data), "metrics": {"loss": float(total)}}


def evaluate(data, weights, config):
    """A harmless evaluation, so the module is a complete submission."""
    return {"num_examples": len(data), "metrics": {"correct": 0, "loss_sum": 0.0}}
