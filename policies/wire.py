"""Pickle-free encoding of a training result across the sandbox boundary.

The child process encodes what the submitted code returned; the parent decodes
bytes it must treat as hostile. The format is

    b"FSW1" | u32 big-endian header length | UTF-8 JSON header | raw array bytes

The header is ``{"tree": node, "arrays": [{"dtype": "<f4", "shape": [3, 2]}, ...]}``.
A node is a JSON scalar (None, bool, int, float, str) or a tagged pair:
``["d", {key: node}]`` for a dict, ``["l", [scalar, ...]]`` for a list and
``["a", index]`` for the index-th array, whose bytes follow the header in order.
Decoding never unpickles: arrays are rebuilt with ``np.frombuffer`` from an
allow-listed dtype and a shape whose byte count must match exactly.
"""

from __future__ import annotations

import json
import struct
import sys

import numpy as np

MAGIC = b"FSW1"
MAX_DEPTH = 4  # containers (dicts and lists) nested inside each other, the top one included
MAX_STR = 1000  # characters in a string value or a dict key
MAX_NDIM = 8
MAX_ARRAYS = 10_000
MAX_INT = 2**63  # ints must lie in [-2**63, 2**63)
_LENGTH = struct.Struct(">I")
_PREFIX = len(MAGIC) + _LENGTH.size

# little-endian numeric and bool dtypes only: no object, string, datetime or structured dtypes
ALLOWED_DTYPES = frozenset(
    {"|b1", "|i1", "|u1", "<i2", "<u2", "<i4", "<u4", "<i8", "<u8", "<f2", "<f4", "<f8"}
)


class WireError(ValueError):
    """A value cannot be encoded, or a blob is not a valid encoding."""


def encode(value: object) -> bytes:
    """Encode a result (dicts, lists of scalars, scalars, numpy arrays, torch tensors) to bytes."""
    arrays: list[np.ndarray] = []
    tree = _encode_node(value, "result", 0, arrays)
    specs = [{"dtype": a.dtype.str, "shape": list(a.shape)} for a in arrays]
    text = json.dumps({"tree": tree, "arrays": specs}, ensure_ascii=False, separators=(",", ":"))
    try:
        header = text.encode("utf-8")
    except UnicodeEncodeError:
        raise WireError("result: a string holds a lone surrogate, which is not valid text") from None
    return b"".join([MAGIC, _LENGTH.pack(len(header)), header, *(a.tobytes() for a in arrays)])


def decode(blob: bytes, *, max_bytes: int) -> object:
    """Decode bytes made by ``encode``; rejects blobs over ``max_bytes`` before parsing anything.

    The bytes are assumed hostile: whatever is wrong with them, the only exception is WireError.
    """
    try:
        return _decode(blob, max_bytes=max_bytes)
    except WireError:
        raise
    except Exception as exc:  # numpy, json, struct or memory errors on crafted input
        raise WireError(f"malformed result ({type(exc).__name__})") from None


def _decode(blob: bytes, *, max_bytes: int) -> object:
    if not isinstance(blob, bytes | bytearray | memoryview):
        raise WireError(f"expected bytes, got {type(blob).__name__}")
    view = memoryview(blob).cast("B")
    if view.nbytes > max_bytes:
        raise WireError(f"result is {view.nbytes} bytes, over the limit of {max_bytes} bytes")
    if view.nbytes < _PREFIX or bytes(view[: len(MAGIC)]) != MAGIC:
        raise WireError("not a fedsyft wire blob (bad magic); pickles are never accepted")
    (header_len,) = _LENGTH.unpack(view[len(MAGIC) : _PREFIX])
    if header_len > view.nbytes - _PREFIX:
        raise WireError(
            f"header claims {header_len} bytes but only {view.nbytes - _PREFIX} bytes follow"
        )
    header = _parse_header(bytes(view[_PREFIX : _PREFIX + header_len]))
    payload = view[_PREFIX + header_len :]
    arrays = _decode_arrays(header["arrays"], payload, max_bytes)
    used: set[int] = set()
    value = _decode_node(header["tree"], "result", 0, arrays, used)
    if len(used) != len(arrays):
        raise WireError(f"{len(arrays) - len(used)} declared arrays are never referenced")
    return value


