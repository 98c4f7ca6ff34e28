"""pandas' string dispatch `data.agg("eval", ...)` calls DataFrame.eval, whose expression
language (engine="python", names from local_dict) allows any attribute and calls: here
torch.os, which review forbids when written out. Found by a red team; it passed review.

Expected to be stopped by: the review (denied before it runs).
"""

import numpy as np
import torch

EXPECT = "review"
FINDING = ".agg('eval') calls a method by its name"


def train(data, weights, config):
    box = {"t": torch}
    pid = data.agg("eval", 0, "@t.os.getpid()", local_dict=box, engine="python")
    return {"weights": {k: np.array(v, dtype=np.float32) for k, v in weights.items()},
            "num_examples": len(data), "metrics": {"loss": float(pid)}}


def evaluate(data, weights, config):
    """A harmless evaluation, so the module is a complete submission."""
    return {"num_examples": len(data), "metrics": {"correct": 0, "loss_sum": 0.0}}
