"""The data owner's datasets: read and validate files, preprocess, split, and build mocks.

The heart data follows the FLamby Fed-Heart-Disease protocol (see
fedsyft/data/uci-heart-disease/README.md). Mocks are drawn from public ranges only,
never from private values, and never repeat a private row.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

RAW_COLUMNS: tuple[str, ...] = (
    "age", "sex", "cp", "trestbps", "chol", "fbs", "restecg",
    "thalach", "exang", "oldpeak", "slope", "ca", "thal", "num",
)  # fmt: skip
FEATURES: tuple[str, ...] = (
    "age", "sex", "trestbps", "chol", "fbs", "thalach", "exang", "oldpeak",
    "cp_2", "cp_3", "cp_4", "restecg_1", "restecg_2",
)  # fmt: skip
LABEL = "target"
CENTRES = ("cleveland", "hungarian", "switzerland", "va")

# FLamby drops these: mostly missing outside Cleveland.
DROPPED_COLUMNS = ("slope", "ca", "thal")
# Categorical columns and the levels the UCI documentation allows; the first level is dropped.
ONE_HOT_LEVELS: dict[str, tuple[int, ...]] = {"cp": (1, 2, 3, 4), "restecg": (0, 1, 2)}
BINARY_COLUMNS = ("sex", "fbs", "exang")
NUM_LEVELS = (0, 1, 2, 3, 4)

# Public ranges from the UCI Heart Disease documentation (Cleveland data sheet):
# column -> (low, high, step). Integers when step == 1; oldpeak in steps of 0.1 mm.
CLINICAL_RANGES: dict[str, tuple[float, float, float]] = {
    "age": (29, 77, 1),  # years
    "trestbps": (94, 200, 1),  # resting blood pressure, mm Hg
    "chol": (126, 564, 1),  # serum cholesterol, mg/dl
    "thalach": (71, 202, 1),  # maximum heart rate achieved, beats/min
    "oldpeak": (0.0, 6.2, 0.1),  # ST depression induced by exercise, mm
}

_MISSING = "?"
_MAX_PROBLEMS = 5  # problems listed in one DataError before "and N more"
_MAX_RESAMPLE_ROUNDS = 1000


class DataError(ValueError):
    """A data file or frame is unusable; the message says where, what, and what to do."""


def _show(value: str) -> str:
    """Quote a raw cell for an error message, shortened to 40 characters."""
    return repr(value if len(value) <= 40 else value[:37] + "...")


def _count(n: int) -> str:
    """Return "1 value" or "n values"."""
    return f"{n} value" if n == 1 else f"{n} values"


def _raise_problems(path: Path, problems: list[str], hint: str) -> None:
    """Raise one DataError that lists the first problems found in `path`."""
    if not problems:
        return
    shown = problems[:_MAX_PROBLEMS]
    more = len(problems) - len(shown)
    lines = "\n".join(f"  {p}" for p in shown)
    tail = f"\n  ... and {more} more" if more else ""
    noun = "problem" if len(problems) == 1 else "problems"
    raise DataError(f"{path}: {len(problems)} {noun}:\n{lines}{tail}\n{hint}")


def _read_text(path: Path) -> str:
    """Return the text of `path`, or raise DataError if it is missing, not a file or empty."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: file not found; check the dataset's path in the config "
                        "(relative paths are from the config's folder)")
    if not path.is_file():
        raise DataError(f"{path}: not a regular file; give the path of the data file itself")
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{path}: byte {exc.start} is not UTF-8 text; save the file as UTF-8 CSV"
        ) from None
    if not text.strip():
        raise DataError(f"{path}: file is empty; expected comma-separated rows of numbers")
    return text


def _parse_number(cell: str) -> float | None:
    """Return the finite float in `cell`, or None when it is not one."""
    try:
        value = float(cell)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def read_centre(path: Path) -> pd.DataFrame:
    """Read a headerless UCI heart file ('?' = missing) into a float64 frame of RAW_COLUMNS."""
    path = Path(path)
    text = _read_text(path)
    expected = len(RAW_COLUMNS)
    rows: list[list[float]] = []
    problems: list[str] = []
    for line_no, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue  # blank lines (e.g. a trailing one) carry no record
        cells = [cell.strip() for cell in line.split(",")]
        if len(cells) != expected:
            problems.append(
                f"line {line_no}: {_count(len(cells))}, expected {expected} "
                f"({', '.join(RAW_COLUMNS)})"
            )
            continue
        row: list[float] = []
        for column, cell in zip(RAW_COLUMNS, cells, strict=True):
            if cell == _MISSING:
                row.append(math.nan)
                continue
            value = _parse_number(cell)
            if value is None:
                problems.append(f"line {line_no}, column {column}: {_show(cell)} is not a number")
                value = math.nan
            row.append(value)
        rows.append(row)
    _raise_problems(
        path, problems, "Fix these lines: every line needs 14 numbers, with '?' for a missing one."
    )
    return pd.DataFrame(rows, columns=list(RAW_COLUMNS), dtype="float64")


