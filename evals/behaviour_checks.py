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
import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["TurnView", "CHECKS", "check_turn", "resolve_refs"]

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


def _ids(entries: Any) -> list[str]:
    return [e["item_id"] if isinstance(e, Mapping) else str(e) for e in entries or []]


def _titles(view: TurnView, ids: Sequence[str]) -> dict[str, str]:
    out = {}
    for i in ids:
        it = view.item(i)
        if it is not None:
            out[i] = it.title
    return out


def _norm(s: str) -> str:
    return " ".join(s.lower().split())


Check = Callable[[TurnView, Any], str | None]


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


def _recs_nonempty(v: TurnView, want: Any) -> str | None:
    return None if bool(v.recs) == bool(want) else f"{len(v.recs)} recommendations"


def _recs_exclude(v: TurnView, want: Any) -> str | None:
    bad = [i for i in resolve_refs(want, v) if i in v.recs]
    return f"recommended again: {bad}" if bad else None


def _genres_of(v: TurnView, i: str) -> set[str]:
    it = v.item(i)
    return {g.lower() for g in (it.genres if it is not None else [])}


def _recs_without_genre(v: TurnView, want: Any) -> str | None:
    bad = {i: sorted(_genres_of(v, i) & {w.lower() for w in want}) for i in v.recs}
    bad = {i: g for i, g in bad.items() if g}
    return f"recommendations with excluded genres: {bad}" if bad else None


def _recs_genre_share(v: TurnView, want: Mapping[str, Any]) -> str | None:
    if not v.recs:
        return "no recommendations"
    genres = {g.lower() for g in want["genres"]}
    share = sum(bool(_genres_of(v, i) & genres) for i in v.recs) / len(v.recs)
    return None if share >= float(want.get("min", 1.0)) else f"share with {sorted(genres)} is {share:.2f} < {want.get('min', 1.0)}"


def _years(v: TurnView, ids: Sequence[str]) -> list[int]:
    return [y for y in (getattr(v.item(i), "year", None) for i in ids) if y]


def _recs_years(direction: str) -> Check:
    def check(v: TurnView, want: Any) -> str | None:
        now, before = _years(v, v.recs), _years(v, v.prev_list)
        if not now or not before:
            return "no years to compare"
        a, b = statistics.median(now), statistics.median(before)
        ok = a > b if direction == "newer" else a < b
        return None if ok == bool(want) else f"median year {a} vs {b} before (expected {direction})"

    return check


def _recs_person(negate: bool) -> Check:
    def check(v: TurnView, want: str) -> str | None:
        name = want.lower()
        bad = []
        for i in v.recs:
            it = v.item(i)
            people = {p.lower() for p in (*(it.directors if it else ()), *(it.cast if it else ()))}
            if (name in people) == negate:
                bad.append(i)
        return f"{'with' if negate else 'without'} {want}: {bad}" if bad else None

    return check


def _brands(polarity: str) -> Check:
    def check(v: TurnView, want: Any) -> str | None:
        have = {b.lower() for b, p in (v.belief("brands") or {}).items() if p == polarity}
        bad = [w for w in want if w.lower() not in have]
        return f"brands {polarity} {sorted(have)} lack {bad}" if bad else None

    return check


def _recs_not_brand(v: TurnView, want: str) -> str | None:
    bad = [i for i in v.recs if (getattr(v.item(i), "brand", None) or "").lower() == want.lower()]
    return f"by {want}: {bad}" if bad else None


def _recs_same_brand(v: TurnView, want: str) -> str | None:
    ref = resolve_refs(want, v)
    brand = getattr(v.item(ref[0]), "brand", None) if ref else None
    return _recs_brand(v, brand) if brand else f"{ref} has no brand"


def _recs_brand(v: TurnView, want: str) -> str | None:
    bad = [i for i in v.recs if (getattr(v.item(i), "brand", None) or "").lower() != want.lower()]
    return f"not {want}: {bad}" if bad or not v.recs else None


def _reply_has(negate: bool) -> Check:
    def check(v: TurnView, want: Any) -> str | None:
        text = _norm(v.result.reply)
        words = [want] if isinstance(want, str) else list(want)
        bad = [w for w in words if (_norm(w) in text) == negate]
        return f"reply {'says' if negate else 'lacks'} {bad}" if bad else None

    return check


