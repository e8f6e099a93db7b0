"""CF's content vectors come from the vector index the search stage writes (its real file format)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from crsagent.tools.cf.content import content_vectors, load_search_embeddings
from crsagent.tools.search.index import VectorIndex

from .conftest import SMALL_MOVIES


def test_cf_reads_the_index_embeddings_in_item_order(index_dir: Path) -> None:
    ids = [it.item_id for it in SMALL_MOVIES][::-1] + ["tt9999999"]
    emb = load_search_embeddings(index_dir, ids)
    assert emb is not None and emb.shape == (len(ids), 384)
    index = VectorIndex.load(index_dir, use_chroma=False)
    want = index.item_vectors(ids[:-1])
    assert np.allclose(emb[:-1], want / np.linalg.norm(want, axis=1, keepdims=True), atol=1e-5)
    assert not emb[-1].any()  # an id the index lacks gets a zero row


def test_content_source_is_search_when_the_index_exists(index_dir: Path, tmp_path: Path) -> None:
    ids = [it.item_id for it in SMALL_MOVIES]
    vecs, source = content_vectors(ids, SMALL_MOVIES, index_dir)
    assert source == "search" and vecs.shape == (len(ids), 384)
    vecs, source = content_vectors(ids, SMALL_MOVIES, tmp_path)  # no index there: attribute bags
    assert source == "attributes" and vecs.shape[1] != 384
