"""policies.wire: the pickle-free result encoding that crosses the sandbox boundary."""

from __future__ import annotations

import json
import pickle
import struct

import numpy as np
import pytest
import torch

from policies import wire

FEATURES = 13


def craft(header: object, payload: bytes = b"", *, raw_header: bytes | None = None) -> bytes:
    """A blob with a hand-written header, as a hostile child could send it."""
    body = raw_header if raw_header is not None else json.dumps(header).encode()
    return wire.MAGIC + struct.pack(">I", len(body)) + body + payload


def model_update() -> dict:
    """A result shaped like the training contract's model update."""
    rng = np.random.default_rng(0)
    return {
        "weights": {
            "linear.weight": rng.normal(size=(1, FEATURES)).astype(np.float32),
            "linear.bias": np.zeros(1, np.float32),
        },
        "num_examples": 60,
        "metrics": {"loss": 0.41},
    }


def test_model_update_round_trips_with_dtypes_and_shapes() -> None:
    update = model_update()
    decoded = wire.decode(wire.encode(update), max_bytes=10_000)
    assert decoded["num_examples"] == 60 and decoded["metrics"] == {"loss": 0.41}
    for name, array in update["weights"].items():
        got = decoded["weights"][name]
        assert got.dtype == np.float32 and got.shape == array.shape
        np.testing.assert_array_equal(got, array)
        assert got.flags.writeable  # a copy, not a view into the blob


def test_metrics_round_trip_with_ints_floats_and_nesting() -> None:
    result = {"num_examples": 61, "metrics": {"correct": 40, "loss_sum": 20.5, "nan": float("nan")},
              "meta": {"a": {"b": [1, 2.5, None, True, "x"]}}}  # four containers deep
    decoded = wire.decode(wire.encode(result), max_bytes=10_000)
    assert decoded["metrics"]["correct"] == 40 and type(decoded["metrics"]["correct"]) is int
    assert np.isnan(decoded["metrics"]["nan"])  # judging NaN is the output gate's job
    assert decoded["meta"] == {"a": {"b": [1, 2.5, None, True, "x"]}}


def test_tuples_numpy_scalars_and_odd_arrays_are_normalised() -> None:
    big_endian = np.arange(6, dtype=">f4").reshape(2, 3)
    result = {
        "pair": (1, 2),
        "scalars": [np.float32(0.5), np.int64(7), np.bool_(True)],
        "big_endian": big_endian,
        "strided": np.arange(10, dtype=np.int32)[::2],
        "flags": np.array([True, False]),
        "empty": np.zeros((0, 3), np.float64),
        "zero_d": np.array(3.5, np.float32),
    }
    decoded = wire.decode(wire.encode(result), max_bytes=10_000)
    assert decoded["pair"] == [1, 2]
    assert decoded["scalars"] == [0.5, 7, True] and type(decoded["scalars"][1]) is int
    assert decoded["big_endian"].dtype == np.dtype("<f4")
    np.testing.assert_array_equal(decoded["big_endian"], big_endian)
    np.testing.assert_array_equal(decoded["strided"], [0, 2, 4, 6, 8])
    assert decoded["flags"].dtype == np.bool_ and decoded["empty"].shape == (0, 3)
    assert decoded["zero_d"].shape == () and decoded["zero_d"] == 3.5


def test_torch_tensors_are_detached_to_numpy() -> None:
    layer = torch.nn.Linear(FEATURES, 1)
    result = {"weights": dict(layer.state_dict()), "grad": torch.ones(2, requires_grad=True) * 2,
              "half": torch.ones(2, dtype=torch.bfloat16)}
    decoded = wire.decode(wire.encode(result), max_bytes=10_000)
    assert decoded["weights"]["weight"].shape == (1, FEATURES)
    np.testing.assert_array_equal(decoded["weights"]["bias"], layer.bias.detach().numpy())
    np.testing.assert_array_equal(decoded["grad"], [2.0, 2.0])
    assert decoded["half"].dtype == np.float32


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"weights": {"fc.weight": {1, 2}}}, "result['weights']['fc.weight']: unsupported type set"),
        (object(), "result: unsupported type object"),
        ({"w": np.array([object()], dtype=object)}, "result['w']: unsupported array dtype object"),
        ({"w": np.zeros(2, np.complex64)}, "unsupported array dtype complex64"),
        ({"t": np.array(["2020-01-01"], dtype="datetime64[D]")}, "unsupported array dtype"),
        ({1: 2}, "result: dict key of type int; keys must be str"),
        ({"s": "x" * 1001}, "result['s']: string longer than 1000 characters"),
        ({"l": [np.zeros(2)]}, "result['l'][0]: lists may hold only scalars"),
        ({"i": 2**63}, "result['i']: int outside the 64-bit range"),
        ({"a": {"b": {"c": {"d": {"e": 1}}}}}, "nested deeper than 4 containers"),
        ({"m": np.ma.masked_array([1.0])}, "unsupported type MaskedArray"),
        ({"s": "\udcff"}, "lone surrogate"),
    ],
)
def test_encode_rejects_what_the_contract_does_not_allow(value: object, message: str) -> None:
    with pytest.raises(wire.WireError, match=message.replace("[", r"\[").replace("]", r"\]")):
        wire.encode(value)