def read_table(path: Path, required: Sequence[str]) -> pd.DataFrame:
    """Read an owner's CSV with a header row; every value numeric, empty cell = missing (NaN)."""
    path = Path(path)
    text = _read_text(path)
    reader = csv.reader(io.StringIO(text, newline=""))
    header: list[str] | None = None
    records: list[tuple[int, list[str]]] = []
    problems: list[str] = []
    for cells in reader:
        if not any(cell.strip() for cell in cells):
            continue
        if header is None:
            header = [cell.strip() for cell in cells]
            continue
        if len(cells) != len(header):
            problems.append(
                f"line {reader.line_num}: {_count(len(cells))}, header has {len(header)}"
            )
            continue
        records.append((reader.line_num, [cell.strip() for cell in cells]))
    if header is None:
        raise DataError(f"{path}: no header row; the first line must name the columns")
    duplicated = sorted({name for name in header if header.count(name) > 1})
    if duplicated:
        raise DataError(f"{path}: line 1: duplicate column names {duplicated}; rename them")
    missing = [name for name in required if name not in header]
    if missing:
        raise DataError(
            f"{path}: missing required column(s) {', '.join(missing)}; "
            f"the header has {', '.join(header)}"
        )
    if not records and not problems:
        raise DataError(f"{path}: has a header but no data rows")
    columns: dict[str, list[float]] = {name: [] for name in header}
    for line_no, cells in records:
        for name, cell in zip(header, cells, strict=True):
            if cell == "":
                columns[name].append(math.nan)
                continue
            value = _parse_number(cell)
            if value is None:
                problems.append(f"line {line_no}, column {name}: {_show(cell)} is not a number")
                value = math.nan
            columns[name].append(value)
    _raise_problems(
        path,
        problems,
        "Fix these lines: every value must be a number.",
    )
    frame = pd.DataFrame(columns, dtype="float64")
    for name in header:
        values = frame[name]
        if values.notna().all() and (values == values.round()).all():
            frame[name] = values.astype("int64")  # a column of whole numbers stays integer
    return frame


# Bounds a preprocessed value must lie within to be a measurement at all: wide on purpose (the
# UCI centres record 0 for a missing cholesterol, negative ST depressions), tight enough to
# catch a unit mix-up or a shifted column.
PLAUSIBLE_RANGES: dict[str, tuple[float, float]] = {
    "age": (0, 120), "trestbps": (0, 300), "chol": (0, 1000), "thalach": (0, 260), "oldpeak": (-10, 10),
}
_ONE_HOT_GROUPS = (("cp_2", "cp_3", "cp_4"), ("restecg_1", "restecg_2"))


def check_preprocessed(frame: pd.DataFrame, path: Path) -> None:
    """Refuse a preprocessed heart table (`kind = "csv"`) whose values cannot be patients'.

    Lines are counted as in the file: its header is line 1, so row i is on line i + 2.
    """
    problems: list[str] = []

    def line(row: int) -> int:
        return int(row) + 2

    for name in (*FEATURES, LABEL):
        missing = frame.index[frame[name].isna().to_numpy()]
        if len(missing):
            problems.append(f"column {name}: {len(missing)} empty value(s), first on line {line(missing[0])}")
    binary = [name for name in FEATURES if name not in PLAUSIBLE_RANGES] + [LABEL]
    for name in binary:
        bad = frame.index[(frame[name].notna() & ~frame[name].isin([0, 1])).to_numpy()]
        if len(bad):
            problems.append(f"column {name}: {len(bad)} value(s) other than 0 and 1, first "
                            f"{frame[name][bad[0]]:g} on line {line(bad[0])}")
    for name, (low, high) in PLAUSIBLE_RANGES.items():
        bad = frame.index[((frame[name] < low) | (frame[name] > high)).to_numpy()]
        if len(bad):
            problems.append(f"column {name}: {len(bad)} value(s) outside {low:g}..{high:g}, first "
                            f"{frame[name][bad[0]]:g} on line {line(bad[0])}")
    for group in _ONE_HOT_GROUPS:
        bad = frame.index[(frame[list(group)].sum(axis=1) > 1).to_numpy()]
        if len(bad):
            problems.append(f"columns {', '.join(group)} are one-hot: {len(bad)} row(s) set more than "
                            f"one, first on line {line(bad[0])}")
    _raise_problems(path, problems, "A csv dataset holds preprocessed rows: 13 features and a 0/1 target "
                    "(see datasite/config.py).")