def _encode_node(value: object, path: str, depth: int, arrays: list[np.ndarray]) -> object:
    """Turn one value into a JSON node, appending arrays it holds to ``arrays``."""
    scalar = _encode_scalar(value, path)
    if scalar is not _NOT_SCALAR:
        return scalar
    kind = type(value)
    if kind is dict or kind is list or kind is tuple:
        if depth >= MAX_DEPTH:
            raise WireError(f"{path}: nested deeper than {MAX_DEPTH} containers")
        if kind is dict:
            node: dict[str, object] = {}
            for key, item in value.items():  # type: ignore[attr-defined]
                if type(key) is not str:
                    raise WireError(f"{path}: dict key of type {type(key).__name__}; keys must be str")
                if len(key) > MAX_STR:
                    raise WireError(f"{path}: dict key longer than {MAX_STR} characters")
                node[key] = _encode_node(item, f"{path}[{key!r}]", depth + 1, arrays)
            return ["d", node]
        items = []
        for index, item in enumerate(value):  # type: ignore[attr-defined]
            encoded = _encode_scalar(item, f"{path}[{index}]")
            if encoded is _NOT_SCALAR:
                raise WireError(
                    f"{path}[{index}]: lists may hold only scalars, got {type(item).__name__}"
                )
            items.append(encoded)
        return ["l", items]
    array = _as_array(value, path)
    if array is None:
        raise WireError(f"{path}: unsupported type {kind.__name__}")
    if len(arrays) >= MAX_ARRAYS:
        raise WireError(f"{path}: more than {MAX_ARRAYS} arrays")
    arrays.append(array)
    return ["a", len(arrays) - 1]


_NOT_SCALAR = object()


def _encode_scalar(value: object, path: str) -> object:
    """Return the JSON form of a scalar, or ``_NOT_SCALAR`` when ``value`` is not one."""
    kind = type(value)
    if value is None or kind is bool or kind is float:
        return value
    if kind is int:
        if not -MAX_INT <= value < MAX_INT:  # type: ignore[operator]
            raise WireError(f"{path}: int outside the 64-bit range")
        return value
    if kind is str:
        if len(value) > MAX_STR:  # type: ignore[arg-type]
            raise WireError(f"{path}: string longer than {MAX_STR} characters")
        return value
    if isinstance(value, np.generic):
        if value.dtype.kind not in "biuf":
            raise WireError(f"{path}: unsupported numpy scalar type {value.dtype}")
        return _encode_scalar(value.item(), path)
    return _NOT_SCALAR


def _as_array(value: object, path: str) -> np.ndarray | None:
    """Return ``value`` as a C-contiguous little-endian array, or None when it is not array-like."""
    if type(value) is not np.ndarray:
        torch = sys.modules.get("torch")  # a tensor can only exist if torch was imported
        if torch is None or not isinstance(value, torch.Tensor):
            return None
        if value.layout is not torch.strided:
            raise WireError(f"{path}: unsupported tensor layout {value.layout}")
        tensor = value.detach().cpu()
        if tensor.dtype is torch.bfloat16:
            tensor = tensor.float()
        try:
            value = tensor.numpy()
        except (TypeError, RuntimeError) as exc:
            raise WireError(f"{path}: tensor of dtype {tensor.dtype} has no numpy form") from exc
    array: np.ndarray = value  # type: ignore[assignment]
    if array.ndim > MAX_NDIM:
        raise WireError(f"{path}: array has {array.ndim} dimensions, more than {MAX_NDIM}")
    little = array.dtype.newbyteorder("<") if array.dtype.byteorder == ">" else array.dtype
    if little.str not in ALLOWED_DTYPES:
        raise WireError(f"{path}: unsupported array dtype {array.dtype}")
    return np.asarray(array, dtype=little, order="C")  # ascontiguousarray would make 0-d 1-d


def _parse_header(raw: bytes) -> dict:
    """Parse and shape-check the JSON header."""
    try:
        header = json.loads(raw.decode("utf-8"), object_pairs_hook=_unique_keys)
    except WireError:
        raise
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise WireError(f"header is not valid JSON: {type(exc).__name__}") from None
    if type(header) is not dict or set(header) != {"tree", "arrays"}:
        raise WireError("header must be an object with exactly 'tree' and 'arrays'")
    if type(header["arrays"]) is not list or len(header["arrays"]) > MAX_ARRAYS:
        raise WireError(f"header 'arrays' must be a list of at most {MAX_ARRAYS} specs")
    return header


