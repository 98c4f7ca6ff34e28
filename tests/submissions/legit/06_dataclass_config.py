"""Training settings parsed into a frozen dataclass; a tanh network trained with momentum SGD."""

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

FEATURES = (
    "age", "sex", "trestbps", "chol", "fbs", "thalach", "exang", "oldpeak",
    "cp_2", "cp_3", "cp_4", "restecg_1", "restecg_2",
)  # fmt: skip
CENTER = (55.0, 0.5, 130.0, 240.0, 0.0, 140.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0)
SCALE = (10.0, 0.5, 20.0, 60.0, 1.0, 25.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0)


@dataclass(frozen=True)
class Settings:
    epochs: int = 1
    lr: float = 0.05
    batch_size: int = 32
    seed: int = 0
    momentum: float = 0.9
    hidden: int = 8

    @staticmethod
    def from_config(config: dict) -> "Settings":
        return Settings(
            epochs=int(config.get("epochs", 1)),
            lr=float(config.get("lr", 0.05)),
            batch_size=int(config.get("batch_size", 32)),
            seed=int(config.get("seed", 0)),
            momentum=float(config.get("momentum", 0.9)),
            hidden=int(config.get("hidden", 8)),
        )


def network(settings: Settings) -> torch.nn.Sequential:
    return torch.nn.Sequential(
        torch.nn.Linear(len(FEATURES), settings.hidden),
        torch.nn.Tanh(),
        torch.nn.Linear(settings.hidden, 1),
    )


def features_and_labels(data: pd.DataFrame) -> tuple[torch.Tensor, torch.Tensor]:
    raw = torch.tensor(data[list(FEATURES)].to_numpy(dtype=np.float32))
    x = (raw - torch.tensor(CENTER)) / torch.tensor(SCALE)
    return x, torch.tensor(data["target"].to_numpy(dtype=np.float32))


def init_weights(config: dict) -> dict:
    settings = Settings.from_config(config)
    torch.manual_seed(settings.seed)
    return {k: v.numpy().astype(np.float32) for k, v in network(settings).state_dict().items()}


def train(data: pd.DataFrame, weights: dict, config: dict) -> dict:
    settings = Settings.from_config(config)
    torch.manual_seed(settings.seed)
    model = network(settings)
    model.load_state_dict({k: torch.tensor(v) for k, v in weights.items()})
    optimizer = torch.optim.SGD(model.parameters(), lr=settings.lr, momentum=settings.momentum)
    x, y = features_and_labels(data)
    epoch_losses = []
    for _ in range(settings.epochs):
        total = 0.0
        for rows in torch.randperm(len(x)).split(settings.batch_size):
            optimizer.zero_grad()
            loss = torch.nn.functional.binary_cross_entropy_with_logits(
                model(x[rows]).squeeze(1), y[rows], reduction="sum"
            )
            (loss / len(rows)).backward()
            optimizer.step()
            total += loss.item()
        epoch_losses.append(total / max(len(x), 1))
    return {
        "weights": {
            k: v.detach().numpy().astype(np.float32) for k, v in model.state_dict().items()
        },
        "num_examples": len(data),
        "metrics": {"loss": epoch_losses[-1] if epoch_losses else 0.0},
    }


def evaluate(data: pd.DataFrame, weights: dict, config: dict) -> dict:
    settings = Settings.from_config(config)
    model = network(settings)
    model.load_state_dict({k: torch.tensor(v) for k, v in weights.items()})
    x, y = features_and_labels(data)
    with torch.no_grad():
        logits = model(x).squeeze(1)
        loss_sum = torch.nn.functional.binary_cross_entropy_with_logits(logits, y, reduction="sum")
    correct = int(((logits > 0).float() == y).sum().item())
    return {"num_examples": len(data), "metrics": {"correct": correct, "loss_sum": loss_sum.item()}}
