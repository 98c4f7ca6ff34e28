"""Plain logistic regression in torch: one linear layer, SGD, binary cross-entropy."""

import numpy as np
import pandas as pd
import torch

FEATURES = [
    "age", "sex", "trestbps", "chol", "fbs", "thalach", "exang", "oldpeak",
    "cp_2", "cp_3", "cp_4", "restecg_1", "restecg_2",
]  # fmt: skip
# Fixed public centring and scale (typical adult clinical values), never statistics of `data`.
CENTER = [55.0, 0.5, 130.0, 240.0, 0.0, 140.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0]
SCALE = [10.0, 0.5, 20.0, 60.0, 1.0, 25.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]


def _tensors(data: pd.DataFrame) -> tuple[torch.Tensor, torch.Tensor]:
    x = (data[FEATURES].to_numpy(dtype=np.float32) - np.float32(CENTER)) / np.float32(SCALE)
    y = data["target"].to_numpy(dtype=np.float32)
    return torch.tensor(x, dtype=torch.float32), torch.tensor(y, dtype=torch.float32)


def _model(weights: dict) -> torch.nn.Module:
    model = torch.nn.Linear(len(FEATURES), 1)
    model.load_state_dict({k: torch.tensor(v) for k, v in weights.items()})
    return model


def _export(model: torch.nn.Module) -> dict:
    return {k: v.detach().numpy().astype(np.float32) for k, v in model.state_dict().items()}


def init_weights(config: dict) -> dict:
    torch.manual_seed(int(config.get("seed", 0)))
    return _export(torch.nn.Linear(len(FEATURES), 1))


def train(data: pd.DataFrame, weights: dict, config: dict) -> dict:
    torch.manual_seed(int(config.get("seed", 0)))
    x, y = _tensors(data)
    model = _model(weights)
    optimizer = torch.optim.SGD(model.parameters(), lr=float(config.get("lr", 0.05)))
    loss_fn = torch.nn.BCEWithLogitsLoss()
    batch_size = int(config.get("batch_size", 32))
    total, seen = 0.0, 0
    for _ in range(int(config.get("epochs", 1))):
        order = torch.randperm(len(x))
        for start in range(0, len(x), batch_size):
            idx = order[start : start + batch_size]
            optimizer.zero_grad()
            loss = loss_fn(model(x[idx]).squeeze(1), y[idx])
            loss.backward()
            optimizer.step()
            total += loss.item() * len(idx)
            seen += len(idx)
    return {
        "weights": _export(model),
        "num_examples": len(data),
        "metrics": {"loss": total / max(seen, 1)},
    }


def evaluate(data: pd.DataFrame, weights: dict, config: dict) -> dict:
    x, y = _tensors(data)
    model = _model(weights)
    with torch.no_grad():
        logits = model(x).squeeze(1)
        loss_sum = torch.nn.functional.binary_cross_entropy_with_logits(logits, y, reduction="sum")
        correct = int(((logits > 0).float() == y).sum())
    return {"num_examples": len(data), "metrics": {"correct": correct, "loss_sum": float(loss_sum)}}
