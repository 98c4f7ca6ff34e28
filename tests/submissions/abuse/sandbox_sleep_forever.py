"""Never returns without using CPU (sleeps), so only the wall-time limit (3 s) can end it.

Expected to be stopped by: the sandbox (approved, the run fails; nothing is released).
"""

import time

EXPECT = "sandbox"
POLICY = {"wall_time_s": 3, "memory_mb": 256, "extra_imports": ["time"]}
STATUS = "timeout"
ERROR_HAS = "wall-time limit"


def train(data, weights, config):
    while True:
        time.sleep(60)


def evaluate(data, weights, config):
    """A harmless evaluation, so the module is a complete submission."""
    return {"num_examples": len(data), "metrics": {"correct": 0, "loss_sum": 0.0}}
