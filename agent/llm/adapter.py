"""How ``llm tune`` writes an adapter: atomically, with its record and model card.

The adapter that ships with crsagent lives in the package
(:func:`~crsagent.agent.llm.lora.bundled_adapter_dir`): ``adapter_model.safetensors`` and
``adapter_config.json`` (what ``peft`` and vLLM load), ``tune.json`` (the training configuration,
data counts, validation metrics, the base model's name and hash, licences) and ``README.md``
(its model card).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

__all__ = ["BASE_MODEL_ID", "LICENCES", "adapter_ready", "replace_dir", "write_adapter"]

#: The base model the bundled GGUF was made from.
BASE_MODEL_ID = "HuggingFaceTB/SmolLM2-135M-Instruct"
#: The licences of what an adapter is derived from.
LICENCES = {
    "base_model": "Apache-2.0 (SmolLM2-135M-Instruct, Hugging Face)",
    "redial": "CC BY 4.0 (ReDial, Li et al. 2018: the tuning half of the bundled dev dialogues)",
    "adapter": "Apache-2.0",
}


def adapter_ready(path: Path) -> bool:
    """Whether ``path`` holds a complete adapter (weights and configuration)."""
    return (path / "adapter_model.safetensors").is_file() and (path / "adapter_config.json").is_file()


def _card(info: dict[str, Any]) -> str:
    v = info.get("validation") or {}
    d = info.get("data") or {}
    rows = "\n".join(
        f"| {k} | {v[k]} |"
        for k in (
            "valid_loss",
            "base_valid_loss",
            "tool_name_accuracy",
            "argument_exact_match",
            "reply_guard_pass_rate",
            "valid_examples",
        )
        if k in v
    )
    return f"""# {info["name"]}: a LoRA adapter for {BASE_MODEL_ID}

Tuned by `crsagent llm tune` on the agent's own teacher trajectories (`crsagent eval trajectories`):
the tool calls and replies of the deterministic CRS policy, played inside the real `agent` graph,
rendered with the chat template and compact tool listing that vLLM serves.

- Base: {info["base"]["name"]} ({info["base"]["source"]}), sha256 of the converted weights
  `{info["base"]["sha256"]}`.
- Training data: {d.get("train_records")} records ({d.get("train_examples")} examples,
  {d.get("train_trained_tokens")} trained tokens); sources {d.get("per_source")}.
- LoRA r={info["config"]["rank"]}, alpha={info["config"]["alpha"]} on {", ".join(info["config"]["targets"])}.
- Steps {info["train"]["steps_done"]}/{info["train"]["steps_total"]}, {info["train"]["train_seconds"]} s of training.

| validation (check half + unseen simulator seeds) | value |
|---|---|
{rows}

Licences: base model {LICENCES["base_model"]}; data {LICENCES["redial"]}; this adapter {LICENCES["adapter"]}.
Reproduce with the command in `tune.json` (`command`).
"""


def replace_dir(tmp: Path, target: Path) -> None:
    """Put the finished folder ``tmp`` in place of ``target``: the old one is moved aside, the new
    one renamed in, the old one removed, so ``target`` is always either the old or the new folder."""
    old = target.with_name(target.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        os.replace(target, old)
    os.replace(tmp, target)
    shutil.rmtree(old, ignore_errors=True)


def write_adapter(model: Any, out: Path, info: dict[str, Any]) -> Path:
    """Save ``model``'s adapter with ``tune.json`` and a model card into ``out``, atomically
    (a temporary sibling folder renamed over ``out``).

    Args:
        model: a ``peft`` model.
        out: the adapter folder to (re)place.
        info: what ``tune.json`` records (must hold ``name``, ``base``, ``config``, ``train``).
    """
    out = out.resolve()
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        model.save_pretrained(tmp, safe_serialization=True)
        cfg_path = tmp / "adapter_config.json"
        cfg = json.loads(cfg_path.read_text())
        cfg["base_model_name_or_path"] = BASE_MODEL_ID  # not this machine's path
        cfg_path.write_text(json.dumps(cfg, indent=2, sort_keys=True) + "\n")
        (tmp / "tune.json").write_text(json.dumps(info, indent=2, sort_keys=True) + "\n")
        (tmp / "README.md").write_text(_card(info))
        replace_dir(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out
