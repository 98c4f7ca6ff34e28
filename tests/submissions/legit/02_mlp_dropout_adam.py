"""A two-layer perceptron with dropout, trained with Adam through a torch DataLoader."""

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

FEATURES = [
    "age", "sex", "trestbps", "chol", "fbs", "thalach", "exang", "oldpeak",
    "cp_2", "cp_3", "cp_4", "restecg_1", "restecg_2",
]  # fmt: skip
CENTER = np.array([55, 0.5, 130, 240, 0, 140, 0, 1, 0, 0, 0, 0, 0], dtype=np.float32)
SCALE = np.array([10, 0.5, 20, 60, 1, 25, 1, 1, 1, 1, 1, 1, 1], dtype=np.float32)
HIDDEN = 16


def build_model() -> nn.Module:
    return nn.Sequential(
        nn.Linear(len(FEATURES), HIDDEN), nn.ReLU(), nn.Dropout(p=0.2), nn.Linear(HIDDEN, 1)
    )


def to_dataset(data: pd.DataFrame) -> TensorDataset:
    features = (data[FEATURES].to_numpy(dtype=np.float32) - CENTER) / SCALE
    labels = data["target"].to_numpy(dtype=np.float32).reshape(-1, 1)
    return TensorDataset(torch.from_numpy(features), torch.from_numpy(labels))


def init_weights(config: dict) -> dict:
    torch.manual_seed(int(config.get("seed", 0)))
    return {name: t.numpy().astype(np.float32) for name, t in build_model().state_dict().items()}


def train(data: pd.DataFrame, weights: dict, config: dict) -> dict:
    seed = int(config.get("seed", 0))
    torch.manual_seed(seed)
    model = build_model()
    model.load_state_dict({name: torch.from_numpy(np.array(w)) for name, w in weights.items()})
    generator = torch.Generator().manual_seed(seed)
    loader = DataLoader(
        to_dataset(data),
        batch_size=int(config.get("batch_size", 32)),
        shuffle=True,
        generator=generator,
    )
    optimizer = torch.optim.Adam(model.parameters(), lr=float(config.get("lr", 0.01)))
    criterion = nn.BCEWithLogitsLoss()
    model.train()
    losses = []
    for _epoch in range(int(config.get("epochs", 1))):
        for features, labels in loader:
            optimizer.zero_grad()
            loss = criterion(model(features), labels)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
    new_weights = {
        name: t.detach().numpy().astype(np.float32) for name, t in model.state_dict().items()
    }
    mean_loss = float(np.mean(losses)) if losses else 0.0
    return {"weights": new_weights, "num_examples": len(data), "metrics": {"loss": mean_loss}}


def evaluate(data: pd.DataFrame, weights: dict, config: dict) -> dict:
    model = build_model()
    model.load_state_dict({name: torch.from_numpy(np.array(w)) for name, w in weights.items()})
    model.eval()
    dataset = to_dataset(data)
    features, labels = dataset.tensors
    with torch.no_grad():
        logits = model(features)
        loss_sum = nn.functional.binary_cross_entropy_with_logits(logits, labels, reduction="sum")
    correct = int(((logits > 0).float() == labels).sum().item())
    return {"num_examples": len(data), "metrics": {"correct": correct, "loss_sum": loss_sum.item()}}
