"""A torch.nn.Module subclass plus module-level helpers for scaling, batching and scoring."""

import itertools
import random
from collections.abc import Iterator

import numpy as np
import pandas as pd
import torch

FEATURES = [
    "age", "sex", "trestbps", "chol", "fbs", "thalach", "exang", "oldpeak",
    "cp_2", "cp_3", "cp_4", "restecg_1", "restecg_2",
]  # fmt: skip
LABEL = "target"
# Public clinical reference values: (centre, scale) for each continuous feature.
REFERENCE = {
    "age": (55.0, 10.0),
    "trestbps": (130.0, 20.0),
    "chol": (240.0, 60.0),
    "thalach": (140.0, 25.0),
    "oldpeak": (1.0, 1.0),
}


class HeartNet(torch.nn.Module):
    def __init__(self, hidden: int = 12) -> None:
        super().__init__()
        self.hidden = torch.nn.Linear(len(FEATURES), hidden)
        self.output = torch.nn.Linear(hidden, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.output(torch.relu(self.hidden(x))).squeeze(-1)


def scale(data: pd.DataFrame) -> torch.Tensor:
    frame = data[FEATURES].astype("float64").copy()
    for column, (centre, spread) in REFERENCE.items():
        frame[column] = (frame[column] - centre) / spread
    return torch.tensor(frame.to_numpy(), dtype=torch.float32)


def labels(data: pd.DataFrame) -> torch.Tensor:
    return torch.tensor(data[LABEL].to_numpy(), dtype=torch.float32)


def batches(n: int, size: int, rng: random.Random) -> Iterator[list[int]]:
    order = list(range(n))
    rng.shuffle(order)
    it = iter(order)
    while chunk := list(itertools.islice(it, size)):
        yield chunk


def load(weights: dict) -> HeartNet:
    net = HeartNet()
    net.load_state_dict({name: torch.as_tensor(np.asarray(w)) for name, w in weights.items()})
    return net


def dump(net: HeartNet) -> dict:
    return {
        name: t.detach().cpu().numpy().astype(np.float32) for name, t in net.state_dict().items()
    }


def init_weights(config: dict) -> dict:
    torch.manual_seed(int(config.get("seed", 0)))
    return dump(HeartNet())


def train(data: pd.DataFrame, weights: dict, config: dict) -> dict:
    seed = int(config.get("seed", 0))
    torch.manual_seed(seed)
    rng = random.Random(seed)
    net = load(weights)
    x, y = scale(data), labels(data)
    optimizer = torch.optim.Adam(net.parameters(), lr=float(config.get("lr", 0.01)))
    size = int(config.get("batch_size", 32))
    history = []
    for _ in range(int(config.get("epochs", 1))):
        for rows in batches(len(x), size, rng):
            optimizer.zero_grad()
            loss = torch.nn.functional.binary_cross_entropy_with_logits(net(x[rows]), y[rows])
            loss.backward()
            optimizer.step()
            history.append(loss.item())
    return {
        "weights": dump(net),
        "num_examples": len(data),
        "metrics": {"loss": sum(history) / len(history) if history else 0.0},
    }


def evaluate(data: pd.DataFrame, weights: dict, config: dict) -> dict:
    net = load(weights)
    x, y = scale(data), labels(data)
    with torch.no_grad():
        logits = net(x)
        loss_sum = torch.nn.functional.binary_cross_entropy_with_logits(logits, y, reduction="sum")
    correct = int(torch.eq(logits > 0, y > 0.5).sum().item())
    return {"num_examples": len(data), "metrics": {"correct": correct, "loss_sum": loss_sum.item()}}
