"""The approval policy: one TOML file per datasite, validated on load, with errors for people.

Every key has a safe default, so an empty file is a valid policy that denies
everything: nobody may submit, no module may be imported, nothing is released.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import keyword
import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_core import PydanticCustomError

__all__ = [
    "ApprovalPolicy",
    "CodePolicy",
    "EXPECTED",
    "LimitsPolicy",
    "LogsPolicy",
    "OutputPolicy",
    "Policy",
    "PolicyError",
    "SubmittersPolicy",
    "TrainingPolicy",
    "default_policy_path",
    "load_policy",
    "parse_policy",
]


class PolicyError(ValueError):
    """A policy file that cannot be used; ``str(error)`` is one line per problem."""

    def __init__(self, *problems: str) -> None:
        super().__init__("\n".join(problems))
        self.problems: tuple[str, ...] = problems


# --- item types: a bad item becomes "<key>[i] must be <expected>, got <value>" -------------------


def _item_check(accept: Any) -> AfterValidator:
    """A validator that lets a string through when `accept(value)` is true."""

    def check(value: str) -> str:
        if not accept(value):
            raise PydanticCustomError("bad_item", "invalid item")
        return value

    return AfterValidator(check)


def _is_email(value: str) -> bool:
    local, at, domain = value.partition("@")
    return bool(at and local and domain) and "@" not in domain and not any(
        ch.isspace() for ch in value
    )


def _is_identifier(value: str) -> bool:
    return value.isidentifier() and not keyword.iskeyword(value)


Email = Annotated[str, _item_check(_is_email)]
ModuleName = Annotated[str, _item_check(_is_identifier)]
DottedName = Annotated[str, _item_check(lambda v: all(map(_is_identifier, v.split("."))))]
AttributeName = Annotated[str, _item_check(_is_identifier)]
MetricName = Annotated[str, _item_check(lambda v: bool(v) and v == v.strip())]
PositiveInt = Annotated[int, Field(gt=0)]
PositiveFloat = Annotated[float, Field(gt=0, allow_inf_nan=False)]


def _no_duplicates(values: list[str], *, fold_case: bool = False) -> list[str]:
    """Reject a list that names the same thing twice (a likely typo in a policy file)."""
    seen: set[str] = set()
    for value in values:
        folded = value.casefold() if fold_case else value
        if folded in seen:
            raise PydanticCustomError(
                "policy_rule", "lists {value} twice", {"value": _render(value)}
            )
        seen.add(folded)
    return values


class _Section(BaseModel):
    # strict: TOML has real types, so `max_rounds = true` or `"5"` is a mistake, not a 1 or a 5
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)


class SubmittersPolicy(_Section):
    """[submitters]: who may submit code."""

    allowed: list[Email] = Field(default_factory=list)

    @field_validator("allowed")
    @classmethod
    def _unique(cls, values: list[str]) -> list[str]:
        return _no_duplicates(values, fold_case=True)


class CodePolicy(_Section):
    """[code]: what submitted code may import and call, on top of the built-in deny lists."""

    allowed_imports: list[ModuleName] = Field(default_factory=list)
    forbidden_calls: list[DottedName] = Field(default_factory=list)
    forbidden_attributes: list[AttributeName] = Field(default_factory=list)


class ApprovalPolicy(_Section):
    """[approval]: whether a human must approve code that passes review."""

    mode: Literal["human", "auto"] = "human"
    auto_approve_known_hashes: bool = False


class TrainingPolicy(_Section):
    """[training]: how much training one scientist may run."""

    max_rounds: PositiveInt = 1
    max_epochs: PositiveInt = 1


class LimitsPolicy(_Section):
    """[limits]: resources of one run of submitted code."""

    wall_time_s: PositiveFloat = 60.0
    cpu_time_s: PositiveFloat = 60.0
    memory_mb: PositiveInt = 2048
    result_bytes: PositiveInt = 1_000_000
    # answer every run exactly wall_time_s (plus a fixed margin) after it starts, whatever it did:
    # the run's duration then tells the scientist nothing about the private data
    constant_time: bool = False
    # runs of submitted code at once on this datasite; more wait their turn (memory, CPU)
    max_concurrent_runs: PositiveInt = 2


class OutputPolicy(_Section):
    """[output]: which results may leave the datasite."""

    allowed: list[Literal["model_update", "metrics"]] = Field(default_factory=list)
    metric_names: list[MetricName] = Field(default_factory=list)
    min_rows: Annotated[int, Field(ge=1)] = 20
    update_norm_bound: PositiveFloat = 10.0
    on_norm_exceeded: Literal["clip", "block"] = "block"

    @field_validator("allowed", "metric_names")
    @classmethod
    def _unique(cls, values: list[str]) -> list[str]:
        return _no_duplicates(values)


class LogsPolicy(_Section):
    """[logs]: whether run logs go back to the scientist."""

    release_to_scientist: bool = False


class Policy(_Section):
    """A datasite's approval policy; `source` and `sha256` are set by the loader."""

    name: Annotated[str, _item_check(lambda v: bool(v.strip()))] = "policy"
    submitters: SubmittersPolicy = Field(default_factory=SubmittersPolicy)
    code: CodePolicy = Field(default_factory=CodePolicy)
    approval: ApprovalPolicy = Field(default_factory=ApprovalPolicy)
    training: TrainingPolicy = Field(default_factory=TrainingPolicy)
    limits: LimitsPolicy = Field(default_factory=LimitsPolicy)
    output: OutputPolicy = Field(default_factory=OutputPolicy)
    logs: LogsPolicy = Field(default_factory=LogsPolicy)
    source: str = "<policy>"
    sha256: str = ""

    def allows_submitter(self, email: str) -> bool:
        """Whether `email` may submit code (emails compare case-insensitively)."""
        return email.casefold() in {allowed.casefold() for allowed in self.submitters.allowed}


