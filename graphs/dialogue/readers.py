"""Readers of single phrases for understanding: "same brand as", "the ending of X", "no more
Nolan", "I meant the 1995 Heat" — each from the catalogue record of the item or person meant.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from crsagent.graphs.dialogue.belief import Belief
from crsagent.graphs.dialogue.cues import has_negative, negative_near
from crsagent.graphs.dialogue.moves import pick_correction, same_title_items

if TYPE_CHECKING:  # pragma: no cover
    from crsagent.tools.toolkit import Toolkit

__all__ = [
    "lexicon_update",
    "skip_words",
    "same_as",
    "aspect_only",
    "cast_praised",
    "surnames",
    "correct",
    "product_kind",
    "MIN_KIND_HITS",
]

MIN_KIND_HITS = 3  # a product phrase constrains only when at least this many products have it

_POSITIVE = re.compile(r"\b(lov(e|ed)|lik(e|ed)|enjoy(ed)?|great|good|favou?rite|amazing)\b")
_NEGATED = re.compile(r"\b(no more|not|no|anything but|except|without|enough|avoid|skip|stop)\b")
_CAST = re.compile(r"\b(cast|actors|acting|performances?)\b")
_ASPECT = re.compile(r"\b(ending|plot|story|pacing|music|soundtrack|effects|acting|cast|actors|script|dialogue)\b")
_YEAR_OK = range(1870, 2101)
_HEAD_STOP = re.compile(r"\b(for|with|to|from|that|which|like|but|under|in|on)\b|[,.;!?]")
_NOT_KIND = frozenset(
    "need want looking look find show recommend get buy some any please new good best "
    "cheap cheaper one ones thing things stuff product products office something anything".split()
)
_SAME = re.compile(r"\bsame (brand|maker|make|company|manufacturer|director|actor|star|cast)\b")


def same_as(tk: Toolkit, low: str, last_recs: list[str], picked: list[str]) -> dict[str, Any]:
    """ "Same brand/director as the first one": that item's brand or person, liked."""
    m = _SAME.search(low)
    it = tk.item((picked or last_recs)[0]) if m and last_recs else None
    if m is None or it is None:
        return {}
    if m.group(1) in ("brand", "maker", "make", "company", "manufacturer"):
        return {"brands": {it.brand: "like"}} if it.brand else {}
    names = it.directors[:1] if m.group(1) == "director" else it.cast[:1]
    return {"people": {n: "like" for n in names}} if names else {}


def aspect_only(text: str, start: int, end: int) -> bool:
    """Whether the negative clause around a title is about one aspect of it ("the ending of X")."""
    low = text.lower()
    clause = re.split(r"[.;!?]|,\s*but\b|\bbut\b", low[:start])[-1] + low[start:end]
    return bool(_ASPECT.search(clause))


def cast_praised(tk: Toolkit, text: str, item_id: str) -> dict[str, str]:
    """The item's top-billed cast, liked, when another clause praises the cast."""
    it = tk.item(item_id)
    clauses = re.split(r"[.;!?]|\bbut\b", text.lower())
    praised = any(_CAST.search(c) and _POSITIVE.search(c) and not has_negative(c) for c in clauses)
    return {p: "like" for p in it.cast[:2]} if praised and it is not None else {}


def surnames(text: str, known: Belief) -> dict[str, str]:
    """People already in the belief named by surname alone, with the clause's polarity."""
    out: dict[str, str] = {}
    low = text.lower()
    for name in known.get("people") or {}:
        last = name.split()[-1].lower()
        m = re.search(r"\b" + re.escape(last) + r"\b", low) if len(last) >= 4 and name.lower() not in low else None
        if m:
            clause = re.split(r"[.;!?,]|\bbut\b", low[: m.start()])[-1]
            out[name] = "dislike" if (_NEGATED.search(clause) or negative_near(text, m.start(), m.end())) else "like"
    return out


def correct(tk: Toolkit, text: str, mentions: Sequence[Any], recent: Sequence[str]) -> dict[str, Any]:
    """Item opinions of a correction: the meant item liked, the misread one set aside."""
    current = next((i for i in reversed(recent) if tk.has(i)), None)
    options: list[str] = []
    for m in mentions:
        options += [i for i in [m.item_id, *m.alternatives] if i not in options]
    if current is not None:
        options += [i for i in same_title_items(tk, current) if i not in options]
    meant = pick_correction(tk, text, options, current)
    if meant is None:
        return {}
    out: dict[str, Any] = {meant: {"opinion": "liked", "source": "correction"}}
    for i in {current, *(m.item_id for m in mentions)} - {meant, None}:
        if i in options:
            out[i] = {"opinion": "corrected", "source": "correction"}
    return out


def product_kind(tk: Toolkit, text: str, skip_words: frozenset[str] = frozenset()) -> str | None:
    """Office: the kind of product a message asks for, as words the catalogue's products carry
    ("I need a wireless mouse" -> "wireless mouse"; "ink for my Canon printer" -> "ink").

    The phrase before the first preposition is read from its end (the head noun); the longest
    ending that at least :data:`MIN_KIND_HITS` products contain wins (plural "s" dropped).
    """
    from crsagent.tools.catalog.schema import ItemFilter

    head = _HEAD_STOP.split(text.lower())[0]
    words = [w for w in re.findall(r"[a-z][a-z-]+", head) if w not in skip_words and w not in _NOT_KIND]
    words = [w for w in words if len(w) > 2 and w not in ("the", "and", "for", "you", "i'm", "can")]
    for n in (2, 1):
        if len(words) < n:
            continue
        phrase = " ".join(words[-n:])
        phrase = phrase[:-1] if phrase.endswith("s") and not phrase.endswith("ss") else phrase
        if len(tk.filter_ids(ItemFilter(text_contains=phrase))) >= MIN_KIND_HITS:
            return phrase
    return None


def skip_words(ex: Any) -> frozenset[str]:
    """Words of the brands, people and genres the lexicon found (not a product kind)."""
    return frozenset(w for m in getattr(ex, "matches", None) or [] for w in m.surface.lower().split())


def lexicon_update(ex: Any) -> Belief:
    """The belief update of the attribute lexicon's extraction (genres, people, brands, years)."""
    if ex is None:
        return {}
    up: dict[str, Any] = {}
    genres = {g: "like" for g in getattr(ex, "genres_liked", []) or []}
    genres.update({g: "dislike" for g in getattr(ex, "genres_disliked", []) or []})
    if genres:
        up["genres"] = genres
    people = {p: "like" for p in getattr(ex, "people", []) or []}
    people.update({p: "dislike" for p in getattr(ex, "people_disliked", []) or []})
    if people:
        up["people"] = people
    brands = {b: "like" for b in getattr(ex, "brands", []) or []}
    brands.update({b: "dislike" for b in getattr(ex, "brands_disliked", []) or []})
    if brands:
        up["brands"] = brands
    cons: dict[str, Any] = {}
    for key in ("year_min", "year_max"):
        v = getattr(ex, key, None)
        if v is not None and int(v) in _YEAR_OK:
            cons[key] = int(v)
    if cons:
        up["constraints"] = cons
    return up  # type: ignore[return-value]
