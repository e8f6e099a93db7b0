"""The ``content`` ranking signal: items whose description is close to the dialogue's items.

The vector index embeds every item's document (title, genres, people, plot). The mean embedding
of the items mentioned so far (those the user disliked left out) is a content profile of the
conversation; the candidates closest to it score highest. Unlike ``vector``, which embeds the
user's own words (weak on ReDial's chatty messages), it needs only the linked items, and unlike
``cf`` it reaches films nobody rated together. Tuning: docs/journal/2026-12-02-ranking-tuning.md, run 5.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from typing import Any

import numpy as np

from crsagent.tools.search.index import MAX_K

__all__ = ["content_scores"]


def content_scores(
    index: Any,
    context: Iterable[str],
    k: int,
    candidate_ids: Sequence[str] | None = None,
    exclude: Collection[str] = (),
) -> dict[str, float]:
    """The ``k`` items closest (cosine) to the mean embedding of the context's items.

    Args:
        index: a :class:`~crsagent.tools.search.index.VectorIndex`.
        context: item ids of the dialogue; ids not in the index are skipped, repeats count once.
        k: how many items (at most the index's ``MAX_K`` per query).
        candidate_ids: the allowed items (None: any item).
        exclude: items never to return (the context's own items, typically).

    Returns:
        Item id -> cosine similarity, best first; empty without a context item in the index.
    """
    ids = [i for i in dict.fromkeys(context) if i in index]
    k = min(int(k), MAX_K)
    if not ids or k <= 0:
        return {}
    v = np.asarray(index.item_vectors(ids), dtype=np.float32).mean(axis=0)
    norm = float(np.linalg.norm(v))
    if norm < 1e-12:
        return {}
    scored = index.vector_scores(v / norm, k=k, candidate_ids=candidate_ids, exclude_ids=exclude)
    return {i: float(s) for i, s in scored.items()}  # plain floats: the checkpointer serialises them
