"""Names metrics after private rows, hoping the 'metric not allowed' refusal quotes the names back.

Expected to be stopped by: the output gate (runs, the result is blocked).
"""

import numpy as np

EXPECT = "gate"
REASON = "a metric name is not allowed by the policy"
MARK = "LE" + "AK"  # assembled, so the marker exists only once the code runs


def unchanged(weights):
    """The global weights, as a valid-looking (empty) update."""
    return {name: np.array(value, dtype=np.float32) for name, value in weights.items()}


def train(data, weights, config):
    metrics = {"loss": 0.5}
    for row in data.head(5).to_numpy().tolist():
        metrics[MARK + str(row)] = 0.5
    return {"weights": unchanged(weights), "num_examples": len(data), "metrics": metrics}


def evaluate(data, weights, config):
    """A harmless evaluation, so the module is a complete submission."""
    return {"num_examples": len(data), "metrics": {"correct": 0, "loss_sum": 0.0}}
