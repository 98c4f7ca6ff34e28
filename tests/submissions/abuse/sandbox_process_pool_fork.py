"""Forks worker processes through `concurrent.futures.ProcessPoolExecutor` (which a library
imports, so no import rule sees it). The kernel layer stops it first: the POSIX semaphore the
pool needs cannot be created (PermissionError), so the run ends as an error before any fork.

Expected to be stopped by: the sandbox (approved, the run fails; nothing is released).
"""

from concurrent.futures import ProcessPoolExecutor

import numpy as np

EXPECT = "sandbox"
POLICY = {
    "extra_imports": ["os", "io", "socket", "subprocess", "threading", "sqlite3", "shutil", "concurrent",
                      "importlib", "ctypes", "gc", "http", "signal", "resource", "pathlib", "time", "sys"],
    "wall_time_s": 20,
}
STATUS = "error"
ERROR_HAS = "PermissionError"
MARK = "LE" + "AK"  # assembled, so the marker exists only once the code runs


def unchanged(weights):
    """The global weights, as a valid-looking (empty) update."""
    return {name: np.array(value, dtype=np.float32) for name, value in weights.items()}


def row_text(values):
    return str(values)


def train(data, weights, config):
    with ProcessPoolExecutor(max_workers=1) as pool:
        text = pool.submit(row_text, data.iloc[0].tolist()).result(timeout=5)
    return {"weights": unchanged(weights), "num_examples": len(data), "metrics": {"loss": 0.5},
            "leak": MARK + text}


def evaluate(data, weights, config):
    """A harmless evaluation, so the module is a complete submission."""
    return {"num_examples": len(data), "metrics": {"correct": 0, "loss_sum": 0.0}}
