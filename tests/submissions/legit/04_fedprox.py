"""Logistic regression with a FedProx proximal term pulling towards the received global weights."""

import numpy as np
import pandas as pd
import torch

FEATURES = [
    "age", "sex", "trestbps", "chol", "fbs", "thalach", "exang", "oldpeak",
    "cp_2", "cp_3", "cp_4", "restecg_1", "restecg_2",
]  # fmt: skip
CENTER = [55.0, 0.5, 130.0, 240.0, 0.0, 140.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0]
SCALE = [10.0, 0.5, 20.0, 60.0, 1.0, 25.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]


def init_weights(config: dict) -> dict:
    torch.manual_seed(int(config.get("seed", 0)))
    layer = torch.nn.Linear(len(FEATURES), 1)
    return {k: v.detach().numpy().astype(np.float32) for k, v in layer.state_dict().items()}


def train(data: pd.DataFrame, weights: dict, config: dict) -> dict:
    torch.manual_seed(int(config.get("seed", 0)))
    mu = float(config.get("mu", 0.01))
    lr = float(config.get("lr", 0.05))
    batch_size = int(config.get("batch_size", 32))
    epochs = int(config.get("epochs", 1))

    x = torch.tensor(
        (data[FEATURES].to_numpy(dtype=np.float64) - np.array(CENTER)) / np.array(SCALE),
        dtype=torch.float32,
    )
    y = torch.tensor(data["target"].to_numpy(), dtype=torch.float32)

    model = torch.nn.Linear(len(FEATURES), 1)
    model.load_state_dict({k: torch.tensor(v) for k, v in weights.items()})
    # the global model of this round, frozen: the proximal term measures the drift from it
    global_params = [p.detach().clone() for p in model.parameters()]
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)

    running, count = 0.0, 0
    for _ in range(epochs):
        for batch in torch.randperm(len(x)).split(batch_size):
            optimizer.zero_grad()
            task_loss = torch.nn.functional.binary_cross_entropy_with_logits(
                model(x[batch]).squeeze(1), y[batch]
            )
            proximal = sum(
                ((p - g) ** 2).sum() for p, g in zip(model.parameters(), global_params, strict=True)
            )
            loss = task_loss + 0.5 * mu * proximal
            loss.backward()
            optimizer.step()
            running += task_loss.item() * len(batch)
            count += len(batch)

    new_weights = {k: v.detach().numpy().astype(np.float32) for k, v in model.state_dict().items()}
    return {
        "weights": new_weights,
        "num_examples": len(data),
        "metrics": {"loss": running / count if count else 0.0},
    }


def evaluate(data: pd.DataFrame, weights: dict, config: dict) -> dict:
    x = torch.tensor(
        (data[FEATURES].to_numpy(dtype=np.float64) - np.array(CENTER)) / np.array(SCALE),
        dtype=torch.float32,
    )
    y = torch.tensor(data["target"].to_numpy(), dtype=torch.float32)
    model = torch.nn.Linear(len(FEATURES), 1)
    model.load_state_dict({k: torch.tensor(v) for k, v in weights.items()})
    with torch.no_grad():
        logits = model(x).squeeze(1)
        loss_sum = torch.nn.functional.binary_cross_entropy_with_logits(logits, y, reduction="sum")
    correct = int(((logits > 0) == (y > 0.5)).sum().item())
    return {"num_examples": len(data), "metrics": {"correct": correct, "loss_sum": loss_sum.item()}}
