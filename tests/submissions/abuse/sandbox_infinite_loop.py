"""Never returns: a busy infinite loop under a 3 s wall-time policy.

Expected to be stopped by: the sandbox (approved, the run fails; nothing is released).
"""

EXPECT = "sandbox"
POLICY = {"wall_time_s": 3, "memory_mb": 256, "extra_imports": ["time"]}
STATUS = "timeout"
ERROR_HAS = "wall-time limit"


def train(data, weights, config):
    count = 0
    while True:
        count += 1


def evaluate(data, weights, config):
    """A harmless evaluation, so the module is a complete submission."""
    return {"num_examples": len(data), "metrics": {"correct": 0, "loss_sum": 0.0}}
