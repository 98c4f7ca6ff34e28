"""Starts worker processes through a DataLoader with `num_workers=2` under the default policy: the
review cannot see processes started inside torch, the sandbox must. The kernel layer refuses the
worker queue's semaphore (PermissionError); the run is then reported as a violation because
printing the loader's ignored teardown error parses source text (see the test module), so either
status is accepted: both fail the run with nothing released.

Expected to be stopped by: the sandbox (approved, the run fails; nothing is released).
"""

import numpy as np
import torch

EXPECT = "sandbox"
STATUS = ['violation', 'error']


def unchanged(weights):
    """The global weights, as a valid-looking (empty) update."""
    return {name: np.array(value, dtype=np.float32) for name, value in weights.items()}


def train(data, weights, config):
    rows = torch.tensor(data.to_numpy(dtype=np.float32))
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(rows), batch_size=16, num_workers=2)
    total = sum(float(batch[0].sum()) for batch in loader)
    return {"weights": unchanged(weights), "num_examples": len(data), "metrics": {"loss": total * 0.0}}


def evaluate(data, weights, config):
    """A harmless evaluation, so the module is a complete submission."""
    return {"num_examples": len(data), "metrics": {"correct": 0, "loss_sum": 0.0}}
