"""Ranking with the learned ranker (LightGBM lambdarank) instead of the weighted fusion.

:func:`~crsagent.graphs.ranking.rank_candidates` and
:func:`~crsagent.graphs.ranking.remention_candidates` call these when the toolkit has a ranker
(``Toolkit.ranker``, the ``ranker`` build artifact) and the fusion weights ask for it
(``FusionWeights.learned``). The pool and the re-mentions are scored by the one model, so their
scores share a scale and :func:`~crsagent.graphs.ranking.catalogue_ranking` merges them as
before. Features: :mod:`crsagent.graphs.ranking.features`.
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from crsagent.graphs.dialogue.belief import Belief, excluded_ids, liked_ids
from crsagent.graphs.ranking.features import feature_rows

if TYPE_CHECKING:  # pragma: no cover
    from crsagent.graphs.ranking import SignalTable
    from crsagent.graphs.state import Candidate

__all__ = ["remention_inputs", "learned_rank", "learned_rementions"]


def remention_inputs(toolkit: Any, belief: Belief) -> dict[str, tuple[float, int]]:
    """Re-mentioned item -> (re-mention score 0-1, recency rank) for the mentioned, unrejected items."""
    prior = getattr(toolkit, "prior", None)
    if prior is None:
        return {}
    rejected = set(belief.get("rejected") or [])
    mentioned = [i for i in belief.get("mentioned") or [] if i not in rejected and toolkit.has(i)]
    rates = prior.remention(mentioned)
    recent = list(dict.fromkeys(reversed(mentioned)))
    return {i: (float(rates[i]), r) for r, i in enumerate(recent) if i in rates}


def _context_sizes(belief: Belief) -> tuple[int, int]:
    return len(excluded_ids(belief)), len(liked_ids(belief))


def learned_rank(toolkit: Any, ranker: Any, table: SignalTable, belief: Belief, k: int) -> list[Candidate]:
    """The pool ranked by the model, best first; ties break by popularity, then id.

    Returns:
        Candidates with ``score`` (the model's) and ``signals`` (normalised, as the fusion's).
    """
    if not table.pool:
        return []
    n_ctx, n_liked = _context_sizes(belief)
    pop = table.scores.get("popularity", {})
    ids, m, signals = feature_rows(table, {}, pop, n_ctx, n_liked, ranker.features)
    scores = ranker.score(m)
    return [
        {"item_id": ids[r], "score": round(s, 6), "signals": signals[ids[r]]} for r, s in _top_rows(ids, scores, pop, k)
    ]


def _top_rows(ids: list[str], scores: np.ndarray, pop: Mapping[str, float], k: int) -> list[tuple[int, float]]:
    """(row, score) of the ``k`` best rows by (score rounded to 9 places, popularity, id).

    Only the rows that can be among the best are ordered in Python: a row of the top ``k`` scores
    at least the ``k``-th highest raw score less 1e-9 (rounding moves a score by at most 5e-10),
    so the rows above that bound less a margin hold every winner and the order is exact.
    """
    if len(ids) > k > 0:
        kth = np.partition(scores, len(ids) - k)[len(ids) - k]
        rows = np.flatnonzero(scores >= kth - 1e-8).tolist()
    else:
        rows = list(range(len(ids)))
    vals = scores.tolist()
    keyed = [(-round(vals[r], 9), -pop.get(ids[r], 0.0), ids[r], r) for r in rows]
    return [(r, vals[r]) for _, _, _, r in heapq.nsmallest(k, keyed)]


def learned_rementions(toolkit: Any, ranker: Any, belief: Belief) -> list[Candidate]:
    """The re-mention candidates scored by the model (on the pool's scale), best first."""
    from crsagent.graphs.ranking import SignalTable

    rementions = remention_inputs(toolkit, belief)
    if not rementions:
        return []
    n_ctx, n_liked = _context_sizes(belief)
    ids, m, _ = feature_rows(SignalTable(), rementions, toolkit.popularity_map(), n_ctx, n_liked, ranker.features)
    scores = ranker.score(m)
    out: list[Candidate] = [
        {"item_id": i, "score": round(float(s), 6), "signals": {"remention": round(rementions[i][0], 6)}}
        for i, s in zip(ids, scores.tolist(), strict=True)
    ]
    out.sort(key=lambda c: -c["score"])
    return out
