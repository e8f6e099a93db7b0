"""Offline-evaluation helpers: hold-out levels, ranking with exclusions, the latency bench."""

from __future__ import annotations

import numpy as np
import pytest

from crsagent.evals.offline import bench_cf, rank_users, split_holdout
from crsagent.tools.cf.data import UserHistory


def test_split_levels_move_the_target_back():
    h = UserHistory("ml-1", ["a", "b", "c", "d"], [4.0, 4.0, 2.0, 5.0], "movielens")
    train0, t0 = split_holdout([h], 0)
    train1, t1 = split_holdout([h], 1)
    assert t0 == {"ml-1": "d"} and train0[0].items == ["a", "b", "c"]
    assert t1 == {"ml-1": "b"} and train1[0].items == ["a"]


def test_rank_users_excludes_training_items():
    ids = ["a", "b", "c", "d"]
    scores = np.array([[4.0, 3.0, 2.0, 1.0], [4.0, 3.0, 2.0, 1.0]])
    # user 0: "a" excluded, target "b" ranks first; user 1: target "d" ranks last (outside k=2)
    res = rank_users(scores, ids, [np.array([0]), np.array([], dtype=np.int64)], ["b", "d"], k=2)
    assert res["recall@2"] == 0.5 and res["mrr@2"] == 0.5
    assert res["ndcg@2"] == pytest.approx(0.5)


def test_bench_cf_reports_latency():
    res = bench_cf(2000, queries=20)
    assert res["items"] == 2000 and res["k"] == 50
    assert 0 < res["p50_ms"] <= res["p90_ms"]