def preprocess(raw: pd.DataFrame) -> pd.DataFrame:
    """Apply the FLamby protocol: drop slope/ca/thal and incomplete rows, one-hot cp and restecg."""
    missing = [name for name in RAW_COLUMNS if name not in raw.columns]
    if missing:
        raise DataError(
            f"heart frame is missing column(s) {', '.join(missing)}; "
            "read the file with read_centre()"
        )
    frame = raw.loc[:, list(RAW_COLUMNS)].drop(columns=list(DROPPED_COLUMNS)).astype("float64")
    frame = frame.reset_index(drop=True).dropna()  # index = row position in `raw`
    allowed = {name: levels for name, levels in ONE_HOT_LEVELS.items()}
    allowed.update({name: (0, 1) for name in BINARY_COLUMNS})
    allowed["num"] = NUM_LEVELS
    for name, levels in allowed.items():
        bad = ~frame[name].isin([float(level) for level in levels])
        if bad.any():
            first = frame.index[bad.to_numpy()][0]
            raise DataError(
                f"heart frame column {name}: {int(bad.sum())} value(s) outside the documented "
                f"levels {list(levels)}, first at row {first} (line {first + 1} of a "
                "read_centre() file); fix the source file"
            )
    frame = frame.reset_index(drop=True)
    out = pd.DataFrame(index=frame.index)
    for name in FEATURES:
        if name in frame.columns:
            out[name] = frame[name]
    for name, levels in ONE_HOT_LEVELS.items():
        for level in levels[1:]:  # every level gets a column, even one this centre lacks
            out[f"{name}_{level}"] = (frame[name] == level).astype("float64")
    out = out.loc[:, list(FEATURES)].astype("float64")
    out[LABEL] = (frame["num"] > 0).astype("int64")
    return out


