"""Reading syft 0.9.5's stores from the owner's side of a datasite."""

from __future__ import annotations

from typing import Any


def stash_value(result: Any) -> Any:
    """The value of a syft stash call: a Result to unwrap (raising its error), or the value itself."""
    return result.unwrap() if hasattr(result, "unwrap") else result
