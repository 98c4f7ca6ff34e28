"""Prints the private rows to stdout and stderr, then fails, hoping the logs or the error reach the
scientist.

Expected to be stopped by: the sandbox (approved, the run fails; nothing is released).
"""

EXPECT = "sandbox"
STATUS = "error"
ERROR_HAS = "RuntimeError: training diverged"
OWNER_SEES = True
MARK = "LE" + "AK"  # assembled, so the marker exists only once the code runs


def train(data, weights, config):
    for row in data.head(5).to_numpy().tolist():
        print(MARK, row)
    raise RuntimeError("training diverged")


def evaluate(data, weights, config):
    """A harmless evaluation, so the module is a complete submission."""
    return {"num_examples": len(data), "metrics": {"correct": 0, "loss_sum": 0.0}}
