"""Ranking metrics: Recall@k, Hit@k, NDCG@k and MRR@k for one ranked list.

Each function takes a ranked list of ids (best first) and the set of relevant ids and returns a
float in [0, 1]; average over samples with :func:`mean_metrics`. With one relevant item per
sample (leave-one-out), Recall@k equals Hit@k.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping, Sequence

__all__ = ["recall_at_k", "hit_at_k", "ndcg_at_k", "mrr_at_k", "ranking_metrics", "mean_metrics"]


def _check(k: int) -> None:
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")


def recall_at_k(ranked: Sequence[str], relevant: Collection[str], k: int) -> float:
    """Share of the relevant ids found in the top ``k`` (0 when nothing is relevant)."""
    _check(k)
    if not relevant:
        return 0.0
    return len(set(ranked[:k]) & set(relevant)) / len(relevant)


def hit_at_k(ranked: Sequence[str], relevant: Collection[str], k: int) -> float:
    """1 when any relevant id is in the top ``k``, else 0."""
    _check(k)
    rel = set(relevant)
    return float(any(r in rel for r in ranked[:k]))


def ndcg_at_k(ranked: Sequence[str], relevant: Collection[str], k: int) -> float:
    """Binary-relevance NDCG: DCG of the top ``k`` over the best possible DCG."""
    _check(k)
    rel = set(relevant)
    if not rel:
        return 0.0
    dcg = sum(1.0 / math.log2(pos + 2) for pos, r in enumerate(ranked[:k]) if r in rel)
    ideal = sum(1.0 / math.log2(pos + 2) for pos in range(min(k, len(rel))))
    return dcg / ideal


def mrr_at_k(ranked: Sequence[str], relevant: Collection[str], k: int) -> float:
    """Reciprocal rank of the first relevant id within the top ``k`` (0 if none)."""
    _check(k)
    rel = set(relevant)
    for pos, r in enumerate(ranked[:k]):
        if r in rel:
            return 1.0 / (pos + 1)
    return 0.0


def ranking_metrics(ranked: Sequence[str], relevant: Collection[str], ks: Iterable[int] = (10,)) -> dict[str, float]:
    """``recall@k``, ``ndcg@k``, ``hit@k`` and ``mrr@k`` for each ``k``."""
    out: dict[str, float] = {}
    for k in ks:
        out[f"recall@{k}"] = recall_at_k(ranked, relevant, k)
        out[f"ndcg@{k}"] = ndcg_at_k(ranked, relevant, k)
        out[f"hit@{k}"] = hit_at_k(ranked, relevant, k)
        out[f"mrr@{k}"] = mrr_at_k(ranked, relevant, k)
    return out


def mean_metrics(rows: Iterable[Mapping[str, float]]) -> dict[str, float]:
    """Average each metric over samples (an empty input gives an empty dict)."""
    rows = list(rows)
    if not rows:
        return {}
    return {key: sum(r[key] for r in rows) / len(rows) for key in rows[0]}
