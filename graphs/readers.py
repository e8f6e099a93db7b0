"""Readers of single phrases for understanding: "same brand as", "the ending of X", "no more
Nolan", "I meant the 1995 Heat" — each from the catalogue record of the item or person meant.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from crsagent.graphs.belief import Belief
from crsagent.graphs.cues import has_negative, negative_near
from crsagent.graphs.moves import pick_correction, same_title_items

if TYPE_CHECKING:  # pragma: no cover
    from crsagent.tools.toolkit import Toolkit

__all__ = ["same_as", "aspect_only", "cast_praised", "surnames", "correct"]

_POSITIVE = re.compile(r"\b(lov(e|ed)|lik(e|ed)|enjoy(ed)?|great|good|favou?rite|amazing)\b")
_NEGATED = re.compile(r"\b(no more|not|no|anything but|except|without|enough|avoid|skip|stop)\b")
_CAST = re.compile(r"\b(cast|actors|acting|performances?)\b")
_ASPECT = re.compile(r"\b(ending|plot|story|pacing|music|soundtrack|effects|acting|cast|actors|script|dialogue)\b")
_SAME = re.compile(r"\bsame (brand|maker|make|company|manufacturer|director|actor|star|cast)\b")


def same_as(tk: Toolkit, low: str, last_recs: list[str], picked: list[str]) -> dict[str, Any]:
    """"Same brand/director as the first one": that item's brand or person, liked."""
    m = _SAME.search(low)
    it = tk.item((picked or last_recs)[0]) if m and last_recs else None
    if it is None:
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
