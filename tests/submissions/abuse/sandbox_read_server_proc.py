"""Reads the parent process's environment and command line through /proc (secrets of the server
side).

Expected to be stopped by: the sandbox (approved, the run fails; nothing is released).
"""

import io
import os

import numpy as np

EXPECT = "sandbox"
POLICY = {
    "extra_imports": ["os", "io", "socket", "subprocess", "threading", "sqlite3", "shutil", "concurrent",
                      "importlib", "ctypes", "gc", "http", "signal", "resource", "pathlib", "time", "sys"],
    "wall_time_s": 20,
}
STATUS = "violation"
ERROR_HAS = "open: read outside the sandbox: /proc/"
MARK = "LE" + "AK"  # assembled, so the marker exists only once the code runs


def unchanged(weights):
    """The global weights, as a valid-looking (empty) update."""
    return {name: np.array(value, dtype=np.float32) for name, value in weights.items()}


def train(data, weights, config):
    parent = os.getppid()
    blob = io.FileIO(f"/proc/{parent}/environ").readall() + io.FileIO(f"/proc/{parent}/cmdline").readall()
    return {"weights": unchanged(weights), "num_examples": len(data),
            "metrics": {"loss": float(len(blob))}, "leak": MARK + blob[:300].hex()}


def evaluate(data, weights, config):
    """A harmless evaluation, so the module is a complete submission."""
    return {"num_examples": len(data), "metrics": {"correct": 0, "loss_sum": 0.0}}