def _reply_regex(v: TurnView, want: str) -> str | None:
    return None if re.search(want, v.result.reply, re.I) else f"reply does not match /{want}/"


def _reply_fact(v: TurnView, want: Mapping[str, Any]) -> str | None:
    ids = resolve_refs(want["item"], v)
    it = v.item(ids[0]) if ids else None
    if it is None:
        return f"unknown item {ids}"
    value = getattr(it, want["field"], None)
    value = value[0] if isinstance(value, list) and value else value
    if value in (None, "", []):
        return None if want.get("allow_missing") else f"{it.title} has no {want['field']}"
    return None if _norm(str(value)) in _norm(v.result.reply) else f"reply lacks {want['field']} {value!r}"


def _reply_names(v: TurnView, want: Any) -> str | None:
    titles = _titles(v, resolve_refs(want, v))
    bad = [t for t in titles.values() if _norm(t) not in _norm(v.result.reply)]
    return f"reply does not name {bad}" if bad else None


def _sentences(text: str) -> list[str]:
    return [s for s in (_norm(x) for x in re.split(r"(?<=[.!?])\s+|\n", text)) if len(s) > 3]


def _reply_new(v: TurnView, want: Any) -> str | None:
    prev = next((r.reply for r in reversed(v.history) if r.recommendations), "")
    old = set(_sentences(prev))
    new = [s for s in _sentences(v.result.reply) if s not in old and s.strip(" .") not in _norm(prev)]
    return None if bool(new) == bool(want) else "the reply says nothing the recommendation did not"


def _no_repeats(v: TurnView, want: Any) -> str | None:
    reply = _norm(v.result.reply)
    bad = [r.explanation for r in v.result.recommendations if r.explanation and reply.count(_norm(r.explanation)) > 1]
    lines = [x for x in _sentences(v.result.reply)]
    dup = sorted({x for x in lines if lines.count(x) > 1})
    return f"repeated: {(bad + dup)[:2]}" if (bad or dup) and want else None


def _closing(v: TurnView, want: Any) -> str | None:
    last = [r for r in v.history if r.recommendations]
    if not last or not v.result.reply.strip():
        return None
    a, b = _norm(v.result.reply.splitlines()[-1]), _norm(last[-1].reply.splitlines()[-1])
    return None if (a != b) == bool(want) else f"closing line repeats: {a!r}"


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
    bad = [s for s in v.belief("soft") or [] if not re.match(r"^[\w\"'(]", s) or re.search(r"\b(and|or|the|of|but)[.?!]*$", s.lower())
           or re.search(r"\b(and|or)\s*[.,;]", s.lower())]
    return f"garbled soft preferences: {bad}" if bad and want else None


def _never_again(v: TurnView, want: Any) -> str | None:
    ids = resolve_refs(want, v)
    for n, r in enumerate(v.later, 1):
        again = [i for i in ids if i in [x.item_id for x in r.recommendations]]
        if again:
            return f"{again} recommended again {n} turn(s) later"
    return None


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
    "brands_liked": _brands("like"),
    "brands_disliked": _brands("dislike"),
    "recs_not_brand": _recs_not_brand,
    "recs_same_brand_as": _recs_same_brand,
    "genres_disliked": _values("genres_disliked", "all"),
    "people_liked": _values("people_liked", "all"),
    "people_disliked": _values("people_disliked", "all"),
    "year_min_at_least": _constraint("year_min", ">="),
    "year_max_at_most": _constraint("year_max", "<="),
    "recs_nonempty": _recs_nonempty,
    "recs_exclude": _recs_exclude,
    "recs_without_genres": _recs_without_genre,
    "recs_genre_share": _recs_genre_share,
    "recs_newer": _recs_years("newer"),
    "recs_older": _recs_years("older"),
    "recs_with_person": _recs_person(negate=False),
    "recs_without_person": _recs_person(negate=True),
    "recs_brand": _recs_brand,
    "reply_contains": _reply_has(negate=False),
    "reply_not_contains": _reply_has(negate=True),
    "reply_regex": _reply_regex,
    "reply_fact": _reply_fact,
    "reply_names": _reply_names,
    "reply_new": _reply_new,
    "no_repeats": _no_repeats,
    "closing_changes": _closing,
    "soft_contains": _soft("contains"),
    "soft_not_contains": _soft("not_contains"),
    "soft_clean": _soft_clean,
    "never_again": _never_again,
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
