"""Packs the first patient's age, blood pressure and cholesterol into the example count (digits
AAATTTCCC), far above the row count, hoping the refusal quotes the count.

Expected to be stopped by: the output gate (runs, the result is blocked).
"""

import numpy as np

EXPECT = "gate"
REASON = "`num_examples` exceeds the rows of the data"


def unchanged(weights):
    """The global weights, as a valid-looking (empty) update."""
    return {name: np.array(value, dtype=np.float32) for name, value in weights.items()}


def train(data, weights, config):
    first = data.iloc[0]
    packed = int(first["age"]) * 1_000_000 + int(first["trestbps"]) * 1_000 + int(first["chol"])
    return {"weights": unchanged(weights), "num_examples": packed, "metrics": {"loss": 0.5}}


def evaluate(data, weights, config):
    """A harmless evaluation, so the module is a complete submission."""
    return {"num_examples": len(data), "metrics": {"correct": 0, "loss_sum": 0.0}}
