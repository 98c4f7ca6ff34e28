"""How a scientist's training module travels inside a syft code request.

syft 0.9.5 ships one function's source. fedsyft wraps the whole module (imports,
helpers, classes, dataclasses) as a string literal inside a fixed, generated
function, so the reviewed text is exactly the text that runs. The owner's side
accepts a request only when its code is *exactly* what :func:`build` makes of
some module, so nothing can be hidden around the module.
"""

from __future__ import annotations

import ast
import hashlib
import re
from dataclasses import dataclass

ENTRYPOINTS = ("train", "evaluate")
SPLIT = {"train": "train", "evaluate": "test"}  # the private split (asset name) each entrypoint runs on
_PREFIX = "fedsyft_"
_FILENAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_NONCE = re.compile(r"[0-9a-f]{8}")

_TEMPLATE = '''def {func_name}(data, weights, config):
    """fedsyft submission: runs `{entrypoint}` of module `{filename}` (sha256 {digest})."""
    source = {source!r}
    module = {{"__name__": "fedsyft_submission"}}
    exec(compile(source, {filename!r}, "exec"), module)
    return module[{entrypoint!r}](data, weights, config)
'''


class SubmissionError(ValueError):
    """The code of a request is not a fedsyft submission."""


@dataclass(frozen=True)
class Submission:
    """A training module and the entrypoint one request runs."""

    source: str
    entrypoint: str
    filename: str
    nonce: str = ""  # 8 hex digits per submission, so submitting a module again is a new request

    @property
    def code_hash(self) -> str:
        """sha256 (hex) of the module source: the identity a review and an approval refer to."""
        return hashlib.sha256(self.source.encode()).hexdigest()

    @property
    def func_name(self) -> str:
        """The syft function name: entrypoint, a short hash of the module, and the submission's nonce."""
        name = f"{_PREFIX}{self.entrypoint}_{self.code_hash[:12]}"
        return f"{name}_{self.nonce}" if self.nonce else name

    def wrapper_code(self) -> str:
        """The exact syft function source for this submission."""
        return _TEMPLATE.format(
            func_name=self.func_name,
            entrypoint=self.entrypoint,
            filename=self.filename,
            digest=self.code_hash,
            source=self.source,
        )


def runs_for(entrypoint: str, rounds: int) -> int:
    """Runs a request of `entrypoint` needs for `rounds` rounds: evaluation also runs once before
    the first round (the starting weights), so it needs one more than training."""
    return rounds + (1 if entrypoint == "evaluate" else 0)


def build(source: str, entrypoint: str, filename: str = "submission.py", nonce: str = "") -> Submission:
    """Make the submission for one entrypoint of a module, checking the names.

    Without a nonce, the same module and file name always make the same syft code, which
    syft accepts once per scientist; `Federation.submit` gives every submission its own.
    """
    if nonce and not _NONCE.fullmatch(nonce):
        raise SubmissionError(f"nonce must be 8 lowercase hex digits, got {nonce!r}")
    if entrypoint not in ENTRYPOINTS:
        raise SubmissionError(f"entrypoint must be one of {ENTRYPOINTS}, got {entrypoint!r}")
    if not _FILENAME.fullmatch(filename):
        raise SubmissionError(
            f"module file name {filename!r} must be 1-64 letters, digits, '_', '-' or '.'"
        )
    if not isinstance(source, str) or not source.strip():
        raise SubmissionError("the module source is empty")
    return Submission(source=source, entrypoint=entrypoint, filename=filename, nonce=nonce)


def parse(raw_code: str) -> Submission:
    """Recover the module from a request's code; raise SubmissionError unless it is exact."""
    try:
        tree = ast.parse(raw_code)
    except SyntaxError as err:
        raise SubmissionError(f"request code does not parse: {err.msg} (line {err.lineno})") from None
    if len(tree.body) != 1 or not isinstance(tree.body[0], ast.FunctionDef):
        raise SubmissionError("request code must be exactly one generated function")
    func = tree.body[0]
    match = re.fullmatch(rf"{_PREFIX}({'|'.join(ENTRYPOINTS)})_[0-9a-f]{{12}}(?:_([0-9a-f]{{8}}))?", func.name)
    if match is None:
        raise SubmissionError(f"function {func.name!r} is not a fedsyft submission")
    if len(func.body) < 2 or not isinstance(func.body[1], ast.Assign):
        raise SubmissionError("request code does not carry a module")
    try:
        source = ast.literal_eval(func.body[1].value)
        docstring = ast.get_docstring(func) or ""
        filename = re.search(r"of module `([^`]+)`", docstring).group(1)
    except (ValueError, AttributeError, TypeError) as err:
        raise SubmissionError(f"request code does not carry a module: {err}") from None
    if not isinstance(source, str):
        raise SubmissionError("request code does not carry a module")
    submission = build(source, match.group(1), filename, match.group(2) or "")
    if submission.wrapper_code() != raw_code:
        raise SubmissionError(
            "request code differs from the fedsyft wrapper of its own module "
            "(something was added around the module)"
        )
    return submission
