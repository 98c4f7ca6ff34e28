"""The owner's data: the FLamby heart protocol, clear errors for bad files, and safe mocks."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from datasite.data import (
    CENTRES,
    CLINICAL_RANGES,
    FEATURES,
    LABEL,
    RAW_COLUMNS,
    DataError,
    load_centre,
    preprocess,
    read_centre,
    read_table,
    split,
    synthesize_mock,
    synthesize_mock_from_schema,
)

DATA_DIR = Path(__file__).resolve().parents[1] / "fedsyft" / "data" / "uci-heart-disease"
EXPECTED_ROWS = {"cleveland": 303, "hungarian": 261, "switzerland": 46, "va": 130}
GOOD_LINE = "63.0,1.0,1.0,145.0,233.0,1.0,2.0,150.0,0.0,2.3,3.0,0.0,6.0,0"


def _centre_file(centre: str) -> Path:
    return DATA_DIR / f"processed.{centre}.data"


def _raw_row(**values: float) -> dict[str, float]:
    """Return one complete raw record, overridden by `values`."""
    row = dict(zip(RAW_COLUMNS, map(float, GOOD_LINE.split(",")), strict=True))
    row.update(values)
    return row


def _rows(frame: pd.DataFrame) -> set[tuple[float, ...]]:
    return set(map(tuple, frame.loc[:, [*FEATURES, LABEL]].to_numpy(dtype=float).tolist()))


@pytest.fixture(scope="module")
def cleveland() -> pd.DataFrame:
    return preprocess(read_centre(_centre_file("cleveland")))


# --- the 740-row protocol ---------------------------------------------------------------


def test_protocol_keeps_740_rows_303_261_46_130() -> None:
    counts = {c: len(preprocess(read_centre(_centre_file(c)))) for c in CENTRES}
    assert counts == EXPECTED_ROWS
    assert sum(counts.values()) == 740


def test_raw_frame_is_float64_with_nan_for_question_marks() -> None:
    raw = read_centre(_centre_file("hungarian"))
    assert tuple(raw.columns) == RAW_COLUMNS
    assert len(raw) == 294
    assert (raw.dtypes == "float64").all()
    assert raw.isna().any().any()
    assert raw.loc[2, "chol"] != raw.loc[2, "chol"]  # line 3 reads "29,1,2,140,?,..."


def test_preprocessed_frame_has_features_then_int_target() -> None:
    for centre in CENTRES:
        frame = preprocess(read_centre(_centre_file(centre)))
        assert tuple(frame.columns) == (*FEATURES, LABEL)
        assert (frame[list(FEATURES)].dtypes == "float64").all()
        assert frame[LABEL].dtype == "int64"
        assert set(frame[LABEL].unique()) <= {0, 1}
        assert not frame.isna().any().any()
        assert list(frame.index) == list(range(len(frame)))


def test_target_is_num_above_zero(cleveland: pd.DataFrame) -> None:
    raw = read_centre(_centre_file("cleveland"))
    assert (cleveland[LABEL].to_numpy() == (raw["num"] > 0).to_numpy()).all()
    assert int(cleveland[LABEL].sum()) == 139


def test_split_is_66_34_and_stratified(cleveland: pd.DataFrame) -> None:
    train, test = split(cleveland, seed=42)
    assert (len(train), len(test)) == (199, 104)
    assert len(test) == math.ceil(0.34 * len(cleveland))
    overall = cleveland[LABEL].mean()
    assert abs(train[LABEL].mean() - overall) < 0.01
    assert abs(test[LABEL].mean() - overall) < 0.01
    assert _rows(train) | _rows(test) == _rows(cleveland)


def test_same_seed_gives_the_same_split(cleveland: pd.DataFrame) -> None:
    first_train, first_test = split(cleveland, seed=7)
    again_train, again_test = split(cleveland, seed=7)
    pd.testing.assert_frame_equal(first_train, again_train)
    pd.testing.assert_frame_equal(first_test, again_test)


def test_different_seed_gives_a_different_split(cleveland: pd.DataFrame) -> None:
    _, test_a = split(cleveland, seed=1)
    _, test_b = split(cleveland, seed=2)
    assert len(test_a) == len(test_b)
    assert not test_a.equals(test_b)


def test_split_without_stratifying_when_a_class_is_tiny() -> None:
    # Switzerland has a single healthy patient: stratifying is impossible, splitting is not.
    train, test = load_centre(DATA_DIR, "switzerland")
    assert (len(train), len(test)) == (30, 16)


def test_load_centre_reads_preprocesses_and_splits() -> None:
    train, test = load_centre(DATA_DIR, "va", seed=42)
    assert len(train) + len(test) == 130
    assert tuple(train.columns) == (*FEATURES, LABEL)


def test_load_centre_rejects_an_unknown_centre() -> None:
    with pytest.raises(DataError, match="unknown centre 'boston'.*cleveland"):
        load_centre(DATA_DIR, "boston")


def test_split_rejects_a_bad_fraction(cleveland: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="test_fraction"):
        split(cleveland, test_fraction=1.0)


# --- preprocess on hand-made frames ------------------------------------------------------


def test_one_hot_columns_exist_for_levels_a_centre_lacks() -> None:
    raw = pd.DataFrame([_raw_row(cp=1, restecg=0, num=0), _raw_row(cp=4, restecg=0, num=3)])
    frame = preprocess(raw)
    assert tuple(frame.columns) == (*FEATURES, LABEL)
    assert frame[["cp_2", "cp_3", "restecg_1", "restecg_2"]].to_numpy().sum() == 0
    assert frame["cp_4"].tolist() == [0.0, 1.0]
    assert frame[LABEL].tolist() == [0, 1]


def test_one_hot_encodes_every_level() -> None:
    raw = pd.DataFrame([_raw_row(cp=cp, restecg=cp % 3) for cp in (1, 2, 3, 4)])
    frame = preprocess(raw)
    cp = frame[["cp_2", "cp_3", "cp_4"]].to_numpy()
    restecg = frame[["restecg_1", "restecg_2"]].to_numpy()
    assert cp.tolist() == [[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]]
    assert restecg.tolist() == [[1, 0], [0, 1], [0, 0], [1, 0]]


def test_rows_missing_a_kept_value_are_dropped_missing_slope_ca_thal_are_not() -> None:
    raw = pd.DataFrame(
        [
            _raw_row(slope=np.nan, ca=np.nan, thal=np.nan),
            _raw_row(chol=np.nan),
            _raw_row(age=41.0),
        ]
    )
    frame = preprocess(raw)
    assert frame["age"].tolist() == [63.0, 41.0]
    assert list(frame.index) == [0, 1]


def test_preprocess_rejects_an_undocumented_level() -> None:
    raw = pd.DataFrame([_raw_row(), _raw_row(cp=5)])
    with pytest.raises(DataError, match=r"column cp.*\[1, 2, 3, 4\].*row 1"):
        preprocess(raw)


def test_preprocess_names_missing_columns() -> None:
    with pytest.raises(DataError, match="missing column.*num"):
        preprocess(pd.DataFrame([_raw_row()]).drop(columns=["num"]))


# --- bad input files -------------------------------------------------------------------


def test_missing_file_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "processed.nowhere.data"
    with pytest.raises(DataError) as caught:
        read_centre(path)
    assert str(path) in str(caught.value)
    assert "not found" in str(caught.value)


def test_empty_file_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.data"
    path.write_text("\n")
    with pytest.raises(DataError) as caught:
        read_centre(path)
    assert str(path) in str(caught.value)
    assert "empty" in str(caught.value)


def test_line_with_13_columns_is_named(tmp_path: Path) -> None:
    path = tmp_path / "short.data"
    short = GOOD_LINE.rsplit(",", 1)[0]
    path.write_text("\n".join([GOOD_LINE, GOOD_LINE, short, GOOD_LINE]) + "\n")
    with pytest.raises(DataError) as caught:
        read_centre(path)
    message = str(caught.value)
    assert str(path) in message
    assert "line 3: 13 values, expected 14" in message


def test_non_numeric_value_names_line_column_and_value(tmp_path: Path) -> None:
    path = tmp_path / "typo.data"
    bad = GOOD_LINE.replace("233.0", "abc")
    path.write_text("\n".join([GOOD_LINE] * 4 + [bad, GOOD_LINE]) + "\n")
    with pytest.raises(DataError) as caught:
        read_centre(path)
    message = str(caught.value)
    assert str(path) in message
    assert "line 5, column chol: 'abc' is not a number" in message


def test_several_problems_are_reported_together(tmp_path: Path) -> None:
    path = tmp_path / "messy.data"
    lines = [GOOD_LINE.replace("63.0", "x")] * 8
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=r"(?s)8 problems.*and 3 more"):
        read_centre(path)


def test_question_mark_is_missing_but_empty_cell_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "gaps.data"
    path.write_text(GOOD_LINE.replace("233.0", "?") + "\n" + GOOD_LINE.replace("233.0", "") + "\n")
    with pytest.raises(DataError, match="line 2, column chol: '' is not a number"):
        read_centre(path)


def test_table_missing_a_required_column_names_it(tmp_path: Path) -> None:
    path = tmp_path / "loans.csv"
    path.write_text("income,age\n52000,41\n")
    with pytest.raises(DataError) as caught:
        read_table(path, required=["income", "default", "age"])
    message = str(caught.value)
    assert str(path) in message
    assert "missing required column(s) default" in message


def test_table_with_a_non_numeric_value_names_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "loans.csv"
    path.write_text("income,age\n52000,41\n61000,forty\n")
    with pytest.raises(DataError) as caught:
        read_table(path, required=["income"])
    assert str(path) in str(caught.value)
    assert "line 3, column age: 'forty' is not a number" in str(caught.value)


def test_table_with_a_header_only_is_empty(tmp_path: Path) -> None:
    path = tmp_path / "loans.csv"
    path.write_text("income,age\n")
    with pytest.raises(DataError, match="no data rows"):
        read_table(path, required=["income"])


def test_table_reads_numbers_and_empty_cells(tmp_path: Path) -> None:
    path = tmp_path / "loans.csv"
    path.write_text("income,age,score\n52000,41,0.5\n61000,37,\n")
    frame = read_table(path, required=["income", "age"])
    assert list(frame.columns) == ["income", "age", "score"]
    assert frame["income"].dtype == "int64"
    assert frame["score"].dtype == "float64"
    assert frame["score"].isna().tolist() == [False, True]


# --- mocks --------------------------------------------------------------------------------


def test_mock_has_the_schema_and_dtypes(cleveland: pd.DataFrame) -> None:
    mock = synthesize_mock(cleveland, 500, seed=0, avoid=cleveland)
    assert list(mock.columns) == list(cleveland.columns)
    assert mock.dtypes.to_dict() == cleveland.dtypes.to_dict()
    assert len(mock) == 500
    assert set(mock[LABEL].unique()) <= {0, 1}
    for column in ("sex", "fbs", "exang"):
        assert set(mock[column].unique()) <= {0.0, 1.0}
    for group in (["cp_2", "cp_3", "cp_4"], ["restecg_1", "restecg_2"]):
        assert mock[group].sum(axis=1).isin([0.0, 1.0]).all()
    for column, (low, high, _) in CLINICAL_RANGES.items():
        assert mock[column].between(low, high).all()


def test_mock_shares_no_row_with_the_private_frame(cleveland: pd.DataFrame) -> None:
    mock = synthesize_mock(cleveland, 2000, seed=3, avoid=cleveland)
    assert not _rows(mock) & _rows(cleveland)


def test_mock_does_not_depend_on_private_values(cleveland: pd.DataFrame) -> None:
    altered = cleveland.copy()
    altered[list(FEATURES)] = altered[list(FEATURES)] * 2 + 1
    pd.testing.assert_frame_equal(
        synthesize_mock(cleveland, 50, seed=11), synthesize_mock(altered, 50, seed=11)
    )


def test_mock_is_deterministic_for_a_seed(cleveland: pd.DataFrame) -> None:
    first = synthesize_mock(cleveland, 20, seed=5)
    assert first.equals(synthesize_mock(cleveland, 20, seed=5))
    assert not first.equals(synthesize_mock(cleveland, 20, seed=6))


def _pinned_world() -> tuple[dict[str, tuple[float, float, float]], pd.DataFrame]:
    """Ranges pinned to one value each, and every row those ranges allow (192 of them)."""
    pinned = {"age": (50, 50, 1), "trestbps": (120, 120, 1), "chol": (200, 200, 1)}
    pinned |= {"thalach": (150, 150, 1), "oldpeak": (1.0, 1.0, 0.1)}
    rows = []
    for sex, fbs, exang, cp, restecg, target in itertools.product(
        (0, 1), (0, 1), (0, 1), (1, 2, 3, 4), (0, 1, 2), (0, 1)
    ):
        row = {name: float(low) for name, (low, _, _) in pinned.items()}
        row |= {"sex": sex, "fbs": fbs, "exang": exang}
        row |= {f"cp_{level}": float(cp == level) for level in (2, 3, 4)}
        row |= {f"restecg_{level}": float(restecg == level) for level in (1, 2)}
        rows.append(row | {LABEL: target})
    world = pd.DataFrame(rows).loc[:, [*FEATURES, LABEL]].astype({LABEL: "int64"})
    return pinned, world.astype(dict.fromkeys(FEATURES, "float64"))


def test_mock_redraws_rows_that_collide_in_a_tiny_range(cleveland: pd.DataFrame) -> None:
    pinned, world = _pinned_world()
    private = world.sample(n=150, random_state=0)
    unguarded = synthesize_mock(cleveland, 300, seed=1, ranges=pinned)
    assert len(_rows(unguarded) & _rows(private)) > 0  # collisions would happen here
    guarded = synthesize_mock(cleveland, 300, seed=1, ranges=pinned, avoid=private)
    assert not _rows(guarded) & _rows(private)
    assert _rows(guarded) <= _rows(world) - _rows(private)


def test_mock_gives_up_clearly_when_every_row_is_private(cleveland: pd.DataFrame) -> None:
    pinned, world = _pinned_world()
    with pytest.raises(ValueError, match="unlike every private row"):
        synthesize_mock(cleveland, 5, seed=0, ranges=pinned, avoid=world)


def test_heart_mock_refuses_another_schema() -> None:
    with pytest.raises(DataError, match="synthesize_mock_from_schema"):
        synthesize_mock(pd.DataFrame({"income": [1.0]}), 3, seed=0)


def test_generic_mock_keeps_dtypes_and_avoids_private_rows() -> None:
    private = pd.DataFrame(
        {"visits": np.arange(10, dtype="int64") % 3, "flag": [True, False] * 5, "x": 0.5}
    )
    mock = synthesize_mock_from_schema(private, 400, 0, avoid=private)
    assert mock.dtypes.to_dict() == private.dtypes.to_dict()
    assert len(mock) == 400
    private_rows = set(map(tuple, private.to_numpy(dtype=float).tolist()))
    assert not set(map(tuple, mock.to_numpy(dtype=float).tolist())) & private_rows
