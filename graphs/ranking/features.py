"""Feature rows of the learned ranker: one row per candidate (and per re-mention) of a turn.

The learned ranker (``docs/ranking.md``) reorders the candidate pool of
:func:`~crsagent.graphs.ranking.collect_signals` and the re-mention candidates of
:func:`~crsagent.graphs.ranking.remention_candidates` in one list. Its features are the signals of
the fused ranking plus three it adds (:data:`EXTRA_SIGNALS`): ``seq`` (SASRec's next-item score
of the items mentioned so far), ``comention`` (co-mention with them in the tuning half's
dialogues) and ``itemsim`` (their MovieLens item-to-item similarity). Each signal enters
min-max normalised over the items it returned (as the fusion sees it; ``popularity`` and
``attr`` are on a fixed scale already); the signals with a
meaningful scale also enter raw. Re-mention rows carry only ``remention``, ``remention_rank``,
``popularity`` and the turn's context sizes; every other feature is 0 on them.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from crsagent.agent.errors import CrsAgentError
from crsagent.graphs.ranking.seqcache import next_scores, rows_of

if TYPE_CHECKING:  # pragma: no cover
    from crsagent.graphs.ranking import SignalTable

__all__ = [
    "EXTRA_SIGNALS",
    "NORMALISED",
    "RAW",
    "FEATURES",
    "FORMER_NAMES",
    "current_name",
    "former_name",
    "extra_signal_scores",
    "feature_rows",
    "normalised",
]

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
    "remention",
    "remention_rank",
    "n_context",
    "n_liked",
)

#: Features renamed since a model could have been saved: former name -> name. Models built
#: before the rename list ``echo`` / ``echo_rank`` (re-mentions); they load unchanged.
FORMER_NAMES: dict[str, str] = {"echo": "remention", "echo_rank": "remention_rank"}
_FORMER_OF = {new: old for old, new in FORMER_NAMES.items()}


def current_name(feature: str) -> str:
    """A feature's name today (a model saved before a rename lists the former one)."""
    return FORMER_NAMES.get(feature, feature)


def former_name(feature: str) -> str:
    """A feature's name as artifacts built before the rename spell it (the build's input hash
    keeps that spelling, so the rename alone does not make a built ranker stale)."""
    return _FORMER_OF.get(feature, feature)


def normalised(scores: Mapping[str, float]) -> dict[str, float]:
    """Min-max normalised scores (all 1 when they are equal and positive, as the fusion does)."""
    if not scores:
        return {}
    out = _normalised_array(np.fromiter(scores.values(), dtype=np.float64, count=len(scores)))
    return {} if out is None else dict(zip(scores, out.tolist(), strict=True))


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
    # index is one-to-one, so dropping the excluded items' rows drops the excluded items; the
    # candidates rarely hold an unknown or excluded item, so the C-level checks usually suffice
    rows: list[Any] = list(map(index.get, cand))
    if None in rows:
        rows = [r for r in rows if r is not None]
    gone = {index[i] for i in excluded if i in index} if excluded else set()
    if gone and not gone.isdisjoint(rows):
        rows = [r for r in rows if r not in gone]
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
            scores = next_scores(seq, known)
        except (CrsAgentError, ValueError, TypeError):
            return {}
        return _top_of_array(scores, seq.item_ids, rows_of(seq), k, cand, excluded)
    if name == "comention":
        prior = getattr(toolkit, "prior", None)
        if prior is None or not context or not hasattr(prior, "top_comentions"):
            return {}
        return prior.top_comentions(context, k, cand, excluded)
    if name == "itemsim":
        sim = getattr(toolkit, "itemsim", None)
        return {} if sim is None else sim.top_scores(profile, k, cand, excluded)
    raise ValueError(f"unknown extra signal {name!r}; use {EXTRA_SIGNALS}")


