"""The expectations of the dialogue behaviour suite, as machine checks on one turn.

A conversation turn (see :mod:`crsagent.evals.behaviour`) may carry an ``expect`` mapping;
each key names one check here. Checks read only the turn's :class:`TurnResult` fields that
every variant returns (``reply``, ``action``, ``recommendations``, ``belief``), the turns
before it, and the catalogue, so the same suite runs on the LLM variants.

Items are written as catalogue ids (``tt0113277``) or as references to the last list the
agent gave before the turn: ``@prev[0]`` (first), ``@prev[-1]`` (last), ``@prev[*]`` (all).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from crsagent.evals.behaviour_replies import REPLY_CHECKS
from crsagent.evals.behaviour_view import Check, TurnView, resolve_refs
from crsagent.evals.behaviour_view import ids_of as _ids

__all__ = ["TurnView", "CHECKS", "check_turn", "resolve_refs"]


def _action(v: TurnView, want: Any) -> str | None:
    allowed = [want] if isinstance(want, str) else list(want)
    return None if v.result.action in allowed else f"action {v.result.action!r}, expected {allowed}"


def _rejected_exactly(v: TurnView, want: Any) -> str | None:
    new = [i for i in v.belief("rejected") or [] if i not in (v.before("rejected") or [])]
    exp = resolve_refs(want, v)
    return None if sorted(new) == sorted(exp) else f"newly rejected {new}, expected exactly {exp}"


def _in_list(key: str, negate: bool = False) -> Check:
    def check(v: TurnView, want: Any) -> str | None:
        have = set(_ids(v.belief(key)))
        exp = resolve_refs(want, v)
        bad = [i for i in exp if (i in have) != (not negate)]
        return f"{key} {'holds' if negate else 'lacks'} {bad}" if bad else None

    return check


def _values(key: str, mode: str) -> Check:
    def check(v: TurnView, want: Any) -> str | None:
        have = {str(x).lower() for x in v.belief(key) or []}
        exp = [str(w).lower() for w in ([want] if isinstance(want, str) else want)]
        if mode == "all" and not all(w in have for w in exp):
            return f"{key} {sorted(have)} lacks one of {exp}"
        if mode == "any" and not any(w in have for w in exp):
            return f"{key} {sorted(have)} has none of {exp}"
        if mode == "none" and any(w in have for w in exp):
            return f"{key} {sorted(have)} holds one of {exp}"
        return None

    return check


def _constraint(key: str, op: str) -> Check:
    def check(v: TurnView, want: Any) -> str | None:
        got = (v.belief("constraints") or {}).get(key)
        if got is None:
            return f"no {key} constraint (expected {op} {want})"
        ok = got >= want if op == ">=" else got <= want
        return None if ok else f"{key}={got}, expected {op} {want}"

    return check


def _soft(mode: str) -> Check:
    def check(v: TurnView, want: Any) -> str | None:
        soft = " | ".join(v.belief("soft") or []).lower()
        words = [want] if isinstance(want, str) else list(want)
        if mode == "contains":
            bad = [w for w in words if w.lower() not in soft]
        else:
            bad = [w for w in words if w.lower() in soft]
        return f"soft {soft!r}: {mode} fails for {bad}" if bad else None

    return check


def _soft_clean(v: TurnView, want: Any) -> str | None:
    bad = [
        s
        for s in v.belief("soft") or []
        if not re.match(r"^[\w\"'(]", s)
        or re.search(r"\b(and|or|the|of|but)[.?!]*$", s.lower())
        or re.search(r"\b(and|or)\s*[.,;]", s.lower())
    ]
    return f"garbled soft preferences: {bad}" if bad and want else None


CHECKS: dict[str, Check] = {
    "action": _action,
    "rejected_exactly": _rejected_exactly,
    "disliked": _in_list("disliked"),
    "not_disliked": _in_list("disliked", negate=True),
    "liked": _in_list("liked"),
    "not_liked": _in_list("liked", negate=True),
    "genres_liked_any": _values("genres_liked", "any"),
    "genres_liked_none": _values("genres_liked", "none"),
    "genres_liked_all": _values("genres_liked", "all"),
    "genres_disliked": _values("genres_disliked", "all"),
    "people_liked": _values("people_liked", "all"),
    "people_disliked": _values("people_disliked", "all"),
    "year_min_at_least": _constraint("year_min", ">="),
    "year_max_at_most": _constraint("year_max", "<="),
    "soft_contains": _soft("contains"),
    "soft_not_contains": _soft("not_contains"),
    "soft_clean": _soft_clean,
    **REPLY_CHECKS,
}


def check_turn(view: TurnView, expect: Mapping[str, Any]) -> list[str]:
    """The failed expectations of one turn (empty: all hold).

    Raises:
        KeyError: an expectation names no known check.
    """
    out = []
    for key, want in expect.items():
        if key not in CHECKS:
            raise KeyError(f"unknown expectation {key!r}; known: {sorted(CHECKS)}")
        msg = CHECKS[key](view, want)
        if msg:
            out.append(f"{key}: {msg}")
    return out
