"""Searches every live object with `gc.get_objects` for the runner's pipes and the server's state.

Expected to be stopped by: the sandbox (approved, the run fails; nothing is released).
"""

import gc

import numpy as np

EXPECT = "sandbox"
POLICY = {
    "extra_imports": ["os", "io", "socket", "subprocess", "threading", "sqlite3", "shutil", "concurrent",
                      "importlib", "ctypes", "gc", "http", "signal", "resource", "pathlib", "time", "sys"],
    "wall_time_s": 20,
}
STATUS = "violation"
ERROR_HAS = "gc.get_objects is not allowed"


def unchanged(weights):
    """The global weights, as a valid-looking (empty) update."""
    return {name: np.array(value, dtype=np.float32) for name, value in weights.items()}


def train(data, weights, config):
    found = [obj for obj in gc.get_objects() if type(obj).__name__ == "Connection"]
    return {"weights": unchanged(weights), "num_examples": len(data), "metrics": {"loss": float(len(found))}}


def evaluate(data, weights, config):
    """A harmless evaluation, so the module is a complete submission."""
    return {"num_examples": len(data), "metrics": {"correct": 0, "loss_sum": 0.0}}
