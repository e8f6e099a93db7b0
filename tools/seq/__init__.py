"""SASRec-style sequential behaviour model (torch) and its build stage.

``SeqModel`` is imported lazily (torch loads on first use).
"""

from __future__ import annotations

from typing import Any

__all__ = ["SeqModel"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from crsagent.tools.seq import model

        return getattr(model, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
