"""What a behaviour-suite check sees of one turn, and how item references resolve."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["TurnView", "Check", "resolve_refs", "ids_of", "norm", "titles"]

_REF = re.compile(r"^@prev\[(-?\d+|\*)\]$")


@dataclass
class TurnView:
    """What a check sees of one turn.

    Attributes:
        result: the turn's result (a ``TurnResult``).
        history: the results of the earlier turns of the conversation, oldest first.
        item: catalogue lookup (item id -> ``Item`` or None).
        later: the results of the later turns (filled in before ``never_again`` is checked).
    """

    result: Any
    history: list[Any]
    item: Callable[[str], Any]
    later: list[Any] = field(default_factory=list)

    @property
    def prev_list(self) -> list[str]:
        """The last list the agent recommended before this turn."""
        for r in reversed(self.history):
            if r.recommendations:
                return [x.item_id for x in r.recommendations]
        return []

    @property
    def recs(self) -> list[str]:
        """This turn's recommended ids."""
        return [r.item_id for r in self.result.recommendations]

    def belief(self, key: str) -> Any:
        """A field of the turn's belief view."""
        return (self.result.belief or {}).get(key)

    def before(self, key: str) -> Any:
        """The same field after the previous turn (empty when none)."""
        return (self.history[-1].belief or {}).get(key) if self.history else None


def resolve_refs(refs: Sequence[str] | str, view: TurnView) -> list[str]:
    """Item ids of references (``@prev[i]``, ``@prev[*]`` or literal ids)."""
    out: list[str] = []
    for r in [refs] if isinstance(refs, str) else refs:
        m = _REF.match(str(r))
        if not m:
            out.append(str(r))
            continue
        prev = view.prev_list
        if m.group(1) == "*":
            out.extend(prev)
        elif prev and -len(prev) <= int(m.group(1)) < len(prev):
            out.append(prev[int(m.group(1))])
        else:
            out.append(f"<missing {r}>")
    return out


def titles(view: TurnView, ids: Sequence[str]) -> dict[str, str]:
    """item id -> catalogue title, for the ids the catalogue knows."""
    out = {}
    for i in ids:
        it = view.item(i)
        if it is not None:
            out[i] = it.title
    return out


def ids_of(entries: Any) -> list[str]:
    """Item ids of belief entries (``{"item_id": ...}`` or plain ids)."""
    return [e["item_id"] if isinstance(e, Mapping) else str(e) for e in entries or []]


def norm(s: str) -> str:
    """Lower case with single spaces (what reply checks compare)."""
    return " ".join(s.lower().split())


Check = Callable[[TurnView, Any], "str | None"]
