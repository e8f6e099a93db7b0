"""SASRec's per-model caches for the ranking: the id -> row map and recent contexts' scores.

The ``seq`` signal of :mod:`~crsagent.graphs.ranking.features` reads SASRec's next-item scores of
the turn's context and maps candidate ids to rows of that score vector. Both are remembered
per model (weak-keyed, so a dropped model frees them): the row map once, the scores for the last
:data:`SEQ_CACHE` contexts (a turn ranks one context several times: recommend, the catalogue
ranking, a refinement).
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Sequence
from typing import Any

import numpy as np
from cachetools import LRUCache

__all__ = ["SEQ_CACHE", "rows_of", "next_scores"]

#: SASRec model -> item id -> its row in ``next_scores`` (built once per model, not per turn).
_SEQ_ROWS: weakref.WeakKeyDictionary[Any, dict[str, int]] = weakref.WeakKeyDictionary()


def rows_of(seq: Any) -> dict[str, int]:
    """Item id -> row of SASRec's score vector (its ``index`` counts from 1: 0 is padding)."""
    try:
        rows = _SEQ_ROWS.get(seq)
    except TypeError:  # not weak-referenceable: compute every time
        return {i: r - 1 for i, r in seq.index.items()}
    if rows is None or len(rows) != len(seq.index):
        rows = {i: r - 1 for i, r in seq.index.items()}
        _SEQ_ROWS[seq] = rows
    return rows


#: How many recent contexts' SASRec scores each model keeps (a turn's tool calls rank one context
#: several times: recommend, the catalogue ranking, a refinement).
SEQ_CACHE = 64
_SEQ_SCORES: weakref.WeakKeyDictionary[Any, LRUCache[tuple[str, ...], np.ndarray]] = weakref.WeakKeyDictionary()
_SEQ_LOCK = threading.Lock()


def next_scores(seq: Any, known: Sequence[str]) -> np.ndarray:
    """``seq.next_scores(known)``, remembered for the last :data:`SEQ_CACHE` contexts of each model
    (the forward pass is deterministic in inference mode; the array is read-only to callers)."""
    key = tuple(known)
    try:
        with _SEQ_LOCK:
            cache = _SEQ_SCORES.setdefault(seq, LRUCache(maxsize=SEQ_CACHE))
            hit = cache.get(key)  # a hit becomes the most recent
            if hit is not None:
                return hit
    except TypeError:  # not weak-referenceable: no cache
        return seq.next_scores(list(known))
    scores = np.array(seq.next_scores(list(known)))
    scores.flags.writeable = False
    with _SEQ_LOCK:
        cache[key] = scores  # the least recent context goes beyond SEQ_CACHE
    return scores
