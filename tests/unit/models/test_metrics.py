"""Ranking metrics against hand-computed values."""

from __future__ import annotations

import math

import pytest

from crsagent.evals.metrics import hit_at_k, mean_metrics, mrr_at_k, ndcg_at_k, ranking_metrics, recall_at_k

RANKED = ["x", "y", "z", "w"]


def test_single_relevant_item():
    assert recall_at_k(RANKED, {"z"}, 2) == 0.0
    assert recall_at_k(RANKED, {"z"}, 3) == 1.0
    assert hit_at_k(RANKED, {"z"}, 3) == 1.0
    assert mrr_at_k(RANKED, {"z"}, 10) == pytest.approx(1 / 3)
    assert ndcg_at_k(RANKED, {"z"}, 10) == pytest.approx(1 / math.log2(4))
    assert ndcg_at_k(RANKED, {"x"}, 1) == 1.0


def test_several_relevant_items():
    assert recall_at_k(RANKED, {"x", "w", "q"}, 4) == pytest.approx(2 / 3)
    ideal = 1 + 1 / math.log2(3) + 1 / math.log2(4)
    assert ndcg_at_k(RANKED, {"x", "w", "q"}, 4) == pytest.approx((1 + 1 / math.log2(5)) / ideal)


def test_nothing_relevant_and_bad_k():
    assert recall_at_k(RANKED, set(), 5) == 0.0 and ndcg_at_k(RANKED, set(), 5) == 0.0
    with pytest.raises(ValueError):
        recall_at_k(RANKED, {"x"}, 0)


def test_ranking_and_mean_metrics():
    rows = [ranking_metrics(RANKED, {"x"}, ks=(1, 10)), ranking_metrics(RANKED, {"q"}, ks=(1, 10))]
    assert set(rows[0]) == {f"{m}@{k}" for m in ("recall", "ndcg", "hit", "mrr") for k in (1, 10)}
    mean = mean_metrics(rows)
    assert mean["recall@1"] == 0.5 and mean["mrr@10"] == 0.5
    assert mean_metrics([]) == {}
