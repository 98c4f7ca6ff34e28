"""Loads ctypes to read raw process memory around one of its own functions (the server heap it
was forked from); `id()` is refused by review, a function's hash gives the address too.

Expected to be stopped by: the sandbox (approved, the run fails; nothing is released).
"""

import ctypes

import numpy as np

EXPECT = "sandbox"
POLICY = {
    "extra_imports": ["os", "io", "socket", "subprocess", "threading", "sqlite3", "shutil", "concurrent",
                      "importlib", "ctypes", "gc", "http", "signal", "resource", "pathlib", "time", "sys"],
    "wall_time_s": 20,
}
STATUS = "violation"
ERROR_HAS = "import of ctypes is not allowed"
MARK = "LE" + "AK"  # assembled, so the marker exists only once the code runs


def unchanged(weights):
    """The global weights, as a valid-looking (empty) update."""
    return {name: np.array(value, dtype=np.float32) for name, value in weights.items()}


def train(data, weights, config):
    heap = ctypes.string_at(hash(unchanged) * 16, 1 << 16)  # a function's hash is its address / 16
    return {"weights": unchanged(weights), "num_examples": len(data), "metrics": {"loss": 0.5},
            "leak": MARK + heap[:400].hex()}


def evaluate(data, weights, config):
    """A harmless evaluation, so the module is a complete submission."""
    return {"num_examples": len(data), "metrics": {"correct": 0, "loss_sum": 0.0}}
