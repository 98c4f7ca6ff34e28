"""Returns the private rows as a string instead of a result dict.

Expected to be stopped by: the output gate (runs, the result is blocked).
"""

EXPECT = "gate"
REASON = "result must be a dict"
MARK = "LE" + "AK"  # assembled, so the marker exists only once the code runs


def train(data, weights, config):
    return (MARK + str(data.iloc[0].tolist()))[:1000]


def evaluate(data, weights, config):
    """A harmless evaluation, so the module is a complete submission."""
    return {"num_examples": len(data), "metrics": {"correct": 0, "loss_sum": 0.0}}
