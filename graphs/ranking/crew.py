"""The ``crew`` ranking signal: items that share directors, writers or cast with the dialogue's items.

ReDial recommenders often answer a film with another film of its director or stars (*Die Hard*
-> *Armageddon*). Each person of each item mentioned so far votes for every other item they
worked on, weighted ``1 / log(2 + films)`` so that a prolific actor counts less than a rarely
credited director. On the tuning split it lifts Recall@50 (docs/journal/2026-12-02-ranking-tuning.md, run 4).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Sequence
from typing import Any

__all__ = ["crew_scores"]


def crew_scores(
    toolkit: Any,
    context: Iterable[str],
    k: int,
    candidate_ids: Sequence[str] | None = None,
    exclude: Collection[str] = (),
) -> dict[str, float]:
    """The ``k`` items sharing the most (weighted) people with the context's items.

    Args:
        toolkit: has ``people_of(id)`` and ``films_by_person()``.
        context: item ids of the dialogue (mentioned, liked, ...); repeats count once.
        k: how many items.
        candidate_ids: the allowed items (None: any item).
        exclude: items never to return (the context's own items, typically).

    Returns:
        Item id -> summed weight of the shared people, best first (ties by id).
    """
    films = toolkit.films_by_person()
    allowed = None if candidate_ids is None else set(candidate_ids)
    out: dict[str, float] = {}
    for item in dict.fromkeys(context):
        for name in toolkit.people_of(item):
            others = films.get(name, ())
            if len(others) < 2:
                continue
            w = 1.0 / math.log(2 + len(others))
            for j in others:
                if j not in exclude and (allowed is None or j in allowed):
                    out[j] = out.get(j, 0.0) + w
    return dict(sorted(out.items(), key=lambda t: (-t[1], t[0]))[: max(k, 0)])
