"""Tuning the office fusion weights on the ``tuning`` half of the held-out office users.

The evidence behind :data:`~crsagent.graphs.ranking.OFFICE_WEIGHTS`. The protocol is
``crsagent eval office``'s (:mod:`crsagent.evals.office`): each Amazon office user's next item
is held out, CF and SASRec are refitted without the targets and popularity is recounted from
the training histories. Only the users of the ``tuning`` half (:func:`~crsagent.evals.office.user_half`)
are collected; the ``check`` half is counted, never scored, so nothing chooses on it.

For each tuning user the signals of a belief that likes the user's history are collected once
(:func:`~crsagent.graphs.ranking.collect_signals`, as :func:`~crsagent.graphs.ranking.rank_candidates`
collects them), turned into a normalised signal matrix
(:func:`~crsagent.evals.tuning.weights.to_signals`, the movie tuner's), and every row of a weight
grid is scored at once by matrix products: the rank of the held-out item in each fused ranking
(ties by popularity, as :func:`~crsagent.graphs.ranking.fuse`). The office histories carry no
text, genres or brands, so only ``cf``, ``popularity``, ``crew`` and ``content`` have scores;
the grid covers those and keeps the other weights at the movie values. A fused ranking does not
change when every weight is multiplied by one number, so ``cf`` stays at the movie value (2)
and the other three are gridded relative to it. The chosen row has the highest Recall@10 on
``tuning`` (ties: NDCG@10, then the earlier grid row).

The grid's figures are those of the fused score over the pool of every collected signal; the
shipped ranking leaves a signal with weight 0 uncollected, so its items may leave the pool.
``crsagent eval office`` measures the real ranking (both halves).

Run: ``crsagent eval tune office-weights --json out/office-weights.json``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from crsagent.agent.settings import Settings
from crsagent.evals.office import OfficeSplit, history_belief, leak_free_toolkit, office_split, split_halves
from crsagent.evals.tuning.weights import RawTurn, TurnSignals, grid_weights, to_signals
from crsagent.graphs.ranking import DEFAULT_WEIGHTS, POOL, SIGNALS, FusionWeights, collect_signals, skipped_signals

__all__ = [
    "OFFICE_GRID",
    "TUNED_SIGNALS",
    "K",
    "office_grid",
    "collect_users",
    "target_ranks",
    "rank_metrics",
    "choose",
    "row_weights",
    "tune_office_weights",
]

K = 10
#: The signals an office history scores (the grid's free columns).
TUNED_SIGNALS: tuple[str, ...] = ("cf", "popularity", "crew", "content")
#: The weights searched; ``cf`` fixed at the movie value (a common factor does not change a ranking).
OFFICE_GRID: dict[str, tuple[float, ...]] = {
    "cf": (2.0,),
    "popularity": (0.0, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 6.0),
    "crew": (0.0, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0),
    "content": (0.0, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 4.0),
}
#: ``(done)`` callback of the collection loop (a progress bar's advance).
Advance = Callable[[int], None]


def office_grid(grid: Mapping[str, Sequence[float]] = OFFICE_GRID, base: FusionWeights = DEFAULT_WEIGHTS) -> np.ndarray:
    """Weight rows ``(combos, len(SIGNALS))``: the grid's signals gridded, the others at ``base``."""
    fixed = base.as_dict()
    full = {s: tuple(grid[s]) if s in grid else (float(fixed.get(s, 0.0)),) for s in SIGNALS}
    return grid_weights(full, SIGNALS)


def collect_users(toolkit: Any, split: OfficeSplit, advance: Advance | None = None) -> list[TurnSignals]:
    """Each user's signal matrix (one row per pooled item) and the held-out item's row.

    Args:
        toolkit: the leak-free office toolkit (:func:`~crsagent.evals.office.leak_free_toolkit`).
        split: the users and targets to collect.
        advance: called with 1 after each user.

    Returns:
        One :class:`~crsagent.evals.tuning.weights.TurnSignals` a user (``targets``: one row,
        -1 when the held-out item is not in the pool).
    """
    skip = skipped_signals(DEFAULT_WEIGHTS)  # every signal with a movie weight is collected
    raw = []
    for h, target in zip(split.users, split.targets, strict=True):
        belief = history_belief(h.items)
        table = collect_signals(
            toolkit,
            belief,
            "",
            pool=POOL,
            genres_hard=DEFAULT_WEIGHTS.genre_filter,
            people_hard=DEFAULT_WEIGHTS.people_filter,
            skip=skip,
        )
        raw.append(RawTurn(table, belief, [target]))
        if advance is not None:
            advance(1)
    return to_signals(toolkit, raw, genres_hard=DEFAULT_WEIGHTS.genre_filter)


