"""Convert a GGUF checkpoint into a safetensors checkpoint + tokenizer that vLLM loads.

Run by the LLM server's own virtual environment (it needs torch, transformers, gguf and
accelerate, which the main environment does not have), as a script::

    <llm-venv>/bin/python convert_gguf.py --gguf FILE.gguf --out DIR [--dtype float32]

It imports nothing from crsagent. transformers de-quantizes the GGUF tensors on load; the
result is written with ``save_pretrained`` (config, generation config, safetensors weights,
tokenizer files including the chat template). Writing into ``--out`` is not atomic; the
caller writes into a temporary folder and renames it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

__all__ = ["convert", "main"]


def convert(gguf: Path, out: Path, dtype: str = "float32") -> dict:
    """Load ``gguf`` with transformers and save it under ``out``; return a small summary."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch_dtype = getattr(torch, dtype)
    tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name, dtype=torch_dtype)
    # transformers de-quantized the GGUF tensors on load, but still marks the model as
    # GGUF-quantized and refuses to save it; the weights are plain tensors now, so drop the mark.
    model.hf_quantizer = None  # type: ignore[assignment]  # nn.Module's attribute typing
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.is_quantized = False  # type: ignore[assignment]  # nn.Module's attribute typing
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(out), safe_serialization=True)
    tokenizer.save_pretrained(str(out))
    return {
        "architecture": type(model).__name__,
        "parameters": int(sum(p.numel() for p in model.parameters())),
        "dtype": dtype,
        "vocab_size": int(len(tokenizer)),
        "has_chat_template": bool(getattr(tokenizer, "chat_template", None)),
    }


def main(argv: list[str] | None = None) -> int:
    """Command-line entry: convert and print the summary as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gguf", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--dtype", default="float32", choices=["float32", "bfloat16", "float16"])
    args = parser.parse_args(argv)
    summary = convert(args.gguf.resolve(), args.out.resolve(), args.dtype)
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
