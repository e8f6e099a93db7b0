"""Feature rows of the learned ranker: one row per candidate (and per re-mention) of a turn.

The learned ranker (``docs/ranking.md``) reorders the candidate pool of
:func:`~crsagent.graphs.ranking.collect_signals` and the re-mention candidates of
:func:`~crsagent.graphs.ranking.echo_candidates` in one list. Its features are the signals of
the fused ranking plus three it adds (:data:`EXTRA_SIGNALS`): ``seq`` (SASRec's next-item score
of the items mentioned so far), ``comention`` (co-mention with them in the tuning half's
dialogues) and ``itemsim`` (their MovieLens item-to-item similarity). Each signal enters
min-max normalised over the items it returned (as the fusion sees it; ``popularity`` and
``attr`` are on a fixed scale already); the signals with a
meaningful scale also enter raw. Re-mention rows carry only ``echo``, ``echo_rank``,
``popularity`` and the turn's context sizes; every other feature is 0 on them.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from crsagent.agent.errors import CrsAgentError

if TYPE_CHECKING:  # pragma: no cover
    from crsagent.graphs.ranking import SignalTable

__all__ = ["EXTRA_SIGNALS", "NORMALISED", "RAW", "FEATURES", "extra_signal_scores", "feature_rows", "normalised"]

#: Signals only the learned ranker uses (never fused by weight).
EXTRA_SIGNALS: tuple[str, ...] = ("seq", "comention", "itemsim")
#: Signals entered min-max normalised over the items they returned.
NORMALISED: tuple[str, ...] = (
    "vector",
    "cf",
    "intent",
    "popularity",
    "attr",
    "prior",
    "trans",
    "crew",
    "content",
    *EXTRA_SIGNALS,
)
#: Signals also entered raw (their scale carries evidence: a count, a share, a cosine).
RAW: tuple[str, ...] = ("vector", "cf", "trans", "crew", "content", "comention", "itemsim")
#: Every feature, in column order.
FEATURES: tuple[str, ...] = (
    *NORMALISED,
    *(f"{s}_raw" for s in RAW),
    "n_signals",
    "echo",
    "echo_rank",
    "n_context",
    "n_liked",
)


def normalised(scores: Mapping[str, float]) -> dict[str, float]:
    """Min-max normalised scores (all 1 when they are equal and positive, as the fusion does)."""
    if not scores:
        return {}
    vals = np.fromiter(scores.values(), dtype=np.float64, count=len(scores))
    vals = np.where(np.isfinite(vals), vals, np.nan)
    lo, hi = np.nanmin(vals), np.nanmax(vals)
    if not np.isfinite(lo):
        return {}
    if hi - lo < 1e-12:
        return {i: (1.0 if hi > 0 else 0.0) for i in scores}
    out = np.nan_to_num((vals - lo) / (hi - lo), nan=0.0)
    return dict(zip(scores, out.tolist(), strict=True))


def _top_of_array(
    scores: np.ndarray,
    ids: Sequence[str],
    index: Mapping[str, int],
    k: int,
    cand: Sequence[str] | None,
    excluded: Collection[str],
) -> dict[str, float]:
    if cand is None:
        order = np.argsort(-scores, kind="stable")[: k + len(excluded)]
        picked = [(ids[j], float(scores[j])) for j in order.tolist() if ids[j] not in excluded]
        return dict(picked[:k])
    rows = [index[i] for i in cand if i in index and i not in excluded]
    if not rows:
        return {}
    arr = np.asarray(rows)
    sub = scores[arr]
    top = np.argsort(-sub, kind="stable")[:k]
    return {ids[arr[t]]: float(sub[t]) for t in top.tolist()}


def extra_signal_scores(
    toolkit: Any,
    name: str,
    context: Sequence[str],
    profile: Sequence[str],
    k: int,
    cand: Sequence[str] | None,
    excluded: Collection[str],
) -> dict[str, float]:
    """One of :data:`EXTRA_SIGNALS` over the candidates (empty when its model is missing).

    Args:
        toolkit: the domain's tools (``seq``, ``prior``, ``itemsim`` handles).
        name: ``seq``, ``comention`` or ``itemsim``.
        context: every item mentioned so far, in order.
        profile: the context without disliked items (SASRec's sequence, the similarity sources).
        k: how many items to return.
        cand: the allowed items (None: every item).
        excluded: items never to return.

    Returns:
        Item id -> raw score, best first.
    """
    if not profile and name != "comention":
        return {}
    if name == "seq":
        seq = getattr(toolkit, "seq", None)
        if seq is None:
            return {}
        known = [i for i in profile if i in seq.index]
        if not known:
            return {}
        try:
            scores = seq.next_scores(known)
        except (CrsAgentError, ValueError, TypeError):
            return {}
        return _top_of_array(scores, seq.item_ids, {i: r - 1 for i, r in seq.index.items()}, k, cand, excluded)
    if name == "comention":
        prior = getattr(toolkit, "prior", None)
        if prior is None or not context or not hasattr(prior, "top_comentions"):
            return {}
        return prior.top_comentions(context, k, cand, excluded)
    if name == "itemsim":
        sim = getattr(toolkit, "itemsim", None)
        return {} if sim is None else sim.top_scores(profile, k, cand, excluded)
    raise ValueError(f"unknown extra signal {name!r}; use {EXTRA_SIGNALS}")


def feature_rows(
    table: SignalTable,
    echoes: Mapping[str, tuple[float, int]],
    popularity: Mapping[str, float],
    n_context: int,
    n_liked: int,
    features: Sequence[str] = FEATURES,
) -> tuple[list[str], np.ndarray, dict[str, dict[str, float]]]:
    """The feature matrix of a turn's pool and re-mentions.

    Args:
        table: the raw signals of the pool.
        echoes: re-mentioned item -> (its re-mention score 0-1, its recency rank, 0 = latest).
        popularity: item -> normalised popularity (the catalogue's).
        n_context: how many items the dialogue has mentioned.
        n_liked: how many items the user likes.
        features: the columns wanted (a trained model's list; a subset of :data:`FEATURES`).

    Returns:
        (row ids: the pool, then the re-mentions not in it; the matrix ``(rows, len(features))``;
        the normalised signals of each pool item, for explanations).
    """
    norm = {s: (v if s in ("attr", "popularity") else normalised(v)) for s, v in table.scores.items()}
    ids = list(table.pool) + [i for i in echoes if i not in set(table.pool)]
    row = {i: r for r, i in enumerate(ids)}
    m = np.zeros((len(ids), len(features)), dtype=np.float64)
    col = {f: c for c, f in enumerate(features)}
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
    if "n_signals" in col:
        m[:, col["n_signals"]] = present
    if "popularity" in col:
        for i in echoes:
            m[row[i], col["popularity"]] = popularity.get(i, 0.0)
    if "echo_rank" in col:
        m[:, col["echo_rank"]] = -1.0
    for i, (rate, rank) in echoes.items():
        if "echo" in col:
            m[row[i], col["echo"]] = rate
        if "echo_rank" in col:
            m[row[i], col["echo_rank"]] = rank
    if "n_context" in col:
        m[:, col["n_context"]] = n_context
    if "n_liked" in col:
        m[:, col["n_liked"]] = n_liked
    signals = {i: {s: round(float(vals.get(i, 0.0)), 6) for s, vals in norm.items()} for i in table.pool}
    return ids, m, signals
