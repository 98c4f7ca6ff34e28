"""Names extra result keys after private rows, hoping the gate's refusal quotes the names back.

Expected to be stopped by: the output gate (runs, the result is blocked).
"""

import numpy as np

EXPECT = "gate"
REASON = "unexpected keys in the result"
MARK = "LE" + "AK"  # assembled, so the marker exists only once the code runs


def unchanged(weights):
    """The global weights, as a valid-looking (empty) update."""
    return {name: np.array(value, dtype=np.float32) for name, value in weights.items()}


def train(data, weights, config):
    result = {"weights": unchanged(weights), "num_examples": len(data), "metrics": {"loss": 0.5}}
    for row in data.head(5).to_numpy().tolist():
        result[MARK + str(row)] = 0
    return result


def evaluate(data, weights, config):
    """A harmless evaluation, so the module is a complete submission."""
    return {"num_examples": len(data), "metrics": {"correct": 0, "loss_sum": 0.0}}
