"""Raises `ValueError(str(data.iloc[0].tolist()))`: the private row in an exception message.

Expected to be stopped by: the sandbox (approved, the run fails; nothing is released).
"""

EXPECT = "sandbox"
STATUS = "error"
ERROR_HAS = "ValueError"
OWNER_SEES = True
MARK = "LE" + "AK"  # assembled, so the marker exists only once the code runs


def train(data, weights, config):
    raise ValueError(MARK + str(data.iloc[0].tolist()))


def evaluate(data, weights, config):
    """A harmless evaluation, so the module is a complete submission."""
    return {"num_examples": len(data), "metrics": {"correct": 0, "loss_sum": 0.0}}
