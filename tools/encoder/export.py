"""Export all-MiniLM-L6-v2 (from the installed package) to ONNX and check it.

The network is taken from the sentence-transformers model that
:func:`crsagent.tools.search.embedding.load_embedder` loads from site-packages, traced with
torch's ONNX exporter (dynamic batch and sequence axes), and then compared with
sentence-transformers on fixed texts of different lengths: the export is rejected unless
every cosine is at least :data:`MIN_COSINE`. An int8 copy follows
(:func:`crsagent.tools.encoder.quantize.quantize_encoder`); its verdict goes into
``encoder.json`` under ``int8``.
"""

from __future__ import annotations

import json
import shutil
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from crsagent.agent.errors import BuildError
from crsagent.tools.encoder.quantize import quantize_encoder
from crsagent.tools.encoder.runtime import CONFIG_FILE, MODEL_FILE, TOKENIZER_FILE, OnnxEncoder

__all__ = ["MIN_COSINE", "CHECK_TEXTS", "export_encoder", "check_encoder", "cosines"]

MIN_COSINE = 0.9999
OPSET = 17
CHECK_TEXTS = (
    "hi",
    "I loved the babadook and it follows, something scary please",
    "HELLO SUGGEST ME UR FAVOURITE MOVIES",
    "a feel-good comedy from the 90s with Tom Hanks, nothing too long, my kids will watch too",
    "Ergonomic stapler, 20 sheets, black; desk organiser with drawers. " * 20,
)


def export_encoder(out_dir: Path, texts: Sequence[str] = ()) -> dict[str, Any]:
    """Write ``model.onnx``, ``tokenizer.json``, ``encoder.json`` and maybe ``model.int8.onnx`` into ``out_dir``.

    Args:
        out_dir: the stage's output folder.
        texts: real utterances the int8 model is checked on (none: it is rejected).

    Returns:
        Figures for the manifest: ``min_cosine``, ``max_seq_length``, ``dim``, ``opset`` and
        ``int8`` (the quantized model's verdict and cosines).

    Raises:
        BuildError: the exporter is missing or the exported model disagrees with
            sentence-transformers.
    """
    import torch

    from crsagent.tools.search.embedding import load_embedder

    model = load_embedder("cpu")
    transformer = model[0]
    source = Path(transformer.auto_model.name_or_path)
    config: dict[str, Any] = {"max_seq_length": int(model.max_seq_length), "dim": int(embedding_dim(model))}
    out_dir.mkdir(parents=True, exist_ok=True)
    if (source / TOKENIZER_FILE).is_file():
        shutil.copyfile(source / TOKENIZER_FILE, out_dir / TOKENIZER_FILE)
    else:
        model.tokenizer.backend_tokenizer.save(str(out_dir / TOKENIZER_FILE))
    (out_dir / CONFIG_FILE).write_text(json.dumps(config))
    sample = model.tokenizer(["an example to trace"], return_tensors="pt")
    names = ["input_ids", "attention_mask", "token_type_ids"]
    axes = {n: {0: "batch", 1: "tokens"} for n in names} | {"hidden": {0: "batch", 1: "tokens"}}
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                _hidden_module(transformer.auto_model.eval()),
                tuple(sample[n] for n in names),
                str(out_dir / MODEL_FILE),
                input_names=names,
                output_names=["hidden"],
                dynamic_axes=axes,
                opset_version=OPSET,
                dynamo=False,
            )
    except Exception as exc:  # the exporter raises many types (missing onnx, tracing errors)
        raise BuildError(f"exporting the text encoder to ONNX failed: {exc}") from exc
    cosine = check_encoder(out_dir, model)
    config["int8"] = quantize_encoder(out_dir, model, texts)
    (out_dir / CONFIG_FILE).write_text(json.dumps(config, sort_keys=True))
    return {**config, "min_cosine": round(cosine, 6), "opset": OPSET}


def check_encoder(folder: Path, model: Any = None) -> float:
    """The smallest cosine between onnxruntime and sentence-transformers on :data:`CHECK_TEXTS`.

    Texts are embedded one by one and as one padded batch.

    Raises:
        BuildError: a cosine is below :data:`MIN_COSINE`.
    """
    from crsagent.tools.search.embedding import load_embedder

    model = model or load_embedder("cpu")
    cosine = float(cosines(OnnxEncoder(folder, precision="fp32"), model, list(CHECK_TEXTS)).min())
    if cosine < MIN_COSINE:
        raise BuildError(f"the ONNX text encoder disagrees with sentence-transformers (cosine {cosine:.4f})")
    return cosine


def cosines(encoder: OnnxEncoder, model: Any, texts: Sequence[str], batch: bool = True) -> np.ndarray:
    """Cosines between ``encoder`` and sentence-transformers ``model`` on ``texts``.

    Args:
        encoder: the ONNX encoder under test.
        model: the sentence-transformers reference.
        texts: the texts, embedded one by one (as the hot path does).
        batch: also embed them as one padded batch and append those cosines.

    Returns:
        One cosine per text (twice as many with ``batch``); empty for no texts.
    """
    texts = list(texts)
    if not texts:
        return np.zeros(0, dtype=np.float32)
    expected = model.encode(texts, normalize_embeddings=True, convert_to_numpy=True, batch_size=64)
    got = [np.vstack([encoder.encode([t]) for t in texts])] + ([encoder.encode(texts)] if batch else [])
    return np.concatenate([(expected * g).sum(axis=1) for g in got])


def embedding_dim(model: Any) -> int:
    """The sentence embedding size (the method was renamed in sentence-transformers 6)."""
    getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
    return int(getter())


def _hidden_module(auto_model: Any) -> Any:
    """The Hugging Face model as a module with positional inputs and one output tensor."""
    import torch

    class Hidden(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = auto_model

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            out = self.model(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)
            return out.last_hidden_state

    return Hidden()