def split(
    df: pd.DataFrame, *, test_fraction: float = 0.34, seed: int = 42
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split rows into (train, test), test_fraction of rows (rounded up) in test; seeded."""
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be between 0 and 1, got {test_fraction}")
    if LABEL not in df.columns:
        raise DataError(f"frame has no {LABEL!r} column; preprocess() it first")
    if len(df) < 2:
        raise DataError(f"cannot split {len(df)} row(s) into train and test; need at least 2")
    counts = df[LABEL].value_counts()
    # Stratify only where both classes can appear on each side (FLamby's rule).
    stratify = df[LABEL] if len(counts) == 2 and counts.min() > 2 else None
    train, test = train_test_split(
        df, test_size=test_fraction, random_state=seed, shuffle=True, stratify=stratify
    )
    return train.reset_index(drop=True), test.reset_index(drop=True)


def load_centre(
    data_dir: Path, centre: str, *, seed: int = 42
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read, preprocess and split one centre's file: (train, test) frames."""
    if centre not in CENTRES:
        raise DataError(f"unknown centre {centre!r}; choose one of {', '.join(CENTRES)}")
    path = Path(data_dir) / f"processed.{centre}.data"
    return split(preprocess(read_centre(path)), seed=seed)


def _row_keys(frame: pd.DataFrame, columns: list[str]) -> list[tuple[float, ...]]:
    """Return each row of `frame` over `columns` as a tuple of floats, for equality checks."""
    values = frame.loc[:, columns].to_numpy(dtype="float64")
    return [tuple(row) for row in values.tolist()]


def _avoid_private_rows(
    draw: pd.DataFrame,
    avoid: pd.DataFrame | None,
    resample: Callable[[int], pd.DataFrame],
) -> pd.DataFrame:
    """Redraw every row of `draw` that equals a row of `avoid` on all columns; return `draw`."""
    if avoid is None or len(avoid) == 0:
        return draw
    columns = list(draw.columns)
    absent = [name for name in columns if name not in avoid.columns]
    if absent:
        return draw  # a frame without these columns cannot hold an equal row
    private = set(_row_keys(avoid, columns))
    for _ in range(_MAX_RESAMPLE_ROUNDS):
        clashes = [i for i, key in enumerate(_row_keys(draw, columns)) if key in private]
        if not clashes:
            return draw
        fresh = resample(len(clashes))
        for name in columns:
            draw.loc[draw.index[clashes], name] = fresh[name].to_numpy()
    raise ValueError(
        f"could not draw {len(draw)} mock rows unlike every private row in "
        f"{_MAX_RESAMPLE_ROUNDS} rounds; widen the ranges"
    )


def synthesize_mock(
    schema_like: pd.DataFrame,
    n_rows: int,
    *,
    seed: int,
    avoid: pd.DataFrame | None = None,
    ranges: Mapping[str, tuple[float, float, float]] | None = None,
) -> pd.DataFrame:
    """Draw `n_rows` synthetic heart rows with the columns and dtypes of `schema_like`.

    Values come from public clinical ranges (CLINICAL_RANGES, overridable with `ranges`):
    uniform within each range, binary columns 0/1, cp and restecg one level each (the
    dropped first level encodes as all zeros), target 0/1. No private value is read:
    `schema_like` gives only column names and dtypes, and `avoid` (the private frame, if
    given) is used only to redraw any mock row equal to a private row on all columns.
    The mock therefore reveals the schema and the public ranges, nothing else.
    """
    expected = set(FEATURES) | {LABEL}
    if set(schema_like.columns) != expected:
        raise DataError(
            "synthesize_mock() builds heart-data mocks; the frame's columns "
            f"{list(schema_like.columns)} differ from FEATURES + target. "
            "Use synthesize_mock_from_schema() for other tables."
        )
    if n_rows < 0:
        raise ValueError(f"n_rows must be >= 0, got {n_rows}")
    unknown = sorted(set(ranges or {}) - set(CLINICAL_RANGES))
    if unknown:
        raise ValueError(f"ranges given for {unknown}; only {list(CLINICAL_RANGES)} have ranges")
    bounds = dict(CLINICAL_RANGES)
    bounds.update(ranges or {})
    rng = np.random.default_rng(seed)

    def draw(count: int) -> pd.DataFrame:
        """Draw `count` rows from the public ranges."""
        columns: dict[str, np.ndarray] = {}
        for name, (low, high, step) in bounds.items():
            steps = int(round((high - low) / step))
            # integer steps then one division keeps values such as 2.3 exact
            ticks = rng.integers(0, steps + 1, size=count)
            if step == 1:
                columns[name] = (low + ticks).astype("float64")
            else:
                scale = round(1 / step)
                columns[name] = (round(low * scale) + ticks) / scale
        for name in BINARY_COLUMNS:
            columns[name] = rng.integers(0, 2, size=count).astype("float64")
        for name, levels in ONE_HOT_LEVELS.items():
            chosen = rng.choice(np.array(levels), size=count)
            for level in levels[1:]:
                columns[f"{name}_{level}"] = (chosen == level).astype("float64")
        columns[LABEL] = rng.integers(0, 2, size=count)
        frame = pd.DataFrame(columns).loc[:, list(schema_like.columns)]
        return frame.astype(schema_like.dtypes.to_dict())

    mock = _avoid_private_rows(draw(n_rows), avoid, draw)
    return mock.astype(schema_like.dtypes.to_dict()).reset_index(drop=True)


def synthesize_mock_from_schema(
    schema_like: pd.DataFrame,
    n_rows: int,
    seed: int,
    *,
    avoid: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Draw `n_rows` random rows with the columns and dtypes of any owner table.

    Nothing about the values is public for a generic table, so the mock carries only
    its schema: float columns are standard normal, integer columns uniform 0-9, bool
    columns random, other columns the strings "mock-<row>". `avoid` (the private frame)
    is used only to redraw a row equal to a private row on all columns.
    """
    if n_rows < 0:
        raise ValueError(f"n_rows must be >= 0, got {n_rows}")
    rng = np.random.default_rng(seed)
    dtypes = schema_like.dtypes.to_dict()

    def draw(count: int) -> pd.DataFrame:
        """Draw `count` rows of schema-typed noise."""
        columns: dict[str, object] = {}
        for name, dtype in dtypes.items():
            if pd.api.types.is_bool_dtype(dtype):
                columns[name] = rng.integers(0, 2, size=count).astype(bool)
            elif pd.api.types.is_integer_dtype(dtype):
                columns[name] = rng.integers(0, 10, size=count).astype(dtype)
            elif pd.api.types.is_float_dtype(dtype):
                columns[name] = rng.standard_normal(size=count).astype(dtype)
            else:
                columns[name] = [f"mock-{int(i)}" for i in rng.integers(0, 1_000_000, count)]
        return pd.DataFrame(columns, columns=list(dtypes)).astype(dtypes)

    numeric = all(pd.api.types.is_numeric_dtype(dtype) for dtype in dtypes.values())
    mock = draw(n_rows)
    if numeric:
        mock = _avoid_private_rows(mock, avoid, draw)
    return mock.astype(dtypes).reset_index(drop=True)
