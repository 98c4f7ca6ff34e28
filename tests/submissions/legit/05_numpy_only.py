"""Logistic regression in plain numpy: no torch; weights still float32, state_dict-style names."""

import math

import numpy as np
import pandas as pd

FEATURES = [
    "age", "sex", "trestbps", "chol", "fbs", "thalach", "exang", "oldpeak",
    "cp_2", "cp_3", "cp_4", "restecg_1", "restecg_2",
]  # fmt: skip
CENTER = np.array([55.0, 0.5, 130.0, 240.0, 0.0, 140.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0])
SCALE = np.array([10.0, 0.5, 20.0, 60.0, 1.0, 25.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0])


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -30.0, 30.0)))


def bce(p: np.ndarray, y: np.ndarray) -> np.ndarray:
    eps = 1e-7
    p = np.clip(p, eps, 1.0 - eps)
    return -(y * np.log(p) + (1.0 - y) * np.log(1.0 - p))


def design(data: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    x = (data[FEATURES].to_numpy(dtype=np.float64) - CENTER) / SCALE
    y = data["target"].to_numpy(dtype=np.float64)
    return x, y


def init_weights(config: dict) -> dict:
    rng = np.random.default_rng(int(config.get("seed", 0)))
    bound = 1.0 / math.sqrt(len(FEATURES))
    return {
        "linear.weight": rng.uniform(-bound, bound, size=(1, len(FEATURES))).astype(np.float32),
        "linear.bias": rng.uniform(-bound, bound, size=(1,)).astype(np.float32),
    }


def train(data: pd.DataFrame, weights: dict, config: dict) -> dict:
    rng = np.random.default_rng(int(config.get("seed", 0)))
    lr = float(config.get("lr", 0.05))
    batch_size = int(config.get("batch_size", 32))
    w = np.asarray(weights["linear.weight"], dtype=np.float64).reshape(-1).copy()
    b = float(np.asarray(weights["linear.bias"], dtype=np.float64).reshape(-1)[0])
    x, y = design(data)
    loss_sum, seen = 0.0, 0
    for _ in range(int(config.get("epochs", 1))):
        order = rng.permutation(len(x))
        for start in range(0, len(x), batch_size):
            rows = order[start : start + batch_size]
            p = sigmoid(x[rows] @ w + b)
            error = p - y[rows]  # gradient of the mean BCE with respect to the logits, times n
            w -= lr * (x[rows].T @ error) / len(rows)
            b -= lr * float(error.mean())
            loss_sum += float(bce(p, y[rows]).sum())
            seen += len(rows)
    return {
        "weights": {
            "linear.weight": w.reshape(1, -1).astype(np.float32),
            "linear.bias": np.array([b], dtype=np.float32),
        },
        "num_examples": len(data),
        "metrics": {"loss": loss_sum / seen if seen else 0.0},
    }


def evaluate(data: pd.DataFrame, weights: dict, config: dict) -> dict:
    w = np.asarray(weights["linear.weight"], dtype=np.float64).reshape(-1)
    b = float(np.asarray(weights["linear.bias"], dtype=np.float64).reshape(-1)[0])
    x, y = design(data)
    p = sigmoid(x @ w + b)
    correct = int(((p > 0.5) == (y > 0.5)).sum())
    return {
        "num_examples": len(data),
        "metrics": {"correct": correct, "loss_sum": float(bce(p, y).sum())},
    }
