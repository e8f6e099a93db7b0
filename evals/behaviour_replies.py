"""Behaviour-suite checks on a turn's recommendations and reply text (see
:mod:`crsagent.evals.behaviour_checks`)."""

from __future__ import annotations

import re
import statistics
from collections.abc import Mapping, Sequence
from typing import Any

from crsagent.evals.behaviour_view import Check, TurnView, resolve_refs
from crsagent.evals.behaviour_view import norm as _norm
from crsagent.evals.behaviour_view import titles as _titles

__all__ = ["REPLY_CHECKS"]


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
    return (
        None
        if share >= float(want.get("min", 1.0))
        else f"share with {sorted(genres)} is {share:.2f} < {want.get('min', 1.0)}"
    )


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


def _never_again(v: TurnView, want: Any) -> str | None:
    ids = resolve_refs(want, v)
    for n, r in enumerate(v.later, 1):
        again = [i for i in ids if i in [x.item_id for x in r.recommendations]]
        if again:
            return f"{again} recommended again {n} turn(s) later"
    return None


REPLY_CHECKS: dict[str, Check] = {
    "brands_liked": _brands("like"),
    "brands_disliked": _brands("dislike"),
    "recs_not_brand": _recs_not_brand,
    "recs_same_brand_as": _recs_same_brand,
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
    "never_again": _never_again,
}
