"""The learned ranker's fast paths give the results of the plain loops they replaced.

``feature_rows`` assembles its matrix with numpy and rounds explanations on demand,
``_top_rows`` orders only the rows that can win, ``_top_of_array`` drops excluded rows by row
number, and SASRec scores are remembered per context: each is compared here with a direct
reimplementation of the former code on random tables, ties and non-finite scores included.
"""

from __future__ import annotations

import heapq
import random
from typing import Any

import numpy as np
import pytest

from crsagent.graphs.ranking import SignalTable
from crsagent.graphs.ranking.features import FEATURES, _top_of_array, feature_rows, normalised
from crsagent.graphs.ranking.learned import _top_rows
from crsagent.graphs.ranking.seqcache import SEQ_CACHE
from crsagent.graphs.ranking.seqcache import next_scores as _next_scores

pytestmark = pytest.mark.filterwarnings("ignore:All-NaN slice:RuntimeWarning")  # the non-finite tables


def _reference_rows(
    table: SignalTable, rementions: dict[str, tuple[float, int]], pop: dict[str, float], n_ctx: int, n_liked: int
) -> tuple[list[str], np.ndarray, dict[str, dict[str, float]]]:
    """The loop-by-item assembly ``feature_rows`` had before it was vectorised."""
    norm = {s: (v if s in ("attr", "popularity") else normalised(v)) for s, v in table.scores.items()}
    ids = list(table.pool) + [i for i in rementions if i not in set(table.pool)]
    row = {i: r for r, i in enumerate(ids)}
    m = np.zeros((len(ids), len(FEATURES)))
    col = {f: c for c, f in enumerate(FEATURES)}
    present = np.zeros(len(ids))
    for s, vals in norm.items():
        raw = table.scores.get(s, {})
        c, c_raw = col.get(s), col.get(f"{s}_raw")
        for i, v in vals.items():
            r = row.get(i)
            if r is None:
                continue
            present[r] += s not in ("popularity", "attr")
            if c is not None:
                m[r, c] = v
            if c_raw is not None:
                m[r, c_raw] = raw.get(i, 0.0)
    m[:, col["n_signals"]] = present
    for i in rementions:
        m[row[i], col["popularity"]] = pop.get(i, 0.0)
    m[:, col["remention_rank"]] = -1.0
    for i, (rate, rank) in rementions.items():
        m[row[i], col["remention"]], m[row[i], col["remention_rank"]] = rate, rank
    m[:, col["n_context"]], m[:, col["n_liked"]] = n_ctx, n_liked
    signals = {i: {s: round(float(vals.get(i, 0.0)), 6) for s, vals in norm.items()} for i in table.pool}
    return ids, m, signals


def _random_table(rng: random.Random) -> SignalTable:
    items = [f"i{n}" for n in range(rng.randint(1, 60))]
    table = SignalTable()
    for s in ("vector", "cf", "trans", "crew", "comention", "popularity", "attr", "seq"):
        chosen = rng.sample(items, rng.randint(0, len(items)))
        pick = rng.random()
        if pick < 0.15:  # all equal (min-max gives all 1 or all 0)
            table.add(s, dict.fromkeys(chosen, rng.choice([0.0, 0.4])))
        elif pick < 0.25:  # some non-finite values
            table.add(s, {i: rng.choice([float("nan"), float("inf"), rng.random()]) for i in chosen})
        else:
            table.add(s, {i: round(rng.uniform(-1, 3), rng.choice([1, 6])) for i in chosen})
    table.scores["ghost"] = {"not-pooled": 1.0}  # a scored item outside the pool is ignored
    return table