def test_decode_rejects_a_pickled_payload() -> None:
    with pytest.raises(wire.WireError, match="pickles are never accepted"):
        wire.decode(pickle.dumps(model_update()), max_bytes=1_000_000)


def test_decode_never_unpickles(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("decode must not unpickle")

    for name in ("loads", "load", "Unpickler"):
        monkeypatch.setattr(pickle, name, refuse)
    monkeypatch.setattr(np, "load", refuse)
    assert wire.decode(wire.encode(model_update()), max_bytes=10_000)["num_examples"] == 60


def test_decode_rejects_an_oversized_blob_before_parsing() -> None:
    blob = wire.encode(model_update())
    with pytest.raises(wire.WireError, match="over the limit"):
        wire.decode(blob, max_bytes=len(blob) - 1)
    with pytest.raises(wire.WireError, match="over the limit"):
        wire.decode(b"\x00" * 2_000, max_bytes=1_000)  # not even looked at


@pytest.mark.parametrize("cut", [1, 4, 52, 100])
def test_decode_rejects_a_truncated_blob(cut: int) -> None:
    blob = wire.encode(model_update())
    with pytest.raises(wire.WireError):
        wire.decode(blob[:-cut], max_bytes=10_000)


def test_decode_rejects_trailing_bytes() -> None:
    with pytest.raises(wire.WireError, match="not covered by any array"):
        wire.decode(wire.encode(model_update()) + b"\x00" * 4, max_bytes=10_000)


def test_decode_rejects_a_shape_that_lies_about_the_payload() -> None:
    header = {"tree": ["a", 0], "arrays": [{"dtype": "<f4", "shape": [3, 3]}]}
    with pytest.raises(wire.WireError, match="payload is too short"):
        wire.decode(craft(header, b"\x00" * 16), max_bytes=10_000)


def test_decode_rejects_a_huge_declared_shape_without_allocating() -> None:
    header = {"tree": ["a", 0], "arrays": [{"dtype": "<f8", "shape": [2**40, 2**40]}]}
    with pytest.raises(wire.WireError, match="larger than the whole blob limit"):
        wire.decode(craft(header, b"\x00" * 8), max_bytes=10_000)


@pytest.mark.parametrize("dtype", ["|O", "<c16", ">f4", "<M8[D]", "|V8", "float32", 7])
def test_decode_rejects_dtypes_outside_the_allow_list(dtype: object) -> None:
    header = {"tree": ["a", 0], "arrays": [{"dtype": dtype, "shape": [1]}]}
    with pytest.raises(wire.WireError, match="is not allowed"):
        wire.decode(craft(header, b"\x00" * 16), max_bytes=10_000)


@pytest.mark.parametrize(
    "tree",
    [
        ["d", [[1, 2]]],  # a dict body that is not a JSON object: keys can only be str
        ["d", {"k": ["l", [["l", []]]]}],  # a list holding a container
        ["x", 1],  # unknown tag
        ["a", 0],  # reference to an array that was never declared
        {"k": 1},  # an untagged object
        ["d", {"a": ["d", {"b": ["d", {"c": ["d", {"d": ["d", {}]}]}]}]}],  # depth 5
    ],
)
def test_decode_rejects_malformed_trees(tree: object) -> None:
    with pytest.raises(wire.WireError):
        wire.decode(craft({"tree": tree, "arrays": []}), max_bytes=10_000)


def test_decode_rejects_arrays_referenced_twice_or_never() -> None:
    spec = {"dtype": "<f4", "shape": [1]}
    twice = {"tree": ["d", {"a": ["a", 0], "b": ["a", 0]}], "arrays": [spec]}
    never = {"tree": 1, "arrays": [spec]}
    for header in (twice, never):
        with pytest.raises(wire.WireError):
            wire.decode(craft(header, b"\x00" * 4), max_bytes=10_000)


@pytest.mark.parametrize(
    "raw_header",
    [b"{not json", b'{"tree": 1, "arrays": [], "tree": 2}', b"\xff\xfe", b'[1, 2]',
     b'{"tree": 1}', b'{"tree": 1, "arrays": [], "extra": 0}', b"[" * 100_000],
)
def test_decode_rejects_malformed_headers(raw_header: bytes) -> None:
    with pytest.raises(wire.WireError):
        wire.decode(craft(None, raw_header=raw_header), max_bytes=1_000_000)


def test_decode_rejects_a_header_length_beyond_the_blob() -> None:
    blob = wire.MAGIC + struct.pack(">I", 10_000) + b"{}"
    with pytest.raises(wire.WireError, match="header claims"):
        wire.decode(blob, max_bytes=1_000_000)


@pytest.mark.parametrize("shape", [[0, 2**64], [-1], [2**62, 2**62], [0, 10**30], ["3"]])
def test_decode_turns_every_failure_on_crafted_shapes_into_a_wire_error(shape: list) -> None:
    """A red team's shape [0, 2**64] made numpy raise ValueError, which nothing caught."""
    header = json.dumps({"tree": ["a", 0], "arrays": [{"dtype": "<f4", "shape": shape}]}).encode()
    blob = wire.MAGIC + len(header).to_bytes(4, "big") + header
    with pytest.raises(wire.WireError):
        wire.decode(blob, max_bytes=10_000)
