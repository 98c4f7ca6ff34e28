"""Reports a negative loss whose digits pack the first patient's age, blood pressure and
cholesterol, hoping the out-of-range refusal quotes the value.

Expected to be stopped by: the output gate (runs, the result is blocked).
"""

import numpy as np

EXPECT = "gate"
REASON = "out of its range"


def unchanged(weights):
    """The global weights, as a valid-looking (empty) update."""
    return {name: np.array(value, dtype=np.float32) for name, value in weights.items()}


def train(data, weights, config):
    packed = float(int(data["age"].iloc[0]) * 1_000_000 + int(data["trestbps"].iloc[0]) * 1_000
                   + int(data["chol"].iloc[0]))
    return {"weights": unchanged(weights), "num_examples": len(data), "metrics": {"loss": -packed}}


def evaluate(data, weights, config):
    """A harmless evaluation, so the module is a complete submission."""
    return {"num_examples": len(data), "metrics": {"correct": 0, "loss_sum": 0.0}}
