"""Aggregation rules on hand-made updates whose answers are known."""

from __future__ import annotations

import numpy as np
import pytest

from scientist.strategies import Updates, fedavg, fedmedian, krum, trimmed_mean


def _update(weight: list[float], bias: float, count: int, dtype: str = "float32") -> tuple:
    return {
        "fc.weight": np.array([weight], dtype=dtype),
        "fc.bias": np.array([bias], dtype=dtype),
    }, count


@pytest.fixture
def three() -> Updates:
    # coordinate-wise medians come from different updates: [3, 4] is none of the three
    return [
        _update([1.0, 9.0], 1.0, 1),
        _update([3.0, 0.0], 2.0, 1),
        _update([8.0, 4.0], 6.0, 2),
    ]


def _assert_weights(result: dict, weight: list[float], bias: float) -> None:
    assert set(result) == {"fc.weight", "fc.bias"}
    np.testing.assert_allclose(result["fc.weight"], [weight], rtol=0, atol=1e-6)
    np.testing.assert_allclose(result["fc.bias"], [bias], rtol=0, atol=1e-6)


def test_fedavg_weights_by_example_count(three: Updates) -> None:
    _assert_weights(fedavg(three), [5.0, 4.25], 3.75)


def test_fedavg_of_equal_counts_is_the_plain_mean(three: Updates) -> None:
    equal = [(weights, 10) for weights, _ in three]
    _assert_weights(fedavg(equal), [4.0, 13.0 / 3.0], 3.0)


def test_fedmedian_is_coordinate_wise(three: Updates) -> None:
    _assert_weights(fedmedian(three), [3.0, 4.0], 2.0)


def test_trimmed_mean_drops_the_extremes_of_each_coordinate(three: Updates) -> None:
    _assert_weights(trimmed_mean(three, 1 / 3), [3.0, 4.0], 2.0)
    _assert_weights(trimmed_mean(three, 0.0), [4.0, 13.0 / 3.0], 3.0)


def test_trimmed_mean_of_five_keeps_the_middle_three() -> None:
    updates = [_update([v, -v], v, 1) for v in (0.0, 1.0, 2.0, 6.0, 100.0)]
    _assert_weights(trimmed_mean(updates, 0.2), [3.0, -3.0], 3.0)


def _cluster_and_outlier() -> Updates:
    # squared distances give Krum scores (f=1, 2 neighbours) 3, 2, 6, 3, 326
    points = [([0.0, 0.0], 2), ([1.0, 0.0], 1), ([0.0, 2.0], 1), ([1.0, 1.0], 1)]
    points.append(([10.0, 10.0], 1))
    return [_update(weight, 0.0, count) for weight, count in points]


def test_krum_picks_the_update_closest_to_its_neighbours() -> None:
    _assert_weights(krum(_cluster_and_outlier(), num_malicious=1), [1.0, 0.0], 0.0)


def test_multi_krum_averages_the_best_updates_by_example_count() -> None:
    # best three: [1, 0] (1 example), [0, 0] (2 examples), [1, 1] (1 example)
    result = krum(_cluster_and_outlier(), num_malicious=1, num_selected=3)
    _assert_weights(result, [0.5, 0.25], 0.0)


def test_krum_result_is_a_copy() -> None:
    updates = _cluster_and_outlier()
    result = krum(updates, num_malicious=1)
    result["fc.weight"][0, 0] = 99.0
    assert updates[1][0]["fc.weight"][0, 0] == 1.0


@pytest.mark.parametrize("rule", [fedavg, fedmedian, lambda u: trimmed_mean(u, 0.34)])
def test_float32_in_float32_out(three: Updates, rule) -> None:
    result = rule(three)
    assert all(array.dtype == np.float32 for array in result.values())
    assert result["fc.weight"].shape == (1, 2)
    assert result["fc.bias"].shape == (1,)


def test_float64_stays_float64() -> None:
    updates = [_update([1.0, 2.0], 0.0, 1, "float64"), _update([2.0, 4.0], 0.0, 3, "float64")]
    result = fedavg(updates)
    assert result["fc.weight"].dtype == np.float64
    _assert_weights(result, [1.75, 3.5], 0.0)


