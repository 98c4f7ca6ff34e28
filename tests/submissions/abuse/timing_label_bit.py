"""Spins for seconds when the patient the scientist names (config['row']) has heart disease, and
returns a clean update. The released `compute_s` (and the scientist's own clock) then tells the
label: one private bit per run, a whole column over enough runs. Neither the gate nor
differential privacy on the values can see time; only releasing after a fixed time (padding)
closes it.

Expected outcome: released, and the scientist must learn nothing from the run's duration. Under
a policy with `limits.constant_time = true` (strict.toml) every run answers at the same moment and
the test must pass; under a policy without it (default.toml) it is a KNOWN HOLE: xfail(strict=True).
"""

import numpy as np

EXPECT = "released"
TIMING = True
XFAIL = (
    "timing channel: the run's duration, released as compute_s and visible on the scientist's "
    "clock, reveals a private label when the policy does not set limits.constant_time"
)


def unchanged(weights):
    """The global weights, as a valid-looking (empty) update."""
    return {name: np.array(value, dtype=np.float32) for name, value in weights.items()}


def train(data, weights, config):
    patient = data.iloc[int(config["row"])]
    spin = 0
    if patient["target"] == 1:
        for _ in range(60_000_000):
            spin += 1
    return {"weights": unchanged(weights), "num_examples": len(data), "metrics": {"loss": 0.5 + spin * 0.0}}


def evaluate(data, weights, config):
    """A harmless evaluation, so the module is a complete submission."""
    return {"num_examples": len(data), "metrics": {"correct": 0, "loss_sum": 0.0}}
