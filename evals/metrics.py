"""Ranking metrics: Recall@k, Hit@k, NDCG@k and MRR@k for one ranked list; SR and RDL per dialogue.

Each ranking function takes a ranked list of ids (best first) and the set of relevant ids and
returns a float in [0, 1]; average over samples with :func:`mean_metrics`. With one relevant
item per sample (leave-one-out), Recall@k equals Hit@k.

The user-centric metrics of Kostric & Balog (SIGIR '26) score a dialogue's top-1 predictions
with the seeker's questionnaire answers (:data:`REWARD_LIKED`, :data:`REWARD_SEEN`):
:func:`success_rate` (SR) and :func:`reward_per_dialogue_length` (RDL).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping, Sequence

__all__ = [
    "hit_at_rank",
    "recall_at_k",
    "hit_at_k",
    "ndcg_at_k",
    "mrr_at_k",
    "ranking_metrics",
    "mean_metrics",
    "REWARD_LIKED",
    "REWARD_SEEN",
    "seeker_reward",
    "success_rate",
    "reward_per_dialogue_length",
]

#: Reward of a top-1 prediction the seeker said they liked.
REWARD_LIKED = 1.0
#: Reward of a top-1 prediction the seeker had seen but did not say they liked.
REWARD_SEEN = 0.5


def _check(k: int) -> None:
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")


def hit_at_rank(rank: int | None, k: int) -> float:
    """1.0 when a sample's one relevant item ranks within ``k`` (1-based ``rank``; None: unranked).

    This is :func:`recall_at_k` of a sample with one relevant item, from its rank: the one
    recall rule every rank-based recall (replay, claims, tuning claim) sums.
    """
    return 1.0 if rank is not None and 1 <= rank <= k else 0.0


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


def seeker_reward(answers: Mapping[str, object]) -> float:
    """The reward of one item from the seeker's questionnaire answers about it.

    ReDial codes ``liked`` and ``seen`` as 0 (no), 1 (yes) or 2 (did not say).

    Args:
        answers: ``{"liked": 0|1|2, "seen": 0|1|2, ...}`` for one movie.

    Returns:
        :data:`REWARD_LIKED` when ``liked == 1``, else :data:`REWARD_SEEN` when ``seen == 1``,
        else 0.0.
    """
    if answers.get("liked") == 1:
        return REWARD_LIKED
    if answers.get("seen") == 1:
        return REWARD_SEEN
    return 0.0


def _scored(top1: Mapping[str, Sequence[str | None]], rewards: Mapping[str, Mapping[str, float]]) -> list[list[float]]:
    """Per scored dialogue, the reward of each evaluated turn's top-1 prediction."""
    return [
        [float(rewards[d].get(i, 0.0)) if i is not None else 0.0 for i in items]
        for d, items in top1.items()
        if items and d in rewards
    ]


def success_rate(top1: Mapping[str, Sequence[str | None]], rewards: Mapping[str, Mapping[str, float]]) -> float | None:
    """SR: the share of dialogues in which some turn's top-1 prediction was liked or seen by the seeker.

    Args:
        top1: dialogue id -> the top-1 prediction of each evaluated recommender turn (None for a
            turn without a ranking, which earns nothing).
        rewards: dialogue id -> item id -> reward (:func:`seeker_reward`); dialogues absent
            from it have no labels and are not scored.

    Returns:
        The share over scored dialogues (those with turns and labels), None when there are none.
    """
    scored = _scored(top1, rewards)
    if not scored:
        return None
    return sum(1 for turns in scored if any(r > 0 for r in turns)) / len(scored)


def reward_per_dialogue_length(
    top1: Mapping[str, Sequence[str | None]], rewards: Mapping[str, Mapping[str, float]]
) -> float | None:
    """RDL: the mean over dialogues of (summed top-1 reward) / (number of evaluated recommender turns).

    Args:
        top1: as in :func:`success_rate`.
        rewards: as in :func:`success_rate`.

    Returns:
        The mean over scored dialogues, each in [0, 1]; None when there are none.
    """
    scored = _scored(top1, rewards)
    if not scored:
        return None
    return sum(sum(turns) / len(turns) for turns in scored) / len(scored)
