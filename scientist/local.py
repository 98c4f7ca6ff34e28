"""Run a training module on the scientist's own machine, on mock data first.

The same module text is what a datasite reviews and runs; trying it here on
the mocks catches bugs before a request is spent on private data.
"""

from __future__ import annotations

import sys
import types
from pathlib import Path
from typing import Any


def load_module(source: str, filename: str = "submission.py") -> types.ModuleType:
    """Execute a module's source into a fresh module object (registered, so dataclasses work)."""
    name = f"fedsyft_submission_{abs(hash(source)):x}"
    module = types.ModuleType(name)
    module.__file__ = filename
    sys.modules[name] = module
    # dont_inherit: this file's `from __future__ import annotations` must not leak into the module
    code = compile(source, filename, "exec", dont_inherit=True)
    exec(code, module.__dict__)  # the scientist's own code, on the scientist's machine
    return module


def read_module(path: str | Path) -> tuple[str, str]:
    """The (source, file name) of a module file."""
    path = Path(path)
    return path.read_text(), path.name


def run_locally(source: str, entrypoint: str, data: Any, weights: dict, config: dict) -> dict:
    """Call `entrypoint(data, weights, config)` of the module, here, without a sandbox."""
    return getattr(load_module(source), entrypoint)(data, weights, config)
