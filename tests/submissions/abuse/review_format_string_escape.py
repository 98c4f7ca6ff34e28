"""Reads dunder attributes through a `str.format` template: `"{0.__class__}".format(x)`.

Expected to be stopped by: the steward's static review (denied, never runs).
"""

import numpy as np

EXPECT = "review"
FINDING = "dunder attribute __class__"


def unchanged(weights):
    """The global weights, as a valid-looking (empty) update."""
    return {name: np.array(value, dtype=np.float32) for name, value in weights.items()}


def train(data, weights, config):
    text = "{0.__class__.__init__}".format(train)  # noqa: UP030, UP032
    return {"weights": unchanged(weights), "num_examples": len(data), "metrics": {"loss": float(len(text))}}


def evaluate(data, weights, config):
    """A harmless evaluation, so the module is a complete submission."""
    return {"num_examples": len(data), "metrics": {"correct": 0, "loss_sum": 0.0}}
