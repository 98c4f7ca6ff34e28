"""KNOWN RESIDUAL CHANNEL, not blocked: the allowed `loss` metric carries a private value (the
first patient's age). The gate checks names, types and ranges, not meaning; only differential
privacy (noise on released values) can close this channel.

Expected outcome: RELEASED (a documented residual channel; it does not count as a blocked
attack).
"""

import numpy as np

EXPECT = "released"
RESIDUAL = "loss"


def unchanged(weights):
    """The global weights, as a valid-looking (empty) update."""
    return {name: np.array(value, dtype=np.float32) for name, value in weights.items()}


def train(data, weights, config):
    return {"weights": unchanged(weights), "num_examples": len(data),
            "metrics": {"loss": float(data["age"].iloc[0])}}


def evaluate(data, weights, config):
    """A harmless evaluation, so the module is a complete submission."""
    return {"num_examples": len(data), "metrics": {"correct": 0, "loss_sum": 0.0}}