class _Explanations(Mapping[str, dict[str, float]]):
    """The normalised signals of each pool item (rounded), computed only for the items asked for:
    a ranking explains its top ``k`` of a pool of hundreds."""

    def __init__(self, pool: Sequence[str], norm: Mapping[str, Mapping[str, float]]) -> None:
        self._pool, self._members, self._norm = pool, frozenset(pool), norm

    def __getitem__(self, item: str) -> dict[str, float]:
        if item not in self._members:
            raise KeyError(item)
        return {s: round(float(vals.get(item, 0.0)), 6) for s, vals in self._norm.items()}

    def __iter__(self) -> Iterator[str]:
        return iter(self._pool)

    def __len__(self) -> int:
        return len(self._members)


def _normalised_array(vals: np.ndarray) -> np.ndarray | None:
    """:func:`normalised` on an array (the same operations, so the same floats); None when no
    value is finite."""
    vals = np.where(np.isfinite(vals), vals, np.nan)
    lo, hi = np.nanmin(vals), np.nanmax(vals)
    if not np.isfinite(lo):
        return None
    if hi - lo < 1e-12:
        return np.full(vals.shape, 1.0 if hi > 0 else 0.0)
    return np.nan_to_num((vals - lo) / (hi - lo), nan=0.0)


def feature_rows(
    table: SignalTable,
    rementions: Mapping[str, tuple[float, int]],
    popularity: Mapping[str, float],
    n_context: int,
    n_liked: int,
    features: Sequence[str] = FEATURES,
) -> tuple[list[str], np.ndarray, Mapping[str, dict[str, float]]]:
    """The feature matrix of a turn's pool and re-mentions (assembled column by column with numpy).

    Args:
        table: the raw signals of the pool.
        rementions: re-mentioned item -> (its re-mention score 0-1, its recency rank, 0 = latest).
        popularity: item -> normalised popularity (the catalogue's).
        n_context: how many items the dialogue has mentioned.
        n_liked: how many items the user likes.
        features: the columns wanted (a trained model's list; a subset of :data:`FEATURES`).

    Returns:
        (row ids: the pool, then the re-mentions not in it; the matrix ``(rows, len(features))``;
        the normalised signals of each pool item, for explanations: a read-only mapping that
        rounds an item's signals when it is looked up).
    """
    pool_set = set(table.pool)
    ids = list(table.pool) + [i for i in rementions if i not in pool_set]
    row = {i: r for r, i in enumerate(ids)}
    m = np.zeros((len(ids), len(features)), dtype=np.float64)
    col = {f: c for c, f in enumerate(features)}
    present = np.zeros(len(ids))
    norm: dict[str, Mapping[str, float]] = {}
    for s, raw in table.scores.items():
        if not raw:
            norm[s] = {}
            continue
        keys = list(raw)
        raw_arr = np.fromiter(raw.values(), dtype=np.float64, count=len(keys))
        fixed = s in ("attr", "popularity")
        norm_arr = raw_arr if fixed else _normalised_array(raw_arr)
        if norm_arr is None:
            norm[s] = {}
            continue
        norm[s] = raw if fixed else dict(zip(keys, norm_arr.tolist(), strict=True))
        found = list(map(row.get, keys))
        if None in found:  # a scored item outside the pool (never from collect_signals)
            keep = np.array([r is not None for r in found])
            found = [r for r in found if r is not None]
            raw_arr, norm_arr = raw_arr[keep], norm_arr[keep]
        rows = np.array(found, dtype=np.int64)
        if not fixed:
            present[rows] += 1
        c, c_raw = col.get(s), col.get(f"{s}_raw")
        if c is not None:
            m[rows, c] = norm_arr
        if c_raw is not None:
            m[rows, c_raw] = raw_arr
    if "n_signals" in col:
        m[:, col["n_signals"]] = present
    if "popularity" in col:
        for i in rementions:
            m[row[i], col["popularity"]] = popularity.get(i, 0.0)
    if "remention_rank" in col:
        m[:, col["remention_rank"]] = -1.0
    for i, (rate, rank) in rementions.items():
        if "remention" in col:
            m[row[i], col["remention"]] = rate
        if "remention_rank" in col:
            m[row[i], col["remention_rank"]] = rank
    if "n_context" in col:
        m[:, col["n_context"]] = n_context
    if "n_liked" in col:
        m[:, col["n_liked"]] = n_liked
    return ids, m, _Explanations(table.pool, norm)
