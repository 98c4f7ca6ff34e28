"""The approval policy file: examples load, defaults deny, and bad files get one clear line each."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pydantic
import pytest

from policies.policy import (
    EXPECTED,
    Policy,
    PolicyError,
    default_policy_path,
    load_policy,
    parse_policy,
)

EXAMPLES = Path(__file__).resolve().parent.parent / "policies" / "examples"


def _error(text: str, name: str = "bad.toml") -> str:
    """The message parse_policy raises for `text`; fails the test when it loads."""
    with pytest.raises(PolicyError) as caught:
        parse_policy(text, source=name)
    return str(caught.value)


# --- the shipped examples ------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["default", "strict", "auto"])
def test_every_example_policy_loads(name: str) -> None:
    policy = load_policy(EXAMPLES / f"{name}.toml")
    assert policy.name == name, "each example names itself after its file"
    assert policy.source == f"{name}.toml", "the loader records the file name"
    assert policy.submitters.allowed == ["scientist@fedsyft.example"], "the demo scientist submits"
    assert "torch" in policy.code.allowed_imports, "every example lets training code use torch"


def test_every_example_key_has_a_comment() -> None:
    for path in EXAMPLES.glob("*.toml"):
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            is_key = "=" in line and not line.lstrip().startswith(("#", '"'))
            assert not is_key or "#" in line, f"{path.name} line {number} has no comment: {line}"


def test_default_example_has_the_demo_settings() -> None:
    policy = load_policy(default_policy_path())
    assert default_policy_path() == EXAMPLES / "default.toml", "the default is the shipped example"
    assert policy.code.allowed_imports == [
        "torch", "numpy", "pandas", "math", "collections", "itertools", "functools", "typing",
        "dataclasses", "copy", "random",
    ]
    assert policy.approval.mode == "auto" and not policy.approval.auto_approve_known_hashes
    assert (policy.training.max_rounds, policy.training.max_epochs) == (100, 20)
    limits = policy.limits
    assert (limits.wall_time_s, limits.cpu_time_s, limits.memory_mb, limits.result_bytes) == (
        120.0, 120.0, 3072, 2_000_000,
    )
    assert policy.output.allowed == ["model_update", "metrics"]
    assert policy.output.metric_names == ["loss", "accuracy", "correct", "loss_sum"]
    assert (policy.output.min_rows, policy.output.update_norm_bound) == (10, 50.0)
    assert policy.output.on_norm_exceeded == "clip"
    assert policy.logs.release_to_scientist is False, "logs stay with the owner in the demo"


def test_strict_example_needs_a_human_and_is_tighter_than_default() -> None:
    strict, default = load_policy(EXAMPLES / "strict.toml"), load_policy(default_policy_path())
    assert strict.approval.mode == "human", "strict: a person approves every submission"
    assert strict.code.allowed_imports == ["torch", "numpy", "math"]
    assert (strict.training.max_rounds, strict.training.max_epochs) == (20, 5)
    assert strict.output.on_norm_exceeded == "block" and strict.output.min_rows == 30
    assert strict.limits.wall_time_s < default.limits.wall_time_s, "strict limits are tighter"
    assert strict.limits.memory_mb < default.limits.memory_mb, "strict limits are tighter"
    assert strict.limits.constant_time and not default.limits.constant_time, "strict pads every run"


def test_auto_example_reapproves_known_hashes_and_otherwise_matches_default() -> None:
    auto, default = load_policy(EXAMPLES / "auto.toml"), load_policy(default_policy_path())
    assert auto.approval.mode == "auto" and auto.approval.auto_approve_known_hashes
    for section in ("submitters", "code", "training", "limits", "output", "logs"):
        assert getattr(auto, section) == getattr(default, section), f"[{section}] as in default"


# --- defaults and loader fields ------------------------------------------------------------------


def test_empty_file_is_a_policy_that_denies_everything(tmp_path: Path) -> None:
    path = tmp_path / "empty.toml"
    path.write_text("")
    policy = load_policy(path)
    assert policy.name == "empty", "a policy without a name is named after its file"
    assert policy.submitters.allowed == [], "nobody may submit"
    assert policy.code.allowed_imports == [], "nothing may be imported"
    assert policy.output.allowed == [], "nothing may be released"
    assert policy.approval.mode == "human" and not policy.approval.auto_approve_known_hashes
    assert policy.logs.release_to_scientist is False
    assert (policy.training.max_rounds, policy.training.max_epochs) == (1, 1)
    assert policy.output.on_norm_exceeded == "block"


def test_loader_records_source_and_sha256_of_the_exact_file_bytes(tmp_path: Path) -> None:
    path = tmp_path / "crlf.toml"
    path.write_bytes(b'name = "crlf"\r\n[training]\r\nmax_rounds = 3\r\n')
    policy = load_policy(path)
    assert policy.sha256 == hashlib.sha256(path.read_bytes()).hexdigest(), "hash of the bytes"
    assert policy.source == "crlf.toml" and policy.training.max_rounds == 3


def test_parse_policy_without_a_source_is_named_policy() -> None:
    policy = parse_policy("")
    assert (policy.name, policy.source) == ("policy", "<policy>")
    assert policy.sha256 == hashlib.sha256(b"").hexdigest()


def test_policy_is_frozen() -> None:
    policy = parse_policy("")
    with pytest.raises(pydantic.ValidationError):
        policy.name = "changed"  # type: ignore[misc]


def test_submitter_check_ignores_email_case() -> None:
    policy = parse_policy('[submitters]\nallowed = ["Ada@Example.org"]\n')
    assert policy.allows_submitter("ada@example.org")
    assert not policy.allows_submitter("eve@example.org")


def test_every_policy_key_has_an_expected_value_description() -> None:
    for section, field in Policy.model_fields.items():
        if section in ("source", "sha256"):
            continue
        model = field.annotation
        keys = [section] if not isinstance(model, type) or not issubclass(
            model, pydantic.BaseModel) else [f"{section}.{key}" for key in model.model_fields]
        for key in keys:
            assert key in EXPECTED, f"{key} has no description for its error messages"


# --- errors for people ---------------------------------------------------------------------------

BAD_VALUES = [
    # (id, TOML text, line, dotted key, the value as written)
    ("negative rounds", "name = 'x'\n[training]\nmax_rounds = -1\n", 3, "training.max_rounds", "-1"),
    ("zero epochs", "[training]\nmax_epochs = 0\n", 2, "training.max_epochs", "0"),
    ("rounds as string", '[training]\nmax_rounds = "5"\n', 2, "training.max_rounds", '"5"'),
    ("rounds as bool", "[training]\nmax_rounds = true\n", 2, "training.max_rounds", "true"),
    ("negative wall time", "[limits]\nwall_time_s = -2.5\n", 2, "limits.wall_time_s", "-2.5"),
    ("nan cpu time", "[limits]\n\ncpu_time_s = nan\n", 3, "limits.cpu_time_s", "nan"),
    ("fractional memory", "[limits]\nmemory_mb = 1.5\n", 2, "limits.memory_mb", "1.5"),
    ("zero result bytes", "[limits]\nresult_bytes = 0\n", 2, "limits.result_bytes", "0"),
    ("bad approval mode", '[approval]\nmode = "robot"\n', 2, "approval.mode", '"robot"'),
    ("bool as string", '[approval]\nauto_approve_known_hashes = "yes"\n', 2,
     "approval.auto_approve_known_hashes", '"yes"'),
    ("bad norm action", '[output]\non_norm_exceeded = "drop"\n', 2, "output.on_norm_exceeded",
     '"drop"'),
    ("bad output shape", '[output]\nallowed = ["weights"]\n', 2, "output.allowed[0]", '"weights"'),
    ("zero min rows", "[output]\nmin_rows = 0\n", 2, "output.min_rows", "0"),
    ("zero norm bound", "[output]\nupdate_norm_bound = 0.0\n", 2, "output.update_norm_bound",
     "0.0"),
    ("empty import", '[code]\nallowed_imports = ["torch", ""]\n', 2, "code.allowed_imports[1]",
     '""'),
    ("dotted import", '[code]\nallowed_imports = ["torch.nn"]\n', 2, "code.allowed_imports[0]",
     '"torch.nn"'),
    ("bad forbidden call", '[code]\nforbidden_calls = ["torch..save"]\n', 2,
     "code.forbidden_calls[0]", '"torch..save"'),
    ("email without at", '[submitters]\nallowed = ["alice"]\n', 2, "submitters.allowed[0]",
     '"alice"'),
    ("constant time as string", '[limits]\nconstant_time = "yes"\n', 2, "limits.constant_time", '"yes"'),
    ("logs as string", '[logs]\nrelease_to_scientist = "no"\n', 2, "logs.release_to_scientist",
     '"no"'),
    ("empty name", 'name = ""\n', 1, "name", '""'),
    ("section as value", "training = 5\n", 1, "training", "5"),
    ("imports not a list", '[code]\nallowed_imports = "torch"\n', 2, "code.allowed_imports",
     '"torch"'),
]


@pytest.mark.parametrize(
    ("text", "line", "key", "value"),
    [pytest.param(*case[1:], id=case[0]) for case in BAD_VALUES],
)
def test_bad_value_gives_one_line_naming_file_line_key_and_value(
    text: str, line: int, key: str, value: str
) -> None:
    message = _error(text)
    assert "\n" not in message, f"one problem, one line: {message!r}"
    assert message.startswith(f"bad.toml line {line}: {key} "), f"file, line, key first: {message}"
    assert message.endswith(f"got {value}"), f"says what it got: {message}"
    assert " must be " in message, f"says what was expected: {message}"


def test_negative_max_rounds_reads_like_a_sentence() -> None:
    assert _error("[training]\nmax_rounds = -1\n", "strict.toml") == (
        "strict.toml line 2: training.max_rounds must be a positive integer, got -1"
    )


def test_duplicate_email_is_named_ignoring_case() -> None:
    message = _error('[submitters]\nallowed = ["ada@x.org", "ADA@x.org"]\n')
    assert message == 'bad.toml line 2: submitters.allowed lists "ADA@x.org" twice'


def test_bad_item_in_multiline_array_points_at_its_own_line() -> None:
    text = '[submitters]\nallowed = [\n  "ada@x.org",\n  "bob",\n]\n'
    assert _error(text).startswith("bad.toml line 4: submitters.allowed[1] must be an email")


def test_key_in_inline_table_points_at_the_table_line() -> None:
    assert _error("\ntraining = { max_rounds = 0 }\n").startswith(
        "bad.toml line 2: training.max_rounds must be a positive integer"
    )


def test_unknown_key_suggests_the_close_one() -> None:
    assert _error("[training]\nmax_round = 3\n") == (
        "bad.toml line 2: unknown key training.max_round; did you mean training.max_rounds?"
    )


def test_key_in_the_wrong_section_suggests_the_right_section() -> None:
    assert _error("[training]\nwall_time_s = 3\n").endswith("did you mean limits.wall_time_s?")


def test_unknown_section_suggests_the_close_one() -> None:
    assert _error("[trainig]\nmax_rounds = 1\n") == (
        "bad.toml line 1: unknown section [trainig]; did you mean [training]?"
    )


def test_unknown_key_without_a_close_match_lists_the_valid_keys() -> None:
    assert _error("[training]\nzzz = 1\n") == (
        "bad.toml line 2: unknown key training.zzz; valid keys in [training] are "
        "max_rounds, max_epochs"
    )


def test_loader_fields_cannot_be_written_in_the_file() -> None:
    assert "sha256 is set by the loader" in _error('sha256 = "00"\n')


def test_toml_syntax_error_keeps_line_and_column() -> None:
    message = _error("[training]\nmax_rounds = = 3\n")
    assert message.startswith("bad.toml line 2, column 14: TOML syntax error"), message


def test_toml_cut_short_names_the_last_line() -> None:
    assert _error('name = "x"\nallowed = [\n').startswith("bad.toml line 2: TOML syntax error")


def test_several_problems_give_one_line_each_in_file_order() -> None:
    text = "[output]\nmin_rows = 0\n[training]\nmax_rounds = -1\nmax_epochs = 0\n[bogus]\n"
    lines = _error(text).splitlines()
    assert [line.split(":")[0] for line in lines] == [
        "bad.toml line 2", "bad.toml line 4", "bad.toml line 5", "bad.toml line 6",
    ], lines
    for line in lines:
        for pydantic_words in ("validation error", "Input should", "errors.pydantic.dev"):
            assert pydantic_words not in line, f"no pydantic dump: {line}"


def test_policy_error_is_a_value_error_with_its_problems() -> None:
    with pytest.raises(ValueError) as caught:
        parse_policy("[training]\nmax_rounds = 0\nmax_epochs = 0\n")
    assert isinstance(caught.value, PolicyError) and len(caught.value.problems) == 2


def test_missing_file_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    with pytest.raises(PolicyError) as caught:
        load_policy(missing)
    assert str(caught.value) == f"policy file not found: {missing}"


def test_directory_is_not_a_policy_file(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="not a file"):
        load_policy(tmp_path)


def test_non_utf8_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes('name = "caf\u00e9"\n'.encode("latin-1"))
    with pytest.raises(PolicyError, match=r"^latin1\.toml: policy file is not UTF-8"):
        load_policy(path)
