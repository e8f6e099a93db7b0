"""Collaborative filtering: implicit ALS with least-squares fold-in for anonymous sessions.

Conversational users are anonymous, so a session is *folded in*: its liked items (confidence
``alpha``, preference 1) and disliked items (confidence ``alpha * dislike_confidence``,
preference 0) give one least-squares solve against the fixed item factors, the same solve
ALS uses for a user row. Disliked items additionally subtract a penalty proportional to an
item's similarity to them. Liked items are given oldest first; with ``recency_boost`` > 0 the
most recent ones get more confidence (:func:`recency_weights`), because the next item a user
wants follows their latest likes more than their oldest ones.

Items without interactions get *imputed* factors: the similarity-weighted mean of the factors
of their ``cold_neighbours`` nearest items with interactions in content space, shrunk by
``cold_shrink`` (they are less certain). Everything is then scored the same way, so a cold item
can be liked, recommended and have neighbours. Without content vectors a cold item has zero
factors and ranks by popularity. With no liked items at all (cold start) the ranking is
popularity (interaction counts, ties broken by the catalogue's popularity).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from operator import itemgetter
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from crsagent.agent.errors import DataError, UnknownItemError
from crsagent.tools.catalog.schema import ScoredItem
from crsagent.tools.cf.content import normalise_rows

__all__ = ["CFModel", "CFParams", "NeighbourPairs", "top_k", "impute_cold_factors", "recency_weights"]

FORMAT_VERSION = 1
_NO_ITEMS = np.zeros(0, np.int64)  # fold_in's default: no disliked items (never written to)


class CFParams(dict):
    """Hyper-parameters of :class:`CFModel` (a dict with defaults; JSON-able)."""

    DEFAULTS = {
        "factors": 64,
        "regularization": 0.1,
        "alpha": 10.0,
        "iterations": 15,
        "seed": 0,
        "dislike_confidence": 1.0,
        "dislike_penalty": 0.5,
        "cold_neighbours": 10,
        "cold_shrink": 0.5,
        "neighbour_shrink": 5.0,
        "recency_boost": 0.0,
        "recency_tau": 2.0,
    }

    def __init__(self, **kw: float) -> None:
        unknown = set(kw) - set(self.DEFAULTS)
        if unknown:
            raise ValueError(f"unknown CF parameter(s): {sorted(unknown)}")
        super().__init__({**self.DEFAULTS, **kw})


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` highest finite scores, best first."""
    finite = np.isfinite(scores)
    k = int(min(k, finite.sum()))
    if k <= 0:
        return np.zeros(0, dtype=np.int64)
    idx = np.argpartition(-scores, k - 1)[:k] if k < scores.size else np.arange(scores.size)
    idx = idx[np.isfinite(scores[idx])]
    return idx[np.argsort(-scores[idx], kind="stable")][:k]


def recency_weights(n: int, boost: float, tau: float) -> np.ndarray:
    """Confidence multipliers of ``n`` liked items, oldest first: ``1 + boost * exp(-age / tau)``.

    ``age`` counts items back from the most recent one (0 = newest), so with ``boost`` 0 every
    item weighs 1 and the fold-in is plain ALS.
    """
    age = np.arange(n - 1, -1, -1, dtype=np.float32)
    if boost <= 0 or n == 0:
        return np.ones(n, dtype=np.float32)
    return (1.0 + boost * np.exp(-age / max(tau, 1e-6))).astype(np.float32)


def impute_cold_factors(
    factors: np.ndarray, warm: np.ndarray, content: np.ndarray, k: int = 10, shrink: float = 0.5, chunk: int = 2048
) -> np.ndarray:
    """Factors for items without interactions from their content neighbours.

    Each cold item with a content vector gets ``shrink`` times the similarity-weighted mean of
    the factors of its ``k`` most content-similar warm items (positive similarities only);
    cold items without content get zeros.

    Args:
        factors: ``(n, f)`` trained factors (cold rows are overwritten).
        warm: boolean mask of items with interactions.
        content: ``(n, d)`` unit-normalised content vectors (zero rows: no content).
        k: neighbours per cold item.
        shrink: factor in (0, 1] for the imputed vectors.
        chunk: cold items per matrix product (bounds memory).
    """
    out = np.array(factors, dtype=np.float32, copy=True)
    cold, hot = np.flatnonzero(~warm), np.flatnonzero(warm)
    out[cold] = 0.0
    if cold.size == 0 or hot.size == 0:
        return out
    k = min(k, hot.size)
    c_hot, f_hot = content[hot], out[hot]
    for s in range(0, cold.size, chunk):
        rows = cold[s : s + chunk]
        sims = content[rows] @ c_hot.T  # (r, n_hot)
        nn = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        w = np.maximum(np.take_along_axis(sims, nn, axis=1), 0.0)
        norm = w.sum(axis=1, keepdims=True)
        mean = np.einsum("rk,rkf->rf", w, f_hot[nn]) / np.maximum(norm, 1e-9)
        out[rows] = np.where(norm > 0, shrink * mean, 0.0)
    return out