_LOADER_KEYS = ("source", "sha256")  # computed from the file, never written in it
_SECTIONS: dict[str, type[_Section]] = {
    name: field.annotation
    for name, field in Policy.model_fields.items()
    if isinstance(field.annotation, type) and issubclass(field.annotation, _Section)
}

# What each key must hold, in the words of the error message ("<key> must be <this>, got <value>").
EXPECTED: dict[str, str] = {
    "name": "a non-empty string",
    "submitters.allowed": "a list of email addresses",
    "submitters.allowed[]": 'an email address like "name@example.org"',
    "code.allowed_imports": "a list of top-level module names",
    "code.allowed_imports[]": 'a top-level module name like "torch" (no dots, not empty)',
    "code.forbidden_calls": "a list of dotted names",
    "code.forbidden_calls[]": 'a dotted name like "torch.manual_seed"',
    "code.forbidden_attributes": "a list of attribute names",
    "code.forbidden_attributes[]": 'an attribute name like "backward"',
    "approval.mode": 'one of "human", "auto"',
    "approval.auto_approve_known_hashes": "true or false",
    "training.max_rounds": "a positive integer",
    "training.max_epochs": "a positive integer",
    "limits.wall_time_s": "a positive number of seconds",
    "limits.cpu_time_s": "a positive number of seconds",
    "limits.memory_mb": "a positive integer (megabytes)",
    "limits.result_bytes": "a positive integer (bytes)",
    "limits.constant_time": "true or false",
    "limits.max_concurrent_runs": "a positive integer",
    "output.allowed": 'a list of "model_update" and/or "metrics"',
    "output.allowed[]": 'one of "model_update", "metrics"',
    "output.metric_names": "a list of metric names",
    "output.metric_names[]": "a non-empty metric name without surrounding spaces",
    "output.min_rows": "an integer >= 1",
    "output.update_norm_bound": "a positive finite number",
    "output.on_norm_exceeded": 'one of "clip", "block"',
    "logs.release_to_scientist": "true or false",
    **{section: f"a table ([{section}] section)" for section in _SECTIONS},
}


def default_policy_path() -> Path:
    """The shipped default policy, policies/examples/default.toml."""
    return Path(__file__).resolve().parent / "examples" / "default.toml"


