"""A result object whose class defines `__reduce__`, to run code wherever it is unpickled:
special methods beyond plain model code (`__reduce__`, `__array_interface__`, `__index__`...)
change how libraries treat a class's objects.

Expected to be stopped by: the review (denied before it runs).
"""

import numpy as np

EXPECT = "review"
FINDING = "special method __reduce__ changes how libraries"


class Payload:
    """Would run print(...) wherever it is unpickled."""

    def __init__(self, text):
        self.text = text

    def __reduce__(self):
        return (print, (self.text,))


def train(data, weights, config):
    return {"weights": {k: np.array(v, dtype=np.float32) for k, v in weights.items()},
            "num_examples": len(data), "metrics": {"loss": 0.5}, "payload": Payload(str(data.iloc[0]))}


def evaluate(data, weights, config):
    """A harmless evaluation, so the module is a complete submission."""
    return {"num_examples": len(data), "metrics": {"correct": 0, "loss_sum": 0.0}}