def target_ranks(data: Sequence[TurnSignals], weights: np.ndarray) -> np.ndarray:
    """The rank of every target under every weight row: ``(samples, combos)``, inf when not pooled.

    Ties at the target's score count against it when the tied item is more popular (as
    :func:`~crsagent.graphs.ranking.fuse` breaks them), as in
    :func:`~crsagent.evals.tuning.weights.evaluate`.
    """
    out = np.full((sum(len(t.targets) for t in data), weights.shape[0]), np.inf)
    n = 0
    for t in data:
        scores = t.matrix @ weights.T if t.matrix.shape[0] else None
        for r in t.targets:
            if r >= 0 and scores is not None:
                s = scores[r]
                better = (scores > s + 1e-12).sum(axis=0)
                ties = ((np.abs(scores - s) <= 1e-12) & (t.popularity[:, None] > t.popularity[r])).sum(axis=0)
                out[n] = 1 + better + ties
            n += 1
    return out


def rank_metrics(ranks: np.ndarray, k: int = K) -> dict[str, np.ndarray]:
    """Recall@k and NDCG@k (one target a user) of each column of :func:`target_ranks`."""
    hit = ranks <= k
    gain = np.where(hit, 1.0 / np.log2(np.where(hit, ranks, 1.0) + 1.0), 0.0)
    n = max(ranks.shape[0], 1)
    return {f"recall@{k}": hit.sum(axis=0) / n, f"ndcg@{k}": gain.sum(axis=0) / n}


def choose(metrics: Mapping[str, np.ndarray], k: int = K) -> int:
    """The chosen row: highest Recall@k, then NDCG@k, then the earliest row."""
    recall, ndcg = metrics[f"recall@{k}"], metrics[f"ndcg@{k}"]
    order = np.lexsort((np.arange(len(recall)), -ndcg, -recall))
    return int(order[0])


def row_weights(row: np.ndarray, base: FusionWeights = DEFAULT_WEIGHTS) -> FusionWeights:
    """A grid row as :class:`~crsagent.graphs.ranking.FusionWeights` (flags from ``base``)."""
    import dataclasses

    values: dict[str, Any] = {s: float(v) for s, v in zip(SIGNALS, row.tolist(), strict=True)}
    return dataclasses.replace(base, **values)


def _rounded(metrics: Mapping[str, np.ndarray], i: int) -> dict[str, float]:
    return {key: round(float(v[i]), 4) for key, v in metrics.items()}


def tune_office_weights(
    settings: Settings,
    *,
    grid: Mapping[str, Sequence[float]] = OFFICE_GRID,
    users: int | None = None,
    seed: int = 0,
    progress: Callable[[str, int | None], Advance] | None = None,
    log: Callable[[str], None] = lambda msg: None,
) -> dict[str, Any]:
    """Collect the ``tuning`` half once, score the grid, choose (module docstring).

    Args:
        settings: the data home with a built office domain (read only).
        grid: the weights searched (signals not in it stay at the movie weights).
        users: a seeded sample of this many users before the halves (None: all).
        seed: the sample's seed.
        progress: ``start(description, total) -> advance(n)`` for the collection loop.
        log: progress messages.

    Returns:
        The report: ``chosen`` (the weights), ``tuning`` figures of the chosen row, the movie
        weights and each signal alone, the ten best rows, and the users of each half (the
        ``check`` half counted only).
    """
    t0 = time.time()
    split = office_split(settings, users=users, seed=seed, refit=True)
    halves = split_halves(split)
    tune = halves["tuning"]
    log(f"office weights: {len(split.users)} users, tuning {len(tune.users)}, check {len(halves['check'].users)}")
    with leak_free_toolkit(settings, split) as (_, toolkit):
        advance = progress("collect tuning users", len(tune.users)) if progress else None
        data = collect_users(toolkit, tune, advance)
    rows = office_grid(grid)
    metrics = rank_metrics(target_ranks(data, rows))
    best = choose(metrics)
    chosen = row_weights(rows[best])
    movie = np.array([[DEFAULT_WEIGHTS.as_dict()[s] for s in SIGNALS]])
    top = np.lexsort((np.arange(len(rows)), -metrics[f"ndcg@{K}"], -metrics[f"recall@{K}"]))[:10]
    single = {s: rank_metrics(target_ranks(data, np.eye(len(SIGNALS))[j : j + 1])) for j, s in enumerate(SIGNALS)}

    def named(row: np.ndarray) -> dict[str, float]:
        return {s: float(v) for s, v in zip(SIGNALS, row.tolist(), strict=True) if s in TUNED_SIGNALS}

    return {
        "tuned_on": "tuning",
        "users": {half: len(sub.users) for half, sub in halves.items()},
        "k": K,
        "grid": {s: list(v) for s, v in grid.items()},
        "combos": int(rows.shape[0]),
        "in_pool": round(float(np.mean([t.targets[0] >= 0 for t in data])) if data else 0.0, 4),
        "chosen": chosen.as_dict(),
        "tuning": {
            "chosen": _rounded(metrics, best),
            "movie_weights": _rounded(rank_metrics(target_ranks(data, movie)), 0),
            "single_signal": {s: _rounded(m, 0) for s, m in single.items() if s in TUNED_SIGNALS},
            "top10": [{"weights": named(rows[i]), **_rounded(metrics, int(i))} for i in top],
        },
        "seconds": round(time.time() - t0, 1),
    }
