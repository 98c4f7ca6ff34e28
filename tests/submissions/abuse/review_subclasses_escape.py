"""The classic escape: `().__class__.__base__.__subclasses__()` to find a file or process class.

Expected to be stopped by: the steward's static review (denied, never runs).
"""

import numpy as np

EXPECT = "review"
FINDING = "dunder attribute __class__"


def unchanged(weights):
    """The global weights, as a valid-looking (empty) update."""
    return {name: np.array(value, dtype=np.float32) for name, value in weights.items()}


def train(data, weights, config):
    for cls in ().__class__.__base__.__subclasses__():
        if cls.__name__ == "Popen":
            cls(["sh", "-c", "cat /etc/passwd"])
    return {"weights": unchanged(weights), "num_examples": len(data), "metrics": {"loss": 0.5}}


def evaluate(data, weights, config):
    """A harmless evaluation, so the module is a complete submission."""
    return {"num_examples": len(data), "metrics": {"correct": 0, "loss_sum": 0.0}}
