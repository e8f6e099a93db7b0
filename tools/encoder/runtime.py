"""Run the exported all-MiniLM-L6-v2 with onnxruntime: the hot path's query embeddings.

A turn embeds one short text (the preference query, the dialogue text for the intent
scorer). sentence-transformers on torch spends most of that time in framework overhead;
the same network in onnxruntime gives the same vectors (cosine > 0.9999, checked when the
build exports it) several times faster on a CPU. Large batches (the build's item documents)
stay on torch.

:func:`activate` makes an exported model the process's small-batch encoder;
:func:`active_encoder` returns it (None until a built one is activated, or when
``CRSAGENT_ENCODER=torch``).
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from crsagent.agent.errors import DataError

__all__ = [
    "MODEL_FILE", "TOKENIZER_FILE", "CONFIG_FILE", "OnnxEncoder",
    "activate", "activate_built", "active_encoder", "deactivate",
]  # fmt: skip

MODEL_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"
CONFIG_FILE = "encoder.json"
_lock = threading.Lock()
_active: "OnnxEncoder | None" = None


class OnnxEncoder:
    """Mean-pooled, unit-normalised sentence embeddings from an exported encoder folder.

    Args:
        folder: holds ``model.onnx``, ``tokenizer.json`` and ``encoder.json``
            (``max_seq_length``, ``dim``), as the ``encoder`` stage writes them.
        threads: onnxruntime intra-op threads (two by default: a query is a few dozen tokens).
            Idle threads sleep instead of spinning, so turns running side by side on a small
            machine do not starve each other (2 cores, one busy with another process: p50
            5.3 ms without spinning, 8.7 ms with it; quiet: 4.4 ms either way).

    Raises:
        DataError: a file is missing or unreadable.
    """

    def __init__(self, folder: Path, threads: int = 2) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        folder = Path(folder)
        try:
            config = json.loads((folder / CONFIG_FILE).read_text())
            self.tokenizer = Tokenizer.from_file(str(folder / TOKENIZER_FILE))
        except Exception as exc:  # OSError, JSON errors, and the tokenizers library's own type
            raise DataError(f"the exported encoder in {folder} is unreadable ({exc}); run `crsagent build`") from exc
        self.dim = int(config["dim"])
        self.folder = folder
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(int(config["max_seq_length"]))
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        self.session = ort.InferenceSession(str(folder / MODEL_FILE), options, providers=["CPUExecutionProvider"])

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-normalised float32 embeddings, shape ``(len(texts), dim)``."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        encodings = self.tokenizer.encode_batch(list(texts))
        width = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(encodings), width), dtype=np.int64)
        mask = np.zeros_like(ids)
        for row, enc in enumerate(encodings):
            ids[row, : len(enc.ids)] = enc.ids
            mask[row, : len(enc.ids)] = 1
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        hidden = self.session.run(None, feeds)[0]
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        norms = np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        return (pooled / norms).astype(np.float32)


def activate(folder: Path) -> OnnxEncoder | None:
    """Make the exported encoder in ``folder`` this process's small-batch encoder.

    The first activation wins (every domain exports the same network). Nothing happens when
    ``CRSAGENT_ENCODER=torch``, when torch sees a GPU (torch is then the faster path), or
    when the folder has no model.

    Returns:
        The active encoder, or None.
    """
    global _active
    if os.environ.get("CRSAGENT_ENCODER", "onnx").lower() == "torch":
        return None
    if not (Path(folder) / MODEL_FILE).is_file():
        return _active
    with _lock:
        if _active is None and not _cuda():
            _active = OnnxEncoder(Path(folder))
        return _active


def activate_built(store: Any) -> OnnxEncoder | None:
    """Activate a domain's built ``encoder`` stage, if it has one (see :func:`activate`).

    Args:
        store: the domain's :class:`~crsagent.tools.artifacts.ArtifactStore`.
    """
    if not store.has("encoder"):
        return _active
    return activate(store.path("encoder"))


def active_encoder() -> OnnxEncoder | None:
    """The activated encoder, or None (callers then use sentence-transformers)."""
    return _active


def deactivate() -> None:
    """Forget the active encoder (tests, or to force the torch path)."""
    global _active
    with _lock:
        _active = None


def _cuda() -> bool:
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency
        return False
    return bool(torch.cuda.is_available())
