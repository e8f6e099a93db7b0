"""Run the exported all-MiniLM-L6-v2 with onnxruntime: the hot path's query embeddings.

A turn embeds one short text (the preference query, the dialogue text for the intent
scorer). sentence-transformers on torch spends most of that time in framework overhead;
the same network in onnxruntime gives the same vectors (cosine > 0.9999, checked when the
build exports it) several times faster on a CPU. Large batches (the build's item documents)
stay on torch.

The build also writes an int8 copy (``model.int8.onnx``, see
:mod:`crsagent.tools.encoder.quantize`) and records in ``encoder.json`` whether it agreed
well enough with sentence-transformers. :class:`OnnxEncoder` runs the int8 model when the
build accepted it and the fp32 one otherwise; ``CRSAGENT_ENCODER`` chooses: ``int8`` (or
unset, or ``onnx``: the int8 model when accepted), ``fp32`` (always the fp32 ONNX model),
``torch`` (no ONNX encoder at all).

:func:`activate` makes an exported model the process's small-batch encoder;
:func:`active_encoder` returns it (None until a built one is activated, or when
``CRSAGENT_ENCODER=torch``).
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from crsagent.agent.errors import ConfigError, DataError

__all__ = [
    "MODEL_FILE", "INT8_FILE", "TOKENIZER_FILE", "CONFIG_FILE", "ENV_VAR", "OnnxEncoder",
    "encoder_mode", "activate", "activate_built", "active_encoder", "deactivate",
]  # fmt: skip

log = logging.getLogger(__name__)
ENV_VAR = "CRSAGENT_ENCODER"
_MODES = {"": "int8", "onnx": "int8", "int8": "int8", "fp32": "fp32", "torch": "torch"}
MODEL_FILE = "model.onnx"
INT8_FILE = "model.int8.onnx"
TOKENIZER_FILE = "tokenizer.json"
CONFIG_FILE = "encoder.json"
_lock = threading.Lock()
_active: OnnxEncoder | None = None


class OnnxEncoder:
    """Mean-pooled, unit-normalised sentence embeddings from an exported encoder folder.

    Args:
        folder: holds ``model.onnx``, ``tokenizer.json`` and ``encoder.json``
            (``max_seq_length``, ``dim``, and the build's ``int8`` verdict), and
            ``model.int8.onnx`` when the build accepted it, as the ``encoder`` stage writes them.
        threads: onnxruntime intra-op threads. One by default: a query is a few dozen tokens
            and, on a 2-core machine, a second thread costs more in hand-offs than it saves
            (int8 p50 2.8 vs 3.0 ms on a loaded machine, 2.1 vs 2.5 ms with a busy loop
            beside it; fp32 5.6 vs 6.0 and 4.8 vs 5.9 ms; see docs/models.md). Idle threads
            sleep instead of spinning, so turns running side by side do not starve each other.
        precision: ``int8`` (the quantized model, whatever the build's verdict), ``fp32``,
            or None: :func:`encoder_mode`, then the build's verdict.

    Attributes:
        precision: the model actually loaded (``int8`` or ``fp32``).
        fallback_reason: why the int8 model was wanted but not used (None otherwise).

    Raises:
        DataError: a file is missing or unreadable (an unreadable int8 model falls back to
            fp32 instead, with the reason in ``fallback_reason``).
        ConfigError: ``CRSAGENT_ENCODER`` has an unknown value.
    """

    def __init__(self, folder: Path, threads: int = 1, precision: str | None = None) -> None:
        from tokenizers import Tokenizer

        folder = Path(folder)
        try:
            config = json.loads((folder / CONFIG_FILE).read_text())
            self.tokenizer = Tokenizer.from_file(str(folder / TOKENIZER_FILE))
        except Exception as exc:  # OSError, JSON errors, and the tokenizers library's own type
            raise DataError(f"the exported encoder in {folder} is unreadable ({exc}); run `crsagent build`") from exc
        self.dim = int(config["dim"])
        self.folder = folder
        self.threads = threads
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(int(config["max_seq_length"]))
        self.precision, self.fallback_reason = "fp32", None
        wanted = precision or encoder_mode()
        if wanted == "int8":
            verdict = config.get("int8") or {}
            if precision != "int8" and not verdict.get("accepted"):
                self.fallback_reason = f"the build rejected the int8 model: {verdict.get('reason') or 'not exported'}"
            else:
                self.session, self.fallback_reason = self._open_int8()
                if self.fallback_reason is None:
                    self.precision = "int8"
                    return
            log.info("text encoder in %s: fp32 (%s)", folder, self.fallback_reason)
        self.session = self._session(folder / MODEL_FILE)

    def _open_int8(self) -> tuple[Any, str | None]:
        """The int8 session, or None and the reason it cannot be loaded."""
        try:
            return self._session(self.folder / INT8_FILE), None
        except Exception as exc:  # onnxruntime raises its own types for missing and corrupt models
            log.warning("the int8 text encoder in %s is unreadable, using fp32: %s", self.folder, exc)
            return None, f"the int8 model is unreadable: {exc}"

    def _session(self, path: Path) -> Any:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

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


def encoder_mode() -> str:
    """``int8``, ``fp32`` or ``torch``, from ``CRSAGENT_ENCODER`` (unset or ``onnx``: ``int8``).

    Raises:
        ConfigError: an unknown value.
    """
    value = os.environ.get(ENV_VAR, "").strip().lower()
    if value not in _MODES:
        raise ConfigError(f"{ENV_VAR}={value!r}: use int8, fp32 or torch")
    return _MODES[value]


def activate(folder: Path) -> OnnxEncoder | None:
    """Make the exported encoder in ``folder`` this process's small-batch encoder.

    The first activation wins (every domain exports the same network). Nothing happens when
    ``CRSAGENT_ENCODER=torch``, when torch sees a GPU (torch is then the faster path), or
    when the folder has no model.

    Returns:
        The active encoder, or None.
    """
    global _active
    if encoder_mode() == "torch":
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
