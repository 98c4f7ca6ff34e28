"""The output gate releases a model update or enough-row metrics, and nothing else."""

import numpy as np
import pytest

from policies.gate import OutputGate
from policies.policy import parse_policy

POLICY = parse_policy(
    """
[output]
allowed = ["model_update", "metrics"]
metric_names = ["loss", "correct", "loss_sum", "accuracy"]
min_rows = 20
update_norm_bound = 5.0
on_norm_exceeded = "block"

[limits]
result_bytes = 10000
""",
    source="gate.toml",
)
GLOBAL = {"fc.weight": np.zeros((1, 13), np.float32), "fc.bias": np.zeros(1, np.float32)}


def arrays(weight, bias=None):
    return {"fc.weight": weight, "fc.bias": np.zeros(1, np.float32) if bias is None else bias}


def update(**overrides):
    result = {
        "weights": {"fc.weight": np.full((1, 13), 0.1, np.float32), "fc.bias": np.ones(1, np.float32)},
        "num_examples": 100,
        "metrics": {"loss": 0.4},
    }
    result.update(overrides)
    return result


def gate_update(result, policy=POLICY, n_rows=100):
    return OutputGate(policy).check("model_update", result, global_weights=GLOBAL, n_rows=n_rows)


def gate_metrics(result, policy=POLICY, n_rows=100):
    return OutputGate(policy).check("metrics", result, global_weights=None, n_rows=n_rows)


def test_a_well_formed_update_is_released_as_fresh_arrays():
    result = update()
    decision = gate_update(result)
    assert decision.released, decision.reason
    assert set(decision.value) == {"weights", "num_examples", "metrics"}
    assert decision.value["weights"]["fc.bias"] is not result["weights"]["fc.bias"]
    assert decision.value["num_examples"] == 100
    assert decision.update_norm == pytest.approx(np.sqrt(13 * 0.01 + 1), rel=1e-5)


@pytest.mark.parametrize(
    "result, reason",
    [
        (update(rows=[[63, 1, 145]]), "unexpected keys"),
        (update(weights={"fc.weight": np.zeros((1, 13), np.float32)}), "weight keys differ"),
        (update(weights={**update()["weights"], "stolen": np.arange(5, dtype=np.float32)}), "weight keys differ"),
        (update(weights=arrays(np.zeros((13, 1), np.float32))), "the global model has (float32[1, 13])"),
        (update(weights=arrays(np.zeros((1, 13), np.float64))), "the global model has"),
        (update(weights=arrays(np.full((1, 13), np.nan, np.float32))), "NaN"),
        (update(weights=arrays(np.full((1, 13), np.inf, np.float32))), "infinite"),
        (update(weights=arrays([[0.0] * 13])), "must be an array"),
        (update(num_examples=10_000), "exceeds the rows of the data"),
        (update(num_examples=1), "below the policy's minimum"),
        (update(num_examples=True), "must be an integer"),
        (update(num_examples=99.5), "must be an integer"),
        (update(metrics={"age_of_patient_0": 63.0}), "not allowed"),
        (update(metrics={"loss": np.arange(3.0)}), "scalar"),
        (update(metrics={"loss": "63,1,145"}), "scalar"),
        (update(metrics={"loss": float("nan")}), "not finite"),
        (update(weights="AAAA"), "dict of arrays"),
        ([1, 2, 3], "must be a dict"),
    ],
)
def test_malformed_or_leaky_updates_are_blocked(result, reason):
    decision = gate_update(result)
    assert not decision.released
    assert decision.value is None
    assert reason in decision.reason


def test_update_norm_beyond_the_bound_is_blocked_or_clipped_as_the_policy_says():
    big = update(weights={"fc.weight": np.full((1, 13), 10.0, np.float32), "fc.bias": np.zeros(1, np.float32)})
    blocked = gate_update(big)
    assert not blocked.released and "exceeds the policy's bound" in blocked.reason
    clip_policy = POLICY.model_copy(update={"output": POLICY.output.model_copy(update={"on_norm_exceeded": "clip"})})
    clipped = gate_update(big, policy=clip_policy)
    assert clipped.released and clipped.clipped
    delta = np.sqrt(sum(float(np.sum(v.astype(np.float64) ** 2)) for v in clipped.value["weights"].values()))
    assert delta == pytest.approx(5.0, rel=1e-5)


def test_oversized_update_is_blocked():
    small = POLICY.model_copy(update={"limits": POLICY.limits.model_copy(update={"result_bytes": 16})})
    assert "bytes" in gate_update(update(), policy=small).reason


def test_kinds_the_policy_does_not_release_are_blocked():
    metrics_only = POLICY.model_copy(update={"output": POLICY.output.model_copy(update={"allowed": ["metrics"]})})
    decision = gate_update(update(), policy=metrics_only)
    assert not decision.released and "releases no model_update" in decision.reason


def test_evaluation_counts_are_released():
    decision = gate_metrics({"num_examples": 50, "metrics": {"correct": 41, "loss_sum": 20.5}})
    assert decision.released
    assert decision.value == {"num_examples": 50, "metrics": {"correct": 41, "loss_sum": 20.5}}


@pytest.mark.parametrize(
    "result, reason",
    [
        ({"num_examples": 1, "metrics": {"correct": 1}}, "below the policy's minimum"),  # one row's label
        ({"num_examples": 50, "metrics": {"correct": 51}}, "out of its range"),
        ({"num_examples": 50, "metrics": {"correct": 40.5}}, "out of its range"),
        ({"num_examples": 50, "metrics": {"accuracy": 63.0}}, "out of its range"),
        ({"num_examples": 50, "metrics": {"loss_sum": -1.0}}, "out of its range"),
        ({"num_examples": 50, "metrics": {"chol_row_7": 233.0}}, "not allowed"),
        ({"num_examples": 50, "metrics": {}}, "no metrics"),
        ({"num_examples": 50, "metrics": {"correct": 3}, "weights": {}}, "unexpected keys"),
        ({"num_examples": 500, "metrics": {"correct": 3}}, "exceeds"),
    ],
)
def test_leaky_evaluations_are_blocked(result, reason):
    decision = gate_metrics(result)
    assert not decision.released
    assert reason in decision.reason


def test_refusals_quote_nothing_the_submitted_code_chose():
    """A blocked result's reasons reach the scientist, so they cannot carry private values."""
    leaky = [
        update(LEAK_63_1_145=[63.0]),
        update(weights={**update()["weights"], "LEAK_63": np.zeros(63, np.float32)}),
        update(weights=arrays(np.zeros((63, 1), np.float64))),
        update(num_examples=163),
        update(num_examples=17),
        update(metrics={"LEAK_age_63": 63.0}),
        update(weights=arrays(np.full((1, 13), 63.0, np.float32))),  # norm ~227 over the bound of 5
    ]
    for result in leaky:
        decision = gate_update(result)
        assert not decision.released
        assert "LEAK" not in decision.reason and "63" not in decision.reason, decision.reason
        assert decision.detail != decision.reason, "the owner's audit log gets the specifics"
    evaluation = gate_metrics({"num_examples": 63, "metrics": {"correct": 64}}, n_rows=100)
    assert "63" not in evaluation.reason and "64" not in evaluation.reason
