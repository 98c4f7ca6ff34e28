"""A perceptron trained with SGD whose gradient norm is clipped each step (max_grad_norm)."""

import numpy as np
import pandas as pd
import torch

FEATURES = [
    "age", "sex", "trestbps", "chol", "fbs", "thalach", "exang", "oldpeak",
    "cp_2", "cp_3", "cp_4", "restecg_1", "restecg_2",
]  # fmt: skip
CENTER = np.array([55.0, 0.5, 130.0, 240.0, 0.0, 140.0, 0.0, 1.0, 0, 0, 0, 0, 0], np.float32)
SCALE = np.array([10.0, 0.5, 20.0, 60.0, 1.0, 25.0, 1.0, 1.0, 1, 1, 1, 1, 1], np.float32)


def model_for(config: dict) -> torch.nn.Module:
    return torch.nn.Sequential(torch.nn.Linear(13, 10), torch.nn.ReLU(), torch.nn.Linear(10, 1))


def init_weights(config: dict) -> dict:
    torch.manual_seed(int(config.get("seed", 0)))
    state = model_for(config).state_dict()
    return {name: tensor.numpy().astype(np.float32) for name, tensor in state.items()}


def train(data: pd.DataFrame, weights: dict, config: dict) -> dict:
    torch.manual_seed(int(config.get("seed", 0)))
    max_norm = float(config.get("max_grad_norm", 1.0))
    model = model_for(config)
    model.load_state_dict({name: torch.tensor(value) for name, value in weights.items()})
    x = torch.tensor((data[FEATURES].to_numpy(np.float32) - CENTER) / SCALE)
    y = torch.tensor(data["target"].to_numpy(np.float32)).unsqueeze(1)
    optimizer = torch.optim.SGD(model.parameters(), lr=float(config.get("lr", 0.05)), momentum=0.9)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    n_batches, total = 0, 0.0
    for _ in range(int(config.get("epochs", 1))):
        for rows in torch.randperm(len(x)).split(int(config.get("batch_size", 32))):
            optimizer.zero_grad()
            loss = loss_fn(model(x[rows]), y[rows])
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=max_norm)
            optimizer.step()
            total += loss.item()
            n_batches += 1
    return {
        "weights": {
            k: v.detach().numpy().astype(np.float32) for k, v in model.state_dict().items()
        },
        "num_examples": len(data),
        "metrics": {"loss": total / n_batches if n_batches else 0.0},
    }


def evaluate(data: pd.DataFrame, weights: dict, config: dict) -> dict:
    model = model_for(config)
    model.load_state_dict({name: torch.tensor(value) for name, value in weights.items()})
    x = torch.tensor((data[FEATURES].to_numpy(np.float32) - CENTER) / SCALE)
    y = torch.tensor(data["target"].to_numpy(np.float32)).unsqueeze(1)
    with torch.no_grad():
        logits = model(x)
        losses = torch.nn.functional.binary_cross_entropy_with_logits(logits, y, reduction="none")
    correct = int(((logits > 0).float() == y).sum().item())
    return {
        "num_examples": len(data),
        "metrics": {"correct": correct, "loss_sum": float(losses.sum().item())},
    }
