"""A small 1-D convolutional network sliding over the 13 standardised features as a sequence."""

import numpy as np
import pandas as pd
import torch
from torch import nn

FEATURES = [
    "age", "sex", "trestbps", "chol", "fbs", "thalach", "exang", "oldpeak",
    "cp_2", "cp_3", "cp_4", "restecg_1", "restecg_2",
]  # fmt: skip
CENTER = [55.0, 0.5, 130.0, 240.0, 0.0, 140.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0]
SCALE = [10.0, 0.5, 20.0, 60.0, 1.0, 25.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]
CHANNELS = 4


class ConvNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv1d(1, CHANNELS, kernel_size=3, padding=1)
        self.head = nn.Linear(CHANNELS * len(FEATURES), 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.conv(x.unsqueeze(1)))  # (batch, channels, features)
        return self.head(h.flatten(1)).squeeze(1)


def as_input(data: pd.DataFrame) -> torch.Tensor:
    x = torch.tensor(data[FEATURES].to_numpy(), dtype=torch.float32)
    return (x - torch.tensor(CENTER)) / torch.tensor(SCALE)


def restore(weights: dict) -> ConvNet:
    net = ConvNet()
    net.load_state_dict(
        {k: torch.tensor(np.asarray(v, dtype=np.float32)) for k, v in weights.items()}
    )
    return net


def export(net: ConvNet) -> dict:
    return {k: v.detach().numpy().astype(np.float32) for k, v in net.state_dict().items()}


def init_weights(config: dict) -> dict:
    torch.manual_seed(int(config.get("seed", 0)))
    return export(ConvNet())


def train(data: pd.DataFrame, weights: dict, config: dict) -> dict:
    torch.manual_seed(int(config.get("seed", 0)))
    net = restore(weights)
    x = as_input(data)
    y = torch.tensor(data["target"].to_numpy(), dtype=torch.float32)
    optimizer = torch.optim.Adam(net.parameters(), lr=float(config.get("lr", 0.01)))
    batch_size = int(config.get("batch_size", 32))
    losses = []
    for _ in range(int(config.get("epochs", 1))):
        for rows in torch.randperm(len(x)).split(batch_size):
            optimizer.zero_grad()
            loss = nn.functional.binary_cross_entropy_with_logits(net(x[rows]), y[rows])
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
    return {
        "weights": export(net),
        "num_examples": len(data),
        "metrics": {"loss": float(np.mean(losses)) if losses else 0.0},
    }


def evaluate(data: pd.DataFrame, weights: dict, config: dict) -> dict:
    net = restore(weights)
    x = as_input(data)
    y = torch.tensor(data["target"].to_numpy(), dtype=torch.float32)
    with torch.no_grad():
        logits = net(x)
        loss_sum = nn.functional.binary_cross_entropy_with_logits(logits, y, reduction="sum")
    correct = int(((logits > 0).float() == y).sum().item())
    return {"num_examples": len(data), "metrics": {"correct": correct, "loss_sum": loss_sum.item()}}
