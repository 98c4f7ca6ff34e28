"""A small network with batch normalisation; running statistics travel with the weights."""

import numpy as np
import pandas as pd
import torch

FEATURES = [
    "age", "sex", "trestbps", "chol", "fbs", "thalach", "exang", "oldpeak",
    "cp_2", "cp_3", "cp_4", "restecg_1", "restecg_2",
]  # fmt: skip
CENTER = [55.0, 0.5, 130.0, 240.0, 0.0, 140.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0]
SCALE = [10.0, 0.5, 20.0, 60.0, 1.0, 25.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]


def make_net() -> torch.nn.Module:
    return torch.nn.Sequential(
        torch.nn.Linear(13, 16),
        torch.nn.BatchNorm1d(16),
        torch.nn.ReLU(),
        torch.nn.Linear(16, 1),
    )


def state_to_weights(model: torch.nn.Module) -> dict:
    # num_batches_tracked is an int64 counter, not a weight: it stays local
    return {
        name: value.detach().numpy().astype(np.float32)
        for name, value in model.state_dict().items()
        if not name.endswith("num_batches_tracked")
    }


def weights_to_net(weights: dict) -> torch.nn.Module:
    net = make_net()
    state = {name: torch.tensor(np.asarray(value)) for name, value in weights.items()}
    net.load_state_dict(state, strict=False)
    return net


def prepare(data: pd.DataFrame) -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.tensor(data[FEATURES].to_numpy(), dtype=torch.float32)
    x = (x - torch.tensor(CENTER)) / torch.tensor(SCALE)
    y = torch.tensor(data["target"].to_numpy(), dtype=torch.float32)
    return x, y


def init_weights(config: dict) -> dict:
    torch.manual_seed(int(config.get("seed", 0)))
    return state_to_weights(make_net())


def train(data: pd.DataFrame, weights: dict, config: dict) -> dict:
    torch.manual_seed(int(config.get("seed", 0)))
    net = weights_to_net(weights)
    x, y = prepare(data)
    optimizer = torch.optim.SGD(net.parameters(), lr=float(config.get("lr", 0.05)), momentum=0.9)
    batch_size = int(config.get("batch_size", 32))
    net.train()
    loss_total, batches = 0.0, 0
    for _ in range(int(config.get("epochs", 1))):
        permutation = torch.randperm(len(x))
        for begin in range(0, len(x), batch_size):
            rows = permutation[begin : begin + batch_size]
            if len(rows) < 2:
                continue  # batch norm needs at least two rows to normalise
            optimizer.zero_grad()
            logits = net(x[rows]).squeeze(-1)
            loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, y[rows])
            loss.backward()
            optimizer.step()
            loss_total += loss.item()
            batches += 1
    return {
        "weights": state_to_weights(net),
        "num_examples": len(data),
        "metrics": {"loss": loss_total / batches if batches else 0.0},
    }


def evaluate(data: pd.DataFrame, weights: dict, config: dict) -> dict:
    net = weights_to_net(weights)
    net.eval()
    x, y = prepare(data)
    with torch.no_grad():
        logits = net(x).squeeze(-1)
        loss_sum = torch.nn.functional.binary_cross_entropy_with_logits(logits, y, reduction="sum")
    correct = int((logits.gt(0).float() == y).sum().item())
    return {"num_examples": len(data), "metrics": {"correct": correct, "loss_sum": loss_sum.item()}}
