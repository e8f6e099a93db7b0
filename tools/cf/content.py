"""Content vectors and popularity: the fallbacks for items without interactions.

Content vectors come from the search stage's item embeddings (all-MiniLM-L6-v2 over title,
genres and plot) when that artifact exists, otherwise from a bag of item attributes
(genres, categories, brand). Every row is unit-normalised; an item with no content gets a
zero row and is ranked by popularity alone.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from crsagent.tools.catalog.schema import Item

__all__ = ["load_search_embeddings", "attribute_vectors", "content_vectors", "normalise_rows"]


def normalise_rows(m: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero), as float32."""
    m = np.asarray(m, dtype=np.float32)
    norms = np.linalg.norm(m, axis=1, keepdims=True)
    return np.divide(m, norms, out=np.zeros_like(m), where=norms > 0)


def load_search_embeddings(search_dir: Path | None, item_ids: Sequence[str]) -> np.ndarray | None:
    """Item embeddings of the search artifact aligned to ``item_ids``, or None.

    Args:
        search_dir: the search stage folder holding ``embeddings.npy`` and ``ids.json``.
        item_ids: the order wanted; ids the artifact lacks get zero rows.
    """
    if search_dir is None:
        return None
    emb_path, ids_path = Path(search_dir) / "embeddings.npy", Path(search_dir) / "ids.json"
    if not emb_path.exists() or not ids_path.exists():
        return None
    emb = np.load(emb_path, mmap_mode="r")
    listed = json.loads(ids_path.read_text())
    listed = listed.get("ids", []) if isinstance(listed, dict) else listed  # the index writes {"ids": [...], ...}
    pos = {i: k for k, i in enumerate(listed)}
    out = np.zeros((len(item_ids), emb.shape[1]), dtype=np.float32)
    for r, i in enumerate(item_ids):
        k = pos.get(i)
        if k is not None:
            out[r] = emb[k]
    return normalise_rows(out) if (out != 0).any() else None


def _attributes(item: Item) -> list[str]:
    feats = [f"g:{g.lower()}" for g in item.genres] + [f"c:{c.lower()}" for c in item.categories]
    if item.brand:
        feats.append(f"b:{item.brand.lower()}")
    feats += [f"d:{d.lower()}" for d in item.directors[:2]]
    if item.year:
        feats.append(f"y:{item.year // 10 * 10}")
    return feats


def attribute_vectors(items: Sequence[Item]) -> np.ndarray | None:
    """Unit-normalised bag-of-attributes vectors (genres weigh most), or None when empty."""
    vocab: dict[str, int] = {}
    rows = []
    for it in items:
        feats = _attributes(it)
        rows.append(feats)
        for f in feats:
            vocab.setdefault(f, len(vocab))
    if not vocab:
        return None
    weight = {"g": 1.0, "c": 1.0, "b": 0.7, "d": 0.7, "y": 0.3}
    m = np.zeros((len(items), len(vocab)), dtype=np.float32)
    for r, feats in enumerate(rows):
        for f in feats:
            m[r, vocab[f]] = weight[f[0]]
    return normalise_rows(m)


def content_vectors(
    item_ids: Sequence[str], items: Sequence[Item] | None = None, search_dir: Path | None = None
) -> tuple[np.ndarray | None, str]:
    """The best content vectors available for ``item_ids``.

    Returns:
        (vectors or None, source name: ``search``, ``attributes`` or ``none``).
    """
    emb = load_search_embeddings(search_dir, item_ids)
    if emb is not None:
        return emb, "search"
    if items:
        by_id = {it.item_id: it for it in items}
        ordered = [by_id[i] for i in item_ids if i in by_id]
        if len(ordered) == len(item_ids):
            vec = attribute_vectors(ordered)
            if vec is not None:
                return vec, "attributes"
    return None, "none"