def _unique_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    """JSON object hook that rejects duplicate keys."""
    result = dict(pairs)
    if len(result) != len(pairs):
        raise WireError("header has a duplicate key")
    return result


def _decode_arrays(specs: list, payload: memoryview, max_bytes: int) -> list[np.ndarray]:
    """Rebuild the declared arrays from the payload; their byte counts must add up exactly."""
    arrays: list[np.ndarray] = []
    offset = 0
    for index, spec in enumerate(specs):
        where = f"array #{index}"
        if type(spec) is not dict or set(spec) != {"dtype", "shape"}:
            raise WireError(f"{where}: spec must have exactly 'dtype' and 'shape'")
        dtype_name, shape = spec["dtype"], spec["shape"]
        if type(dtype_name) is not str or dtype_name not in ALLOWED_DTYPES:
            raise WireError(f"{where}: dtype {str(dtype_name)[:40]!r} is not allowed")
        if type(shape) is not list or len(shape) > MAX_NDIM:
            raise WireError(f"{where}: shape must be a list of at most {MAX_NDIM} sizes")
        dtype = np.dtype(dtype_name)
        count = 1
        for size in shape:
            if type(size) is not int or size < 0:
                raise WireError(f"{where}: shape sizes must be non-negative ints")
            count *= size
            if count * dtype.itemsize > max_bytes:
                raise WireError(f"{where}: declared shape is larger than the whole blob limit")
        nbytes = count * dtype.itemsize
        if offset + nbytes > payload.nbytes:
            raise WireError(f"{where}: declares {nbytes} bytes but the payload is too short")
        flat = np.frombuffer(payload, dtype=dtype, count=count, offset=offset)
        arrays.append(flat.reshape(shape).copy())
        offset += nbytes
    if offset != payload.nbytes:
        raise WireError(f"payload has {payload.nbytes - offset} bytes not covered by any array")
    return arrays


def _decode_node(
    node: object, path: str, depth: int, arrays: list[np.ndarray], used: set[int]
) -> object:
    """Rebuild one value from its JSON node, checking every limit ``encode`` applies."""
    scalar = _decode_scalar(node, path)
    if scalar is not _NOT_SCALAR:
        return scalar
    if type(node) is not list or len(node) != 2 or type(node[0]) is not str:
        raise WireError(f"{path}: malformed node")
    tag, body = node
    if tag == "a":
        if type(body) is not int or not 0 <= body < len(arrays) or body in used:
            raise WireError(f"{path}: bad or repeated array reference")
        used.add(body)
        return arrays[body]
    if depth >= MAX_DEPTH:
        raise WireError(f"{path}: nested deeper than {MAX_DEPTH} containers")
    if tag == "d" and type(body) is dict:
        result = {}
        for key, item in body.items():
            if len(key) > MAX_STR:
                raise WireError(f"{path}: dict key longer than {MAX_STR} characters")
            result[key] = _decode_node(item, f"{path}[{key[:40]!r}]", depth + 1, arrays, used)
        return result
    if tag == "l" and type(body) is list:
        items = []
        for index, item in enumerate(body):
            decoded = _decode_scalar(item, f"{path}[{index}]")
            if decoded is _NOT_SCALAR:
                raise WireError(f"{path}[{index}]: lists may hold only scalars")
            items.append(decoded)
        return items
    raise WireError(f"{path}: unknown node tag {tag[:10]!r}")


def _decode_scalar(node: object, path: str) -> object:
    """Return a decoded JSON scalar, or ``_NOT_SCALAR`` for containers."""
    kind = type(node)
    if node is None or kind is bool:
        return node
    if kind is float:
        return node  # NaN and infinities pass: judging them is the output gate's job
    if kind is int:
        if not -MAX_INT <= node < MAX_INT:  # type: ignore[operator]
            raise WireError(f"{path}: int outside the 64-bit range")
        return node
    if kind is str:
        if len(node) > MAX_STR:  # type: ignore[arg-type]
            raise WireError(f"{path}: string longer than {MAX_STR} characters")
        return node
    return _NOT_SCALAR