def load_policy(path: str | Path) -> Policy:
    """Read and validate a policy file; raise PolicyError naming the file, line and key."""
    path = Path(path)
    if not path.exists():
        raise PolicyError(f"policy file not found: {path}")
    if not path.is_file():
        raise PolicyError(f"policy path is not a file: {path}")
    raw = path.read_bytes()  # bytes, not read_text: keep \r\n so sha256 is that of the file
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        reason = f"{err.reason} at byte {err.start}"
        raise PolicyError(f"{path.name}: policy file is not UTF-8 text ({reason})") from None
    return parse_policy(text, source=path.name)


def parse_policy(text: str, source: str = "<policy>") -> Policy:
    """Validate policy TOML text; `source` names it in errors. A missing name is the file stem."""
    try:
        data = tomllib.loads(text.removeprefix("\ufeff"))
    except tomllib.TOMLDecodeError as err:
        raise PolicyError(_syntax_problem(str(err), text, source)) from None
    locator = _Locator(text)
    problems: list[tuple[int, str]] = []
    for key in _LOADER_KEYS:
        if key in data:
            del data[key]
            problems.append(locator.problem(
                source, (key,), f"{key} is set by the loader from the file itself; remove it"
            ))
    data.setdefault("name", _default_name(source))
    try:
        policy = Policy.model_validate(data)
    except ValidationError as err:
        problems += [_problem(error, locator, source) for error in err.errors()]
    if problems:
        problems.sort(key=lambda item: (item[0], item[1]))
        raise PolicyError(*dict.fromkeys(message for _, message in problems))
    return policy.model_copy(
        update={"source": source, "sha256": hashlib.sha256(text.encode("utf-8")).hexdigest()}
    )


def _default_name(source: str) -> str:
    stem = Path(source).stem if source and not source.startswith("<") else ""
    return stem or "policy"


def _syntax_problem(message: str, text: str, source: str) -> str:
    """tomllib's message, with its '(at line L, column C)' moved to the front."""
    match = re.search(r"\s*\(at line (\d+), column (\d+)\)$", message)
    if match:
        where = f"{source} line {match.group(1)}, column {match.group(2)}"
        return f"{where}: TOML syntax error: {message[: match.start()]}"
    if message.endswith("(at end of document)"):
        last_line = len(text.splitlines()) or 1
        message = message.removesuffix(" (at end of document)")
        return f"{source} line {last_line}: TOML syntax error at the end of the file: {message}"
    return f"{source}: TOML syntax error: {message}"


def _problem(error: dict[str, Any], locator: _Locator, source: str) -> tuple[int, str]:
    """One pydantic error as (line, 'file line N: message') for people."""
    loc = tuple(error["loc"])
    dotted = _dotted(loc)
    if error["type"] == "extra_forbidden":
        message = _unknown_key_message(loc, error["input"])
    elif error["type"] == "policy_rule":
        message = f"{dotted} {error['msg']}"
    else:
        generic = ".".join(str(part) if isinstance(part, str) else "[]" for part in loc)
        expected = EXPECTED.get(generic.replace(".[]", "[]"), "a valid value")
        message = f"{dotted} must be {expected}, got {_render(error['input'])}"
    return locator.problem(source, loc, message, error["input"])


