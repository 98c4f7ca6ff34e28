"""Logistic regression with momentum SGD and a cosine learning-rate schedule over the epochs."""

import math

import numpy as np
import pandas as pd
import torch

FEATURES = [
    "age", "sex", "trestbps", "chol", "fbs", "thalach", "exang", "oldpeak",
    "cp_2", "cp_3", "cp_4", "restecg_1", "restecg_2",
]  # fmt: skip
CENTER = [55.0, 0.5, 130.0, 240.0, 0.0, 140.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0]
SCALE = [10.0, 0.5, 20.0, 60.0, 1.0, 25.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]


def inputs(data: pd.DataFrame) -> torch.Tensor:
    x = torch.from_numpy(data[FEATURES].to_numpy(dtype=np.float32))
    return (x - torch.tensor(CENTER)) / torch.tensor(SCALE)


def init_weights(config: dict) -> dict:
    torch.manual_seed(int(config.get("seed", 0)))
    layer = torch.nn.Linear(13, 1)
    return {k: v.detach().numpy().astype(np.float32) for k, v in layer.state_dict().items()}


def train(data: pd.DataFrame, weights: dict, config: dict) -> dict:
    torch.manual_seed(int(config.get("seed", 0)))
    epochs = int(config.get("epochs", 1))
    batch_size = int(config.get("batch_size", 32))
    model = torch.nn.Linear(13, 1)
    model.load_state_dict({k: torch.tensor(v) for k, v in weights.items()})
    optimizer = torch.optim.SGD(model.parameters(), lr=float(config.get("lr", 0.05)), momentum=0.9)
    steps_per_epoch = max(1, math.ceil(len(data) / batch_size))
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(
        optimizer, T_max=max(1, epochs * steps_per_epoch)
    )
    x = inputs(data)
    y = torch.from_numpy(data["target"].to_numpy(dtype=np.float32))
    loss_sum, seen = 0.0, 0
    for _ in range(epochs):
        for rows in torch.randperm(len(x)).split(batch_size):
            optimizer.zero_grad()
            loss = torch.nn.functional.binary_cross_entropy_with_logits(
                model(x[rows]).squeeze(1), y[rows]
            )
            loss.backward()
            optimizer.step()
            scheduler.step()
            loss_sum += loss.item() * len(rows)
            seen += len(rows)
    return {
        "weights": {
            k: v.detach().numpy().astype(np.float32) for k, v in model.state_dict().items()
        },
        "num_examples": len(data),
        "metrics": {"loss": loss_sum / seen if seen else 0.0},
    }


def evaluate(data: pd.DataFrame, weights: dict, config: dict) -> dict:
    model = torch.nn.Linear(13, 1)
    model.load_state_dict({k: torch.tensor(v) for k, v in weights.items()})
    x = inputs(data)
    y = torch.from_numpy(data["target"].to_numpy(dtype=np.float32))
    with torch.no_grad():
        logits = model(x).squeeze(1)
        loss_sum = torch.nn.functional.binary_cross_entropy_with_logits(logits, y, reduction="sum")
    correct = int(((logits > 0).float() == y).sum().item())
    return {"num_examples": len(data), "metrics": {"correct": correct, "loss_sum": loss_sum.item()}}
