"""The office user halves and the office weight tuner, on synthetic data."""

from __future__ import annotations

import contextlib
import random
from typing import Any

import numpy as np
import pytest

from crsagent.evals import office
from crsagent.evals.office import HALVES, OfficeSplit, split_halves, user_half
from crsagent.evals.tuning import office_weights as ow
from crsagent.evals.tuning.weights import RawTurn, TurnSignals, to_signals
from crsagent.graphs.ranking import DEFAULT_WEIGHTS, SIGNALS, SignalTable, fuse
from crsagent.tools.cf.data import UserHistory

USERS = [f"amz-U{n:05d}" for n in range(400)]


def _split(ids: list[str]) -> OfficeSplit:
    users = [UserHistory(u, [f"i{n}", f"i{n + 1}"], source="amazon") for n, u in enumerate(ids)]
    return OfficeSplit(None, users, users, [f"t-{u}" for u in ids], None, None, True)


def test_user_half_is_a_deterministic_salted_hash() -> None:
    first = [user_half(u) for u in USERS]
    assert first == [user_half(u) for u in USERS] and set(first) == set(HALVES)
    assert 150 <= first.count("tuning") <= 250  # about half each
    assert user_half(" amz-U00001 ") == user_half("amz-U00001")
    assert [user_half(u, salt="other") for u in USERS] != first  # the salt decides the split


def test_halves_are_disjoint_cover_every_user_and_ignore_the_order() -> None:
    halves = split_halves(_split(USERS))
    ids = {h: [u.user_id for u in s.users] for h, s in halves.items()}
    assert set(ids) == {"tuning", "check"}
    assert not set(ids["tuning"]) & set(ids["check"])
    assert sorted(ids["tuning"] + ids["check"]) == sorted(USERS)
    for h, s in halves.items():  # targets stay with their users; the models are shared
        assert s.targets == [f"t-{u}" for u in ids[h]] and all(user_half(u) == h for u in ids[h])
    shuffled = random.Random(1).sample(USERS, len(USERS))
    again = split_halves(_split(shuffled))
    assert {h: set(u.user_id for u in s.users) for h, s in again.items()} == {h: set(v) for h, v in ids.items()}


class _PopToolkit:
    def __init__(self, pop: dict[str, float]) -> None:
        self.pop = pop

    def popularity_map(self) -> dict[str, float]:
        return self.pop


def _table(rng: random.Random, n: int = 30) -> SignalTable:
    ids = [f"p{k}" for k in range(n)]
    table = SignalTable()
    table.add("popularity", {i: rng.random() for i in ids})
    table.add("cf", {i: rng.random() * 5 for i in ids[: n // 2]})
    table.add("content", {i: rng.random() for i in ids[n // 3 :]})
    table.add("crew", {i: float(rng.randint(0, 3)) for i in ids[::3]})
    return table


def test_matrix_ranks_equal_the_fused_ranking_of_every_weight_row() -> None:
    rng = random.Random(7)
    tables = [_table(rng) for _ in range(12)]
    raw = [RawTurn(t, {}, [t.pool[rng.randrange(len(t.pool))]]) for t in tables]
    data = to_signals(_PopToolkit({}), raw, genres_hard=True)
    rows = ow.office_grid({"cf": (2.0,), "popularity": (0.0, 1.0, 6.0), "crew": (0.0, 2.0), "content": (0.0, 3.0)})
    ranks = ow.target_ranks(data, rows)
    assert ranks.shape == (12, 12)
    for j, row in enumerate(rows):
        w = ow.row_weights(row)
        for n, (t, r) in enumerate(zip(tables, raw, strict=True)):
            order = [c["item_id"] for c in fuse(t, w, k=len(t.pool))]
            assert ranks[n, j] == order.index(r.gold[0]) + 1


def _turn(scores: list[list[float]], target: int) -> TurnSignals:
    m = np.zeros((len(scores), len(SIGNALS)))
    for r, (cf, content) in enumerate(scores):
        m[r, SIGNALS.index("cf")], m[r, SIGNALS.index("content")] = cf, content
    return TurnSignals(m, np.zeros(len(scores)), [target])


#: Four users (cf, content of each pooled item; the target's row): with cf 2, content 1 alone finds three.
SYNTHETIC = [
    _turn([[1.0, 0.0], [0.9, 1.0], [0.5, 0.0]], 1),  # found once content >= 0.2 (cf 2)
    _turn([[1.0, 0.0], [0.7, 1.0]], 1),  # found once content > 0.6
    _turn([[1.0, 0.2], [0.2, 1.0]], 0),  # lost once content > 2
    _turn([[0.0, 0.0], [1.0, 0.0]], -1),  # not in the pool: a miss for every row
]


def test_the_tuner_chooses_the_best_tuning_row() -> None:
    grid = {"cf": (2.0,), "popularity": (0.0,), "crew": (0.0,), "content": (0.0, 0.5, 1.0, 4.0)}
    rows = ow.office_grid(grid)
    m = ow.rank_metrics(ow.target_ranks(SYNTHETIC, rows), k=1)
    assert m["recall@1"].tolist() == [0.25, 0.5, 0.75, 0.5]
    best = ow.choose(m, k=1)
    assert best == 2 and ow.row_weights(rows[best]).content == 1.0
    assert ow.row_weights(rows[best]).attr == DEFAULT_WEIGHTS.attr  # ungridded: the movie weights
    # equal recall: NDCG decides; equal both: the earlier row
    assert ow.choose({"recall@10": np.array([0.5, 0.5, 0.4]), "ndcg@10": np.array([0.2, 0.3, 0.9])}) == 1
    assert ow.choose({"recall@10": np.array([0.5, 0.5]), "ndcg@10": np.array([0.3, 0.3])}) == 0


def test_rank_metrics_are_recall_and_ndcg_at_k() -> None:
    ranks = np.array([[1.0], [3.0], [11.0], [np.inf]])
    m = ow.rank_metrics(ranks, k=10)
    assert m["recall@10"].tolist() == [0.5]
    assert m["ndcg@10"][0] == pytest.approx((1.0 + 1.0 / np.log2(4.0)) / 4)


def test_tune_collects_only_the_tuning_half(monkeypatch: pytest.MonkeyPatch) -> None:
    split = _split(USERS[:40])
    seen: list[str] = []

    def fake_collect(toolkit: Any, sub: OfficeSplit, advance: Any = None) -> list[TurnSignals]:
        seen.extend(h.user_id for h in sub.users)
        return [SYNTHETIC[n % 3] for n in range(len(sub.users))]

    monkeypatch.setattr(ow, "office_split", lambda *a, **kw: split)
    monkeypatch.setattr(ow, "leak_free_toolkit", lambda *a: contextlib.nullcontext((None, None)))
    monkeypatch.setattr(ow, "collect_users", fake_collect)
    out = ow.tune_office_weights(
        None,  # the data home is never read: the split and the toolkit are patched
        grid={"cf": (2.0,), "popularity": (0.0,), "crew": (0.0,), "content": (0.0, 1.0, 4.0)},
    )
    tuning = [u for u in USERS[:40] if user_half(u) == "tuning"]
    assert seen == tuning and out["users"] == {"tuning": len(tuning), "check": 40 - len(tuning)}
    assert out["chosen"]["content"] == 1.0 and out["tuned_on"] == "tuning" and out["combos"] == 3
    assert out["tuning"]["chosen"]["recall@10"] == 1.0
    assert office.HALVES == ("tuning", "check")
