"""Lists the parents of its working directory (the datasite keeps its runs under the same temp
tree) looking for private files.

Expected to be stopped by: the sandbox (approved, the run fails; nothing is released).
"""

import os

import numpy as np

EXPECT = "sandbox"
POLICY = {
    "extra_imports": ["os", "io", "socket", "subprocess", "threading", "sqlite3", "shutil", "concurrent",
                      "importlib", "ctypes", "gc", "http", "signal", "resource", "pathlib", "time", "sys"],
    "wall_time_s": 20,
}
STATUS = "violation"
ERROR_HAS = "os.listdir: read outside the sandbox"
MARK = "LE" + "AK"  # assembled, so the marker exists only once the code runs


def unchanged(weights):
    """The global weights, as a valid-looking (empty) update."""
    return {name: np.array(value, dtype=np.float32) for name, value in weights.items()}


def train(data, weights, config):
    here, seen = os.getcwd(), []
    while here != "/":
        here = os.path.dirname(here)
        seen.extend(os.listdir(here))
    return {"weights": unchanged(weights), "num_examples": len(data),
            "metrics": {"loss": float(len(seen))}, "leak": MARK + ",".join(seen)[:500]}


def evaluate(data, weights, config):
    """A harmless evaluation, so the module is a complete submission."""
    return {"num_examples": len(data), "metrics": {"correct": 0, "loss_sum": 0.0}}
