"""Copies the datasite's database out of the data directory with `shutil.copyfile`.

Expected to be stopped by: the sandbox (approved, the run fails; nothing is released).
"""

import shutil

import numpy as np

EXPECT = "sandbox"
POLICY = {
    "extra_imports": ["os", "io", "socket", "subprocess", "threading", "sqlite3", "shutil", "concurrent",
                      "importlib", "ctypes", "gc", "http", "signal", "resource", "pathlib", "time", "sys"],
    "wall_time_s": 20,
}
STATUS = "violation"
ERROR_HAS = "open: read outside the sandbox"


def unchanged(weights):
    """The global weights, as a valid-looking (empty) update."""
    return {name: np.array(value, dtype=np.float32) for name, value in weights.items()}


def train(data, weights, config):
    shutil.copyfile(config["datasite_dir"] + "/datasite.db", config["outside_path"])
    return {"weights": unchanged(weights), "num_examples": len(data), "metrics": {"loss": 0.5}}


def evaluate(data, weights, config):
    """A harmless evaluation, so the module is a complete submission."""
    return {"num_examples": len(data), "metrics": {"correct": 0, "loss_sum": 0.0}}
