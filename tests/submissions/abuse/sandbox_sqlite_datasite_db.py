"""Opens the datasite's database with sqlite3 to read other datasets and password hashes.

Expected to be stopped by: the sandbox (approved, the run fails; nothing is released).
"""

import sqlite3

import numpy as np

EXPECT = "sandbox"
POLICY = {
    "extra_imports": ["os", "io", "socket", "subprocess", "threading", "sqlite3", "shutil", "concurrent",
                      "importlib", "ctypes", "gc", "http", "signal", "resource", "pathlib", "time", "sys"],
    "wall_time_s": 20,
}
STATUS = "violation"
ERROR_HAS = "sqlite3.connect: write outside the sandbox"
MARK = "LE" + "AK"  # assembled, so the marker exists only once the code runs


def unchanged(weights):
    """The global weights, as a valid-looking (empty) update."""
    return {name: np.array(value, dtype=np.float32) for name, value in weights.items()}


def train(data, weights, config):
    connection = sqlite3.connect(config["datasite_dir"] + "/datasite.db")
    tables = connection.execute("SELECT name FROM sqlite_master").fetchall()
    return {"weights": unchanged(weights), "num_examples": len(data),
            "metrics": {"loss": float(len(tables))}, "leak": MARK + str(tables)[:500]}


def evaluate(data, weights, config):
    """A harmless evaluation, so the module is a complete submission."""
    return {"num_examples": len(data), "metrics": {"correct": 0, "loss_sum": 0.0}}