def _dotted(loc: tuple[str | int, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def _unknown_key_message(loc: tuple[str | int, ...], value: Any) -> str:
    parent, key = [str(p) for p in loc[:-1]], str(loc[-1])
    if not parent and isinstance(value, dict):
        close = difflib.get_close_matches(key, list(_SECTIONS), n=1)
        hint = f"did you mean [{close[0]}]?" if close else "sections are " + ", ".join(_SECTIONS)
        return f"unknown section [{key}]; {hint}"
    scope = _SECTIONS[parent[0]] if parent else Policy
    valid = [name for name in scope.model_fields if name not in _LOADER_KEYS]
    close = difflib.get_close_matches(key, valid, n=1)
    if close:
        return f"unknown key {_dotted(loc)}; did you mean {'.'.join([*parent, close[0]])}?"
    everywhere = [f"{section}.{name}" for section, model in _SECTIONS.items()
                  for name in model.model_fields]
    by_leaf = {dotted.rsplit(".", 1)[1]: dotted for dotted in everywhere}
    close = difflib.get_close_matches(key, list(by_leaf), n=1)
    if close:
        return f"unknown key {_dotted(loc)}; did you mean {by_leaf[close[0]]}?"
    where = f"[{parent[0]}]" if parent else "the top level"
    return f"unknown key {_dotted(loc)}; valid keys in {where} are {', '.join(valid)}"


def _render(value: Any) -> str:
    """A value as it would be written in TOML, shortened for an error message."""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, str):
        text = json.dumps(value, ensure_ascii=False)
    elif isinstance(value, dict):
        text = "a table"
    elif isinstance(value, list):
        text = "[" + ", ".join(_render(item) for item in value) + "]"
    else:
        text = str(value)
    return text if len(text) <= 80 else text[:77] + "..."


# --- where a key is written: a line scanner that knows tables, strings, arrays and comments ------

_HEADER = re.compile(r"\s*\[\[?\s*(?P<path>[^\[\]#]+?)\s*\]\]?\s*(#.*)?")
_KEY = re.compile(r"\s*(?P<path>(?:[A-Za-z0-9_-]+|\"[^\"]*\"|'[^']*')"
                  r"(?:\s*\.\s*(?:[A-Za-z0-9_-]+|\"[^\"]*\"|'[^']*'))*)\s*=")


def _split_key(path: str) -> tuple[str, ...]:
    parts = re.findall(r"\"[^\"]*\"|'[^']*'|[^.\s]+", path)
    return tuple(part[1:-1] if part[0] in "\"'" else part for part in parts)


class _Locator:
    """Line numbers (1-based) of the keys, section headers and array items of a TOML text."""

    def __init__(self, text: str) -> None:
        self.lines: dict[tuple[str, ...], int] = {}
        self.spans: dict[tuple[str, ...], tuple[int, int]] = {}  # key -> first and last line
        section: tuple[str, ...] = ()
        depth, open_key, in_string = 0, None, ""
        for number, line in enumerate(text.splitlines(), start=1):
            if not in_string and depth == 0:
                header, key = _HEADER.fullmatch(line), _KEY.match(line)
                if header:
                    section = _split_key(header.group("path"))
                    self.lines.setdefault(section, number)
                elif key:
                    open_key = (*section, *_split_key(key.group("path")))
                    self.lines.setdefault(open_key, number)
                    line = line[key.end():]
            depth, in_string = _scan(line, depth, in_string)
            if open_key is not None:
                first = self.spans.get(open_key, (number, number))[0]
                self.spans[open_key] = (first, number)
                if depth == 0 and not in_string:
                    open_key = None
        self.text_lines = text.splitlines()

    def line_of(self, loc: tuple[str | int, ...], value: Any = None) -> int | None:
        """The line of a key (or of its item at an index), else of its nearest written parent."""
        keys = tuple(str(part) for part in loc if isinstance(part, str))
        if isinstance(loc[-1], int) and keys in self.spans and isinstance(value, str):
            first, last = self.spans[keys]
            needles = (json.dumps(value, ensure_ascii=False), f"'{value}'")
            for number in range(first, last + 1):
                if any(needle in self.text_lines[number - 1] for needle in needles):
                    return number
        for end in range(len(keys), 0, -1):
            if keys[:end] in self.lines:
                return self.lines[keys[:end]]
        return None

    def problem(self, source: str, loc: tuple[str | int, ...], message: str,
                value: Any = None) -> tuple[int, str]:
        """(line for sorting, 'source line N: message')."""
        line = self.line_of(loc, value)
        where = f"{source} line {line}" if line is not None else source
        return (line if line is not None else 0, f"{where}: {message}")


def _scan(line: str, depth: int, in_string: str) -> tuple[int, str]:
    """Bracket depth and open multi-line string after one line (comments and strings skipped)."""
    i = 0
    while i < len(line):
        if in_string:
            end = line.find(in_string, i)
            if end < 0:
                return depth, in_string
            i, in_string = end + 3, ""
            continue
        char = line[i]
        if line.startswith(('"""', "'''"), i):
            in_string, i = line[i : i + 3], i + 3
        elif char in "\"'":
            end = i + 1
            while end < len(line) and line[end] != char:
                end += 2 if char == '"' and line[end] == "\\" else 1
            i = end + 1
        elif char == "#":
            break
        else:
            depth += (char in "[{") - (char in "]}")
            i += 1
    return depth, in_string
