"""Logistic regression for UCI Heart Disease: the demo's training module.

A fedsyft submission: this whole file travels to every datasite, is reviewed
against the owner's policy, and runs there on private data. Features are
standardised with fixed public constants (typical adult clinical values), never
with statistics of a site's data, so every site computes the same model.
"""

import numpy as np
import torch

FEATURES = [
    "age", "sex", "trestbps", "chol", "fbs", "thalach", "exang", "oldpeak",
    "cp_2", "cp_3", "cp_4", "restecg_1", "restecg_2",
]
# Public reference scales (centre, spread) per feature; one-hot and binary columns pass as is.
CENTRE = [54.0, 0.0, 130.0, 220.0, 0.0, 140.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0]
SPREAD = [9.0, 1.0, 18.0, 80.0, 1.0, 25.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]


def build_model() -> torch.nn.Module:
    """One linear layer: 13 standardised features to one logit."""
    return torch.nn.Linear(len(FEATURES), 1)


def tensors(data):
    """Standardised features and labels of a split as float32 tensors."""
    x = (data[FEATURES].to_numpy(dtype=np.float32) - np.float32(CENTRE)) / np.float32(SPREAD)
    y = data["target"].to_numpy(dtype=np.float32)
    return torch.from_numpy(x), torch.from_numpy(y)


def load(model, weights):
    """Load numpy weights into the model."""
    model.load_state_dict({k: torch.from_numpy(np.asarray(v)) for k, v in weights.items()})


def init_weights(config):
    """The starting global model (run by the scientist only)."""
    torch.manual_seed(int(config.get("seed", 0)))
    model = build_model()
    return {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}


def train(data, weights, config):
    """A few epochs of mini-batch SGD from the global weights; returns the new weights."""
    torch.manual_seed(int(config.get("seed", 0)))
    model = build_model()
    load(model, weights)
    x, y = tensors(data)
    optimiser = torch.optim.SGD(model.parameters(), lr=float(config.get("lr", 0.05)))
    loss_fn = torch.nn.BCEWithLogitsLoss()
    batch = int(config.get("batch_size", 16))
    total = 0.0
    for _ in range(int(config.get("epochs", 1))):
        order = torch.randperm(len(y))
        for start in range(0, len(y), batch):
            idx = order[start:start + batch]
            optimiser.zero_grad()
            loss = loss_fn(model(x[idx]).squeeze(1), y[idx])
            loss.backward()
            optimiser.step()
            total += loss.item() * len(idx)
    steps = max(1, int(config.get("epochs", 1)) * len(y))
    new = {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}
    return {"weights": new, "num_examples": len(data), "metrics": {"loss": total / steps}}


def evaluate(data, weights, config):
    """Counts over a split: correct predictions and summed loss."""
    model = build_model()
    load(model, weights)
    x, y = tensors(data)
    with torch.no_grad():
        logits = model(x).squeeze(1)
        loss_sum = torch.nn.functional.binary_cross_entropy_with_logits(logits, y, reduction="sum")
        correct = int(((logits > 0).float() == y).sum())
    return {"num_examples": len(data), "metrics": {"correct": correct, "loss_sum": float(loss_sum)}}
