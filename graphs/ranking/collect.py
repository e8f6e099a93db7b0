"""Collecting the signals: the hard constraints, the vector-search text, every registered signal.

:func:`collect_signals` builds the turn's :class:`~crsagent.graphs.ranking.signals.SignalContext`
(the items that satisfy the hard constraints, applied by the product database through
:func:`~crsagent.graphs.dialogue.belief.belief_filter`; the dialogue's items, never candidates) and runs
every registered signal over it into a :class:`~crsagent.graphs.ranking.signals.SignalTable`.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from crsagent.graphs.dialogue.belief import (
    Belief,
    belief_filter,
    disliked_ids,
    excluded_ids,
    liked_genres,
    liked_ids,
    liked_people,
    soft_text,
)
from crsagent.graphs.ranking import builtin as _builtin  # noqa: F401  (registers the built-in signals)
from crsagent.graphs.ranking.signals import SignalContext, SignalTable, registered_signals

if TYPE_CHECKING:  # pragma: no cover
    from crsagent.tools.toolkit import Toolkit

__all__ = ["QUERY_WORDS", "query_text", "named_in", "allowed_ids", "collect_signals"]

#: Most words of soft-preference text in the vector-search query (the latest are kept): the
#: embedding's cost grows with the length, and old statements matter less.
QUERY_WORDS = 40


def query_text(belief: Belief) -> str:
    """The vector-search text: liked genres and people, then the latest soft preferences."""
    parts = [" ".join(liked_genres(belief)), " ".join(liked_people(belief))]
    parts.append(" ".join(soft_text(belief).split()[-QUERY_WORDS:]))
    return " ".join(p for p in parts if p).strip()


_WORD = re.compile(r"[\w']+")


def named_in(person: str, text: str) -> bool:
    """Whether ``text`` names the person (full name, or a surname of 3+ letters as a word)."""
    low = f" {' '.join(_WORD.findall(text.lower()))} "
    name = " ".join(_WORD.findall(person.lower()))
    if not name:
        return False
    surname = name.split()[-1]
    return f" {name} " in low or (len(surname) >= 3 and f" {surname} " in low)


def allowed_ids(
    toolkit: Toolkit, belief: Belief, genres_hard: bool = True, people_hard: bool = False, recent: str | None = None
) -> list[str] | None:
    """Item ids that satisfy the hard constraints, or None when nothing but exclusions applies.

    A person constraint that leaves nothing once the excluded items are gone is dropped (the
    user asked for someone's films and has seen them all: the rest of the wishes still hold).
    With ``recent`` (the user's latest message) it holds only while that message names the
    person: "something with Tom Hanks" asks for his films now, while a star liked turns ago
    only boosts (``attr``, ``crew``).
    """
    if people_hard and recent is not None:
        latest = liked_people(belief)[-1:]
        people_hard = bool(latest) and named_in(latest[0], recent)
    f = belief_filter(belief, exclude=False, genres_hard=genres_hard, people_hard=people_hard)
    if f.is_empty():
        return None
    ids = toolkit.filter_ids(f)
    if f.people and not set(ids) - set(excluded_ids(belief)):
        return allowed_ids(toolkit, belief, genres_hard, people_hard=False)
    return ids


def collect_signals(
    toolkit: Toolkit,
    belief: Belief,
    dialogue_text: str = "",
    *,
    pool: int = 200,
    text: str | None = None,
    genres_hard: bool = True,
    people_hard: bool = False,
    skip: frozenset[str] = frozenset(),
    recent: str | None = None,
) -> SignalTable:
    """Run every available signal over the items that satisfy the hard constraints.

    Args:
        toolkit: the domain's tools.
        belief: the current belief.
        dialogue_text: the user's recent words (for the intent scorer).
        pool: how many items each signal contributes.
        text: the vector-search text (default :func:`query_text`).
        genres_hard: liked genres filter the candidates (else they only feed ``attr``/``vector``).
        people_hard: the most recently liked person filters the candidates.
        skip: signals not to compute (those fused with weight 0; the learned ranker's own
            signals unless it uses them, :func:`~crsagent.graphs.ranking.fusion.skipped_signals`).
        recent: the user's latest message; the person filter then holds only while it names
            the person (see :func:`allowed_ids`).

    Returns:
        The raw per-signal scores and the candidate pool.
    """
    allowed = allowed_ids(toolkit, belief, genres_hard, people_hard, recent)
    context = excluded_ids(belief)  # the dialogue's items, in order (sums over them stay deterministic)
    excluded = frozenset(context)
    cand = None if allowed is None else [i for i in allowed if i not in excluded]
    table = SignalTable()
    if cand is not None and not cand:
        return table
    ctx = SignalContext(
        toolkit=toolkit,
        belief=belief,
        dialogue_text=dialogue_text,
        text=query_text(belief) if text is None else text,
        context=context,
        excluded=excluded,
        candidates=cand,
        k=min(pool, len(cand)) if cand is not None else pool,
        liked=[i for i in liked_ids(belief) if toolkit.has(i)],
        disliked=[i for i in disliked_ids(belief) if toolkit.has(i)],
        pool=table.pool,
    )
    for signal in registered_signals():
        if signal.name == "popularity" or signal.name not in skip:
            table.add(signal.name, signal.scores(ctx))
    label = ctx.notes.get("intent_label")
    table.intent_label = None if label is None else str(label)
    # every pooled item gets its popularity, so the signal is defined over the whole pool
    pop = toolkit.popularity_map()
    table.scores["popularity"] = {i: pop.get(i, 0.0) for i in table.pool}
    return table