@pytest.mark.parametrize("seed", range(40))
def test_vectorised_feature_rows_equal_the_item_loop(seed: int) -> None:
    rng = random.Random(seed)
    table = _random_table(rng)
    rementions = {f"e{n}": (rng.random(), n) for n in range(rng.randint(0, 3))}
    if table.pool and rng.random() < 0.5:
        rementions[table.pool[0]] = (0.9, 5)  # a re-mention that is also pooled
    pop = {i: rng.random() for i in [*table.pool, *rementions]}
    ids, m, signals = feature_rows(table, rementions, pop, 3, 1)
    ref_ids, ref_m, ref_signals = _reference_rows(table, rementions, pop, 3, 1)
    assert ids == ref_ids
    np.testing.assert_array_equal(m, ref_m)  # bit-identical, NaN where the raw score is NaN
    assert repr(dict(signals)) == repr(ref_signals)  # repr: a NaN (fixed-scale signal) equals a NaN
    assert len(signals) == len(ref_signals)
    with pytest.raises(KeyError):
        signals["not-pooled"]


@pytest.mark.parametrize("seed", range(40))
def test_top_rows_equal_a_full_sort(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 400))
    ids = [f"x{j:03d}" for j in rng.permutation(n)]
    scores = np.round(rng.normal(size=n), int(rng.integers(1, 4)))  # many ties at few decimals
    scores[rng.integers(0, n, size=n // 5)] += 1e-10  # ties only after rounding to 9 places
    pop = {i: float(rng.choice([0.0, 0.5, 1.0])) for i in ids}
    k = int(rng.integers(0, n + 5))
    keyed = [(-round(float(s), 9), -pop.get(i, 0.0), i, float(s)) for i, s in zip(ids, scores.tolist(), strict=True)]
    expected = [(i, s) for _, _, i, s in heapq.nsmallest(k, keyed)]
    assert [(ids[r], s) for r, s in _top_rows(ids, scores, pop, k)] == expected


@pytest.mark.parametrize("seed", range(20))
def test_top_of_array_drops_excluded_rows_as_the_id_filter_did(seed: int) -> None:
    rng = random.Random(seed)
    ids = [f"m{j}" for j in range(50)]
    index = {i: j for j, i in enumerate(ids)}
    scores = np.array([rng.choice([0.1, 0.2, rng.random()]) for _ in ids], dtype=np.float32)
    cand = rng.sample([*ids, "unknown"], rng.randint(0, 51))
    excluded = set(rng.sample(ids, rng.randint(0, 10)))
    k = rng.randint(1, 60)
    rows = [index[i] for i in cand if i in index and i not in excluded]
    sub = scores[np.asarray(rows, dtype=np.int64)]
    top = np.argsort(-sub, kind="stable")[:k]
    expected = {ids[rows[t]]: float(sub[t]) for t in top.tolist()}
    got = _top_of_array(scores, ids, index, k, cand, excluded)
    assert got == expected and list(got) == list(expected)


class _Seq:
    def __init__(self) -> None:
        self.calls = 0

    def next_scores(self, known: list[str]) -> np.ndarray:
        self.calls += 1
        return np.arange(3, dtype=np.float32) * len(known)


def test_sasrec_scores_are_remembered_per_context_and_read_only() -> None:
    seq = _Seq()
    a = _next_scores(seq, ["x", "y"])
    b = _next_scores(seq, ["x", "y"])
    assert seq.calls == 1 and np.array_equal(a, b) and not a.flags.writeable
    assert _next_scores(seq, ["y", "x"]).tolist() == [0.0, 2.0, 4.0] and seq.calls == 2  # order matters
    for n in range(SEQ_CACHE + 1):  # the oldest context falls out
        _next_scores(seq, [str(n)])
    _next_scores(seq, ["x", "y"])
    assert seq.calls == 2 + SEQ_CACHE + 1 + 1
    other = _Seq()
    _next_scores(other, ["x", "y"])
    assert other.calls == 1  # one cache per model


def test_a_model_that_cannot_be_weakly_referenced_is_not_cached() -> None:
    class Slotted:
        __slots__ = ("calls",)

        def __init__(self) -> None:
            self.calls = 0

        def next_scores(self, known: list[str]) -> Any:
            self.calls += 1
            return np.ones(2)

    seq = Slotted()
    _next_scores(seq, ["a"])
    _next_scores(seq, ["a"])
    assert seq.calls == 2