class CFModel:
    """An ALS item-factor model over a fixed item universe (the catalogue).

    Args:
        item_ids: the item universe, in index order.
        item_factors: ``(n_items, factors)``; rows of items without interactions hold imputed
            factors (see :func:`impute_cold_factors`) or zeros.
        counts: interactions per item in the training data (0 = cold item).
        params: hyper-parameters (:class:`CFParams`).
        content: unit-normalised content vectors ``(n_items, d)`` or None.
        prior: catalogue popularity used to order items with equal counts, or None.
        titles: item id -> display title, for results.
    """

    def __init__(
        self,
        item_ids: Sequence[str],
        item_factors: np.ndarray,
        counts: np.ndarray,
        params: CFParams | dict | None = None,
        content: np.ndarray | None = None,
        prior: np.ndarray | None = None,
        titles: dict[str, str] | None = None,
    ) -> None:
        self.item_ids = list(item_ids)
        self.index = {i: k for k, i in enumerate(self.item_ids)}
        if len(self.index) != len(self.item_ids):
            raise DataError("duplicate item ids in the CF item universe")
        self.params = CFParams(**(params or {}))
        self.factors = np.ascontiguousarray(item_factors, dtype=np.float32)
        self.counts = np.asarray(counts, dtype=np.float32)
        self.warm = self.counts > 0
        # stored as float16; round here too so a loaded model scores exactly like this one
        self.content = None if content is None else np.asarray(content, np.float16).astype(np.float32)
        self.prior = np.zeros(len(self.item_ids), np.float32) if prior is None else np.asarray(prior, np.float32)
        self.titles = dict(titles or {})
        lam = float(self.params["regularization"])
        warm_f = self.factors[self.warm]
        self._gram = warm_f.T @ warm_f + lam * np.eye(self.factors.shape[1], dtype=np.float32)
        self._unit = normalise_rows(self.factors)
        beta = float(self.params["neighbour_shrink"])
        self._confidence = ((self.counts + 1.0) / (self.counts + 1.0 + beta)).astype(np.float32)
        self._neighbours: dict[tuple[str, int], list[tuple[str, float]]] = {}  # explanations ask again and again
        self._dislike_rows: dict[int, np.ndarray] = {}  # similarity rows of disliked items
        # popularity in [0, 1): counts first, catalogue prior as a tie-break
        pop = np.log1p(self.counts) + 1e-3 * np.log1p(np.maximum(self.prior, 0))
        self.popularity = (pop / (pop.max() + 1e-9)).astype(np.float32)

    # -- training ----------------------------------------------------------------------
    @classmethod
    def fit(
        cls,
        matrix: sp.csr_matrix,
        item_ids: Sequence[str],
        params: CFParams | dict | None = None,
        content: np.ndarray | None = None,
        prior: np.ndarray | None = None,
        titles: dict[str, str] | None = None,
        on_iteration: Callable[[int], None] | None = None,
    ) -> CFModel:
        """Train ALS on a binary users x items matrix (columns follow ``item_ids``)."""
        from implicit.cpu.als import AlternatingLeastSquares
        from threadpoolctl import threadpool_limits

        p = CFParams(**(params or {}))
        if matrix.shape[1] != len(item_ids):
            raise DataError(f"matrix has {matrix.shape[1]} columns for {len(item_ids)} items")
        with threadpool_limits(1, "blas"):
            als = AlternatingLeastSquares(
                factors=int(p["factors"]),
                regularization=float(p["regularization"]),
                alpha=float(p["alpha"]),
                iterations=int(p["iterations"]),
                random_state=int(p["seed"]),
                num_threads=1,  # deterministic result; fast enough for these sizes
            )
            als.fit(
                sp.csr_matrix(matrix, dtype=np.float32),
                show_progress=False,
                callback=(lambda it, *_: on_iteration(1)) if on_iteration else None,
            )
        counts = np.asarray((matrix > 0).sum(axis=0)).ravel()
        factors = np.asarray(als.item_factors, dtype=np.float32)
        if content is not None:
            factors = impute_cold_factors(
                factors, counts > 0, content, int(p["cold_neighbours"]), float(p["cold_shrink"])
            )
        else:
            factors[counts == 0] = 0.0
        return cls(item_ids, factors, counts, p, content, prior, titles)

    # -- lookup ------------------------------------------------------------------------
    def __contains__(self, item_id: object) -> bool:
        return item_id in self.index

    def indices(self, ids: Sequence[str], strict: bool = True) -> np.ndarray:
        """Row indices of ids; unknown ids raise :class:`UnknownItemError` (or are dropped)."""
        if isinstance(ids, str):
            ids = [ids]
        if not ids:
            return np.zeros(0, dtype=np.int64)
        try:  # the common case, every id known: one C-level lookup of all of them
            got = itemgetter(*ids)(self.index)
            return np.array(got if len(ids) > 1 else [got], dtype=np.int64)
        except KeyError:
            pass
        unknown = [i for i in ids if i not in self.index]
        if strict:
            raise UnknownItemError(unknown)
        return np.array([self.index[i] for i in ids if i in self.index], dtype=np.int64)

    # -- scoring -----------------------------------------------------------------------
    def fold_in(self, liked: np.ndarray, disliked: np.ndarray = _NO_ITEMS) -> np.ndarray:
        """The least-squares user vector of a session (zeros when no liked item has factors).

        Args:
            liked: liked item indices, oldest first (recent ones weigh more, see
                :func:`recency_weights`).
            disliked: disliked item indices.
        """
        if liked.size == 0:
            return np.zeros(self.factors.shape[1], dtype=np.float32)
        alpha = float(self.params["alpha"])
        c_dis = alpha * float(self.params["dislike_confidence"])
        conf = alpha * recency_weights(
            liked.size, float(self.params["recency_boost"]), float(self.params["recency_tau"])
        )
        y_l, y_d = self.factors[liked], self.factors[disliked]
        a = self._gram + ((conf - 1.0)[:, None] * y_l).T @ y_l
        if disliked.size:
            a += (c_dis - 1.0) * (y_d.T @ y_d)
        b = conf @ y_l
        return np.linalg.solve(a, b).astype(np.float32)

    def _similarity(self, idx: np.ndarray) -> np.ndarray:
        """Max similarity of every item to the items ``idx`` (factor cosine, and content cosine).

        Each item's row is cached: a disliked item stays disliked for the rest of a dialogue,
        so later turns reuse it."""
        return np.max(np.stack([self._similarity_to(int(i)) for i in idx]), axis=0)

    def _similarity_to(self, i: int) -> np.ndarray:
        hit = self._dislike_rows.get(i)
        if hit is not None:
            return hit
        sim = self._unit @ self._unit[i]
        if self.content is not None:
            sim = np.maximum(sim, self.content @ self.content[i])
        if len(self._dislike_rows) >= 256:
            try:  # a lost eviction race between threads only leaves the cache larger
                self._dislike_rows.pop(next(iter(self._dislike_rows)), None)
            except (RuntimeError, StopIteration):
                pass
        self._dislike_rows[i] = sim
        return sim

    def scores_all(self, liked: Sequence[str], disliked: Sequence[str] = ()) -> np.ndarray:
        """Scores of every item for a session (higher is better), aligned with ``item_ids``.

        ``liked`` is oldest first; an item liked twice counts once, at its latest position.
        """
        li, di = self.indices(list(liked)), self.indices(list(disliked))
        li = np.array(list(dict.fromkeys(li[::-1].tolist()))[::-1], dtype=np.int64)
        scores = self.popularity.copy()
        ref = 1.0
        if li.size:
            cf = self.factors @ self.fold_in(li, di)
            top = float(cf.max())
            if top > 0:  # otherwise no liked item has factors: popularity
                ref = top
                scores = cf + 1e-4 * ref * self.popularity
        if di.size:
            scores = scores - float(self.params["dislike_penalty"]) * ref * np.maximum(self._similarity(di), 0.0)
        return scores

    def score(self, liked: Sequence[str], item_ids: Sequence[str], disliked: Sequence[str] = ()) -> np.ndarray:
        """Scores of ``item_ids`` for a session with these liked (and disliked) items."""
        idx = self.indices(list(item_ids))
        return self.scores_all(liked, disliked)[idx]

    def recommend(
        self,
        liked: Sequence[str],
        disliked: Sequence[str] = (),
        k: int = 50,
        candidate_ids: Sequence[str] | None = None,
        exclude: Sequence[str] = (),
    ) -> list[ScoredItem]:
        """Top-``k`` items for a session; liked, disliked and ``exclude`` items never appear.

        Args:
            liked: items the user liked, oldest first (recent ones weigh more).
            disliked: items the user disliked; similar items are pushed down.
            k: how many to return.
            candidate_ids: rank only these (for example the result of a catalogue filter).
            exclude: ids never to return (unknown ids here are ignored).

        Raises:
            UnknownItemError: a liked, disliked or candidate id is not in the catalogue.
        """
        return self._results(self.recommend_scores(liked, disliked, k, candidate_ids, exclude).items())

    def recommend_scores(
        self,
        liked: Sequence[str],
        disliked: Sequence[str] = (),
        k: int = 50,
        candidate_ids: Sequence[str] | None = None,
        exclude: Sequence[str] = (),
    ) -> dict[str, float]:
        """:meth:`recommend` as ``{item_id: score}``, best first, without result objects (the
        ranking pipeline's hot path reads only ids and scores)."""
        scores = self.scores_all(liked, disliked)
        if candidate_ids is not None:
            mask = np.full(scores.shape, -np.inf, dtype=np.float32)
            cand = self.indices(list(candidate_ids))
            mask[cand] = 0.0
            scores = scores + mask
        drop = self.indices(list(liked) + list(disliked) + list(exclude), strict=False)
        scores[drop] = -np.inf
        return dict(self._pairs(scores, top_k(scores, k)))

    def neighbours(self, item_id: str, k: int = 10) -> list[ScoredItem]:
        """Items most similar to ``item_id``: factor cosine times a confidence that grows with
        the neighbour's interaction count (``(n + 1) / (n + 1 + neighbour_shrink)``), so items
        with one or two interactions do not crowd out well-supported ones.

        Raises:
            UnknownItemError: the id is not in the catalogue.
        """
        return self._results(self.neighbour_pairs(item_id, k))

    def neighbour_pairs(self, item_id: str, k: int = 10) -> list[tuple[str, float]]:
        """:meth:`neighbours` as ``(item_id, score)`` pairs, best first. Answers are cached (the
        model is immutable; the cache keeps the 4,096 most recent)."""
        cached = self._neighbours.get((item_id, k))
        if cached is not None:
            return list(cached)
        i = int(self.indices([item_id])[0])
        if self._unit[i].any():
            sims = (self._unit @ self._unit[i]) * self._confidence
        elif self.content is not None and self.content[i].any():
            sims = self.content @ self.content[i]
        else:
            sims = self.popularity.copy()
        sims[i] = -np.inf
        found = self._pairs(sims, top_k(sims, k))
        if len(self._neighbours) >= 4096:
            try:  # several threads may evict at once: losing a race only leaves the cache larger
                self._neighbours.pop(next(iter(self._neighbours)), None)
            except (RuntimeError, StopIteration):
                pass
        self._neighbours[(item_id, k)] = found
        return list(found)

    def neighbour_source(self) -> NeighbourPairs:
        """This model as the explainer's neighbour source: ``(id, score)`` pairs, no result objects."""
        return NeighbourPairs(self)

    def _pairs(self, scores: np.ndarray, idx: np.ndarray) -> list[tuple[str, float]]:
        """``(item_id, score)`` of the items at ``idx``, in that order."""
        ids = self.item_ids
        return list(zip([ids[j] for j in idx.tolist()], scores[idx].tolist()))

    def _results(self, pairs: Iterable[tuple[str, float]]) -> list[ScoredItem]:
        titles = self.titles
        # trusted fields of known types: skip validation (hundreds of results per turn)
        return [ScoredItem.model_construct(item_id=i, score=score, title=titles.get(i)) for i, score in pairs]

    # -- persistence -------------------------------------------------------------------
    def save(self, path: Path) -> None:
        """Write the model into folder ``path`` (``cf.npz`` + ``cf.json``)."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        arrays = {"factors": self.factors, "counts": self.counts, "prior": self.prior}
        if self.content is not None:
            arrays["content"] = self.content.astype(np.float16)
        np.savez(path / "cf.npz", **arrays)  # type: ignore[arg-type]  # numpy's stub: **kwds vs allow_pickle
        meta = {"format": FORMAT_VERSION, "item_ids": self.item_ids, "params": dict(self.params), "titles": self.titles}
        (path / "cf.json").write_text(json.dumps(meta))

    @classmethod
    def load(cls, path: Path) -> CFModel:
        """Read a model written by :meth:`save`."""
        path = Path(path)
        if not (path / "cf.json").exists():
            raise DataError("no CF model here (cf.json missing)", path)
        meta = json.loads((path / "cf.json").read_text())
        if meta.get("format") != FORMAT_VERSION:
            raise DataError(f"CF model format {meta.get('format')} != {FORMAT_VERSION}; rebuild", path)
        with np.load(path / "cf.npz") as z:
            content = z["content"].astype(np.float32) if "content" in z else None
            return cls(meta["item_ids"], z["factors"], z["counts"], meta["params"], content, z["prior"], meta["titles"])


class NeighbourPairs:
    """A CF model's neighbours as ``(item_id, score)`` pairs (what the explainer reads).

    Args:
        model: the CF model.
    """

    def __init__(self, model: CFModel) -> None:
        self.model = model

    def neighbours(self, item_id: str, k: int) -> list[tuple[str, float]]:
        """The ``k`` most similar items as pairs, best first (see :meth:`CFModel.neighbours`)."""
        return self.model.neighbour_pairs(item_id, k)