def test_integer_arrays_are_rounded_back_to_their_dtype() -> None:
    updates = [({"steps": np.array([1], dtype=np.int64)}, 1), ({"steps": np.array([4])}, 1)]
    result = fedavg(updates)
    assert result["steps"].dtype == np.int64
    assert result["steps"].tolist() == [2]  # 2.5 rounds half to even


def test_float32_precision_is_kept_by_computing_in_float64() -> None:
    big = np.float32(16_777_216.0)  # 2**24: float32 sums here would lose the +1s
    updates = [({"w": np.array([big], np.float32)}, 1)] + [({"w": np.array([1.0], np.float32)}, 1) for _ in range(3)]
    assert fedavg(updates)["w"][0] == np.float32((16_777_216.0 + 3.0) / 4)


def test_inputs_are_not_modified(three: Updates) -> None:
    before = [{k: v.copy() for k, v in w.items()} for w, _ in three]
    for rule in (fedavg, fedmedian, lambda u: trimmed_mean(u, 0.34)):
        rule(three)
    for (weights, _), saved in zip(three, before, strict=True):
        for name in saved:
            np.testing.assert_array_equal(weights[name], saved[name])


# --- each ValueError --------------------------------------------------------------------


@pytest.mark.parametrize(
    "rule",
    [fedavg, fedmedian, lambda u: trimmed_mean(u, 0.1), lambda u: krum(u, 0)],
    ids=["fedavg", "fedmedian", "trimmed_mean", "krum"],
)
def test_empty_updates_are_refused(rule) -> None:
    with pytest.raises(ValueError, match="no updates"):
        rule([])


def test_mismatched_names_are_refused(three: Updates) -> None:
    weights, count = three[1]
    renamed = {"fc.kernel" if k == "fc.weight" else k: v for k, v in weights.items()}
    with pytest.raises(ValueError, match=r"update 1 .*missing \['fc.weight'\].*\['fc.kernel'\]"):
        fedavg([three[0], (renamed, count)])


def test_mismatched_shapes_are_refused(three: Updates) -> None:
    bad = ({"fc.weight": np.zeros((2, 1), np.float32), "fc.bias": np.zeros(1, np.float32)}, 1)
    with pytest.raises(ValueError, match=r"update 1: 'fc.weight' has shape \(2, 1\)"):
        fedmedian([three[0], bad])


def test_mismatched_dtypes_are_refused(three: Updates) -> None:
    with pytest.raises(ValueError, match="update 1: 'fc.bias' has dtype float64"):
        fedavg([three[0], _update([1.0, 1.0], 1.0, 1, "float64")])


def test_zero_total_count_is_refused(three: Updates) -> None:
    with pytest.raises(ValueError, match="positive total example count"):
        fedavg([(weights, 0) for weights, _ in three])


@pytest.mark.parametrize("count", [-1, 1.5, True])
def test_bad_example_count_is_refused(three: Updates, count) -> None:
    with pytest.raises(ValueError, match="example count must be an int >= 0"):
        fedavg([three[0], (three[1][0], count)])


def test_trimming_everything_is_refused(three: Updates) -> None:
    with pytest.raises(ValueError, match="would trim all 4 updates"):
        trimmed_mean([*three, three[0]], 0.5)
    with pytest.raises(ValueError, match=r"trim_fraction must be in \[0, 1\)"):
        trimmed_mean(three, -0.1)


def test_krum_needs_2f_plus_3_updates(three: Updates) -> None:
    with pytest.raises(ValueError, match=r"requires at least 2 \* num_malicious \+ 3 updates"):
        krum([*three, three[0]], num_malicious=1)


def test_krum_rejects_a_bad_selection_size() -> None:
    with pytest.raises(ValueError, match="num_selected must be between 1 and 5"):
        krum(_cluster_and_outlier(), num_malicious=1, num_selected=6)
    with pytest.raises(ValueError, match="num_malicious must be >= 0"):
        krum(_cluster_and_outlier(), num_malicious=-1)
