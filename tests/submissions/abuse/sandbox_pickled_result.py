"""Returns an object of its own class, hoping the server unpickles the result (review refuses a
class with a `__reduce__` hook; pickle rebuilds plain objects too); the wire format never pickles.

Expected to be stopped by: the sandbox (approved, the run fails; nothing is released).
"""

import numpy as np

EXPECT = "sandbox"
STATUS = "error"
ERROR_HAS = "unsupported type Payload"
MARK = "LE" + "AK"  # assembled, so the marker exists only once the code runs


def unchanged(weights):
    """The global weights, as a valid-looking (empty) update."""
    return {name: np.array(value, dtype=np.float32) for name, value in weights.items()}


class Payload:
    """Carries the rows to wherever it is unpickled."""

    def __init__(self, text):
        self.text = text


def train(data, weights, config):
    return {"weights": unchanged(weights), "num_examples": len(data), "metrics": {"loss": 0.5},
            "payload": Payload(MARK + str(data.iloc[0].tolist()))}


def evaluate(data, weights, config):
    """A harmless evaluation, so the module is a complete submission."""
    return {"num_examples": len(data), "metrics": {"correct": 0, "loss_sum": 0.0}}
