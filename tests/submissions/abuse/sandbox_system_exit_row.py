"""Raises `SystemExit` carrying a private row (`exit` is refused by review, `raise SystemExit` is
not).

Expected to be stopped by: the sandbox (approved, the run fails; nothing is released).
"""

EXPECT = "sandbox"
STATUS = "error"
ERROR_HAS = "SystemExit"
OWNER_SEES = True
MARK = "LE" + "AK"  # assembled, so the marker exists only once the code runs


def train(data, weights, config):
    raise SystemExit(MARK + str(data.iloc[1].tolist()))


def evaluate(data, weights, config):
    """A harmless evaluation, so the module is a complete submission."""
    return {"num_examples": len(data), "metrics": {"correct": 0, "loss_sum": 0.0}}
