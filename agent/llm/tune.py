"""``crsagent llm tune``: LoRA supervised fine-tuning of the bundled model on teacher trajectories.

The base is the converted bundled checkpoint (:func:`~crsagent.agent.llm.weights.bundled_model_dir`).
Examples come from :mod:`crsagent.agent.llm.tune_data` (the served chat template and tool
listing, loss on this turn's assistant tokens). The loop is plain PyTorch over a ``peft`` LoRA
model: length-bucketed micro-batches, gradient accumulation to ``batch_size`` examples, AdamW
with linear warm-up and decay, bf16 autocast on a CPU that has bf16 instructions (``--device
cuda`` on a GPU). It stops after ``epochs`` or ``max_minutes``, whichever comes first, and saves
a resumable checkpoint every ``checkpoint_every`` steps (adapter, optimiser, scheduler, step, RNG
state), written atomically; a rerun with the same configuration resumes from it. The final
adapter (safetensors) and ``tune.json`` (configuration, data counts, validation metrics, base
model name and hash, licences) are written into a temporary folder renamed into place.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import shutil
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from crsagent.agent.errors import ConfigError
from crsagent.agent.llm.adapter import replace_dir
from crsagent.agent.llm.tune_data import IGNORE, Example

__all__ = [
    "TuneConfig",
    "LORA_TARGETS",
    "cpu_has_bf16",
    "file_sha256",
    "examples_digest",
    "batches",
    "micro_loss",
    "load_base",
    "train",
]

#: Every attention and MLP projection of a Llama-architecture model (SmolLM2 is one).
LORA_TARGETS: tuple[str, ...] = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
_CKPT = "checkpoint"
Progress = Callable[[str, int | None], Callable[[int], None]]


def _no_tick(n: int = 1) -> None:
    """A progress bar's advance that shows nothing."""


def _no_progress(desc: str, total: int | None) -> Callable[[int], None]:
    return _no_tick


@dataclass
class TuneConfig:
    """A tuning run's settings (all of them are recorded in ``tune.json``).

    Attributes:
        rank: LoRA rank. alpha: LoRA scaling numerator. dropout: LoRA dropout.
        lr: peak learning rate. warmup_steps: linear warm-up steps. weight_decay: AdamW's.
        batch_size: examples per optimiser step. max_batch_tokens: padded tokens per micro-batch.
        epochs: passes over the training examples. max_tokens: longer examples are dropped.
        max_minutes: wall-clock budget of the training loop (None: no budget).
        max_steps: stop after this many optimiser steps of the planned schedule (None: all);
            the learning-rate schedule still spans the whole plan.
        checkpoint_every: optimiser steps between resumable checkpoints.
        seed: the seed of the data order, dropout and initialisation. device: ``cpu`` or ``cuda``.
        bf16: autocast to bfloat16 (None: where the device supports it).
    """

    rank: int = 16
    alpha: int = 32
    dropout: float = 0.05
    lr: float = 3e-4
    warmup_steps: int = 10
    weight_decay: float = 0.0
    batch_size: int = 8
    max_batch_tokens: int = 8192
    epochs: float = 1.0
    max_tokens: int = 2048
    max_minutes: float | None = None
    max_steps: int | None = None
    checkpoint_every: int = 10
    seed: int = 0
    device: str = "cpu"
    bf16: bool | None = None
    targets: tuple[str, ...] = field(default=LORA_TARGETS)

    def key(self) -> dict[str, Any]:
        """The settings a checkpoint must share to be resumed (the budget may change)."""
        return {k: v for k, v in asdict(self).items() if k not in ("max_minutes", "max_steps", "checkpoint_every")}


def cpu_has_bf16() -> bool:
    """Whether this CPU has bf16 instructions (AVX512-BF16 or AMX)."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file, hex."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def batches(examples: list[Example], batch_size: int, max_batch_tokens: int, seed: int) -> list[list[list[Example]]]:
    """Optimiser steps of ``batch_size`` examples, each split into micro-batches of at most
    ``max_batch_tokens`` padded tokens. Examples are bucketed by length (little padding), and the
    steps shuffled with ``seed``."""
    order = sorted(range(len(examples)), key=lambda i: (len(examples[i].input_ids), i))
    steps = [[examples[i] for i in order[s : s + batch_size]] for s in range(0, len(order), batch_size)]
    random.Random(seed).shuffle(steps)
    out = []
    for step in steps:
        micro: list[list[Example]] = [[]]
        for ex in step:
            longest = max([len(e.input_ids) for e in micro[-1]] + [len(ex.input_ids)])
            if micro[-1] and longest * (len(micro[-1]) + 1) > max_batch_tokens:
                micro.append([])
            micro[-1].append(ex)
        out.append(micro)
    return out


def _release_memory() -> None:
    """Hand freed memory back to the OS: varying batch shapes fragment glibc's heap, and a CPU
    run's resident size otherwise grows by hundreds of MB a minute."""
    import ctypes
    import gc

    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _collate(micro: list[Example], pad_id: int, torch: Any, device: str) -> dict[str, Any]:
    width = max(len(e.input_ids) for e in micro)
    ids = [e.input_ids + [pad_id] * (width - len(e.input_ids)) for e in micro]
    labels = [e.labels + [IGNORE] * (width - len(e.labels)) for e in micro]
    mask = [[1] * len(e.input_ids) + [0] * (width - len(e.input_ids)) for e in micro]
    t = lambda rows: torch.tensor(rows, dtype=torch.long, device=device)  # noqa: E731
    return {"input_ids": t(ids), "labels": t(labels), "attention_mask": t(mask)}


def _shared_prefix(micro: list[Example]) -> int:
    """Tokens every example of ``micro`` starts with, ending before the first trained token."""
    first = min(next(i for i, x in enumerate(e.labels) if x != IGNORE) for e in micro)
    ref = micro[0].input_ids
    n = 0
    limit = min(first, *(len(e.input_ids) - 1 for e in micro))
    while n < limit and all(e.input_ids[n] == ref[n] for e in micro):
        n += 1
    return n


def micro_loss(model: Any, micro: list[Example], pad_id: int, n_labels: int, cfg: TuneConfig, torch: Any) -> Any:
    """The summed cross-entropy of ``micro``'s trained tokens, divided by ``n_labels``.

    The prefix all examples share (the tool listing and the system prompt's fixed start) is run
    once, without gradients, and its key/value cache repeated over the micro-batch; logits are
    computed only where a label is trained. Both cut the CPU cost of an example roughly in half.
    """
    inner = model.get_base_model() if hasattr(model, "get_base_model") else model
    batch = _collate(micro, pad_id, torch, cfg.device)
    ids, labels, mask = batch["input_ids"], batch["labels"], batch["attention_mask"]
    shared = _shared_prefix(micro)
    with _autocast(cfg, torch):
        if shared >= 16:
            with torch.no_grad():
                cache = inner.model(input_ids=ids[:1, :shared], use_cache=True).past_key_values
            cache.batch_repeat_interleave(len(micro))
            hidden = inner.model(
                input_ids=ids[:, shared:], attention_mask=mask, past_key_values=cache, use_cache=True
            ).last_hidden_state
            labels = labels[:, shared:]
        else:
            hidden = inner.model(input_ids=ids, attention_mask=mask).last_hidden_state
        keep = labels[:, 1:] != IGNORE
        logits = inner.lm_head(hidden[:, :-1][keep]).float()
    return torch.nn.functional.cross_entropy(logits, labels[:, 1:][keep], reduction="sum") / max(1, n_labels)


def load_base(model_dir: Path, device: str = "cpu") -> tuple[Any, Any]:
    """The base model (float32) and its tokenizer, from a local folder only.

    Raises:
        ConfigError: the folder holds no converted model (run ``crsagent llm setup``).
    """
    if not (model_dir / "config.json").is_file():
        raise ConfigError(f"no model at {model_dir}; run `crsagent llm setup` first")
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model_dir, local_files_only=True)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32, local_files_only=True)
    model = model.to(device)  # type: ignore[arg-type]  # transformers types .to() through a decorator
    return model, tok


def _autocast(cfg: TuneConfig, torch: Any) -> Any:
    use = (
        cfg.bf16
        if cfg.bf16 is not None
        else (cpu_has_bf16() if cfg.device == "cpu" else torch.cuda.is_bf16_supported())
    )
    return torch.autocast(device_type=cfg.device, dtype=torch.bfloat16) if use else nullcontext()


def examples_digest(examples: list[Example]) -> str:
    """A SHA-256 over the examples' record ids, tokens and labels (what a resumed run must train on)."""
    h = hashlib.sha256()
    for e in examples:
        h.update(json.dumps([e.record_id, e.input_ids, e.labels]).encode())
    return h.hexdigest()


def _checkpoint_key(cfg: TuneConfig, examples: list[Example]) -> dict[str, Any]:
    return json.loads(json.dumps({**cfg.key(), "examples_sha256": examples_digest(examples)}, sort_keys=True))


def _save_checkpoint(
    folder: Path, model: Any, opt: Any, sched: Any, step: int, key: dict[str, Any], torch: Any
) -> None:
    from peft import get_peft_model_state_dict

    tmp = folder.with_name(folder.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    torch.save(
        {
            "adapter": get_peft_model_state_dict(model),
            "optimizer": opt.state_dict(),
            "scheduler": sched.state_dict(),
            "step": step,
            "torch_rng": torch.get_rng_state(),
            "python_rng": random.getstate(),
        },
        tmp / "state.pt",
    )
    (tmp / "config.json").write_text(json.dumps(key, sort_keys=True))
    replace_dir(tmp, folder)


def _resume(folder: Path, model: Any, opt: Any, sched: Any, key: dict[str, Any], torch: Any) -> int:
    from peft import set_peft_model_state_dict

    if not (folder / "state.pt").is_file():
        return 0
    saved = json.loads((folder / "config.json").read_text())
    if saved != key:
        what = (
            "other training data"
            if {**saved, "examples_sha256": None} == {**key, "examples_sha256": None}
            else "other settings"
        )
        raise ConfigError(f"the checkpoint at {folder} was made with {what}; remove it or rerun with the same ones")
    state = torch.load(folder / "state.pt", weights_only=False)
    set_peft_model_state_dict(model, state["adapter"])
    opt.load_state_dict(state["optimizer"])
    sched.load_state_dict(state["scheduler"])
    torch.set_rng_state(state["torch_rng"])
    random.setstate(state["python_rng"])
    return int(state["step"])


def train(
    model: Any,
    tokenizer: Any,
    examples: list[Example],
    cfg: TuneConfig,
    work_dir: Path,
    progress: Progress | None = None,
    log: Callable[[str], None] = lambda s: None,
) -> tuple[Any, dict[str, Any]]:
    """Wrap ``model`` in a LoRA adapter and train it on ``examples``.

    Args:
        model: the base causal LM. tokenizer: its tokenizer (for the pad id).
        examples: rendered training examples. cfg: the run's settings.
        work_dir: where the resumable checkpoint lives (``work_dir/checkpoint``).
        progress: a progress-bar factory ``(description, total) -> advance``.
        log: where to write one line per logged step.

    Returns:
        The peft model and the run's figures (steps, tokens, losses, wall time, whether it
        resumed and whether the budget stopped it).
    """
    import torch
    from peft import LoraConfig, get_peft_model

    if not examples:
        raise ConfigError("no training examples")
    torch.manual_seed(cfg.seed)
    random.seed(cfg.seed)
    peft_model = get_peft_model(
        model,
        LoraConfig(
            r=cfg.rank,
            lora_alpha=cfg.alpha,
            lora_dropout=cfg.dropout,
            target_modules=list(cfg.targets),
            task_type="CAUSAL_LM",
        ),
    )
    plan = batches(examples, cfg.batch_size, cfg.max_batch_tokens, cfg.seed)
    total = max(1, math.ceil(len(plan) * cfg.epochs))
    epoch_plans = [
        batches(examples, cfg.batch_size, cfg.max_batch_tokens, cfg.seed + e) for e in range(math.ceil(cfg.epochs))
    ]
    schedule = [s for p in epoch_plans for s in p][:total]
    params = [p for p in peft_model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt,
        lambda s: (
            min(1.0, (s + 1) / max(1, cfg.warmup_steps)) * max(0.0, (total - s) / max(1, total - cfg.warmup_steps))
        ),
    )
    ckpt = work_dir / _CKPT
    key = _checkpoint_key(cfg, examples)
    start = _resume(ckpt, peft_model, opt, sched, key, torch)
    if start:
        log(f"resuming from step {start} of {total} ({ckpt})")
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    advance = (progress or _no_progress)("tuning (LoRA)", min(total, cfg.max_steps or total))
    advance(start)
    began, tokens, losses, step, stopped = time.monotonic(), 0, [], start, False
    peft_model.train()
    end = min(total, cfg.max_steps) if cfg.max_steps else total
    for step in range(start, end):
        if cfg.max_minutes is not None and time.monotonic() - began > cfg.max_minutes * 60:
            stopped = True
            break
        micro = schedule[step]
        n_labels = sum(e.trained_tokens for mb in micro for e in mb)
        opt.zero_grad(set_to_none=True)
        step_loss = 0.0
        for mb in micro:
            loss = micro_loss(peft_model, mb, pad, n_labels, cfg, torch)
            loss.backward()
            step_loss += float(loss)
            tokens += sum(len(e.input_ids) for e in mb)
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        sched.step()
        losses.append(step_loss)
        _release_memory()
        advance(1)
        if (step + 1) % cfg.checkpoint_every == 0 or step + 1 == end:
            _save_checkpoint(ckpt, peft_model, opt, sched, step + 1, key, torch)
            recent = losses[-cfg.checkpoint_every :]
            log(
                f"step {step + 1}/{total} loss {sum(recent) / len(recent):.4f} tokens {tokens} "
                f"{tokens / max(1e-9, time.monotonic() - began):.0f} tok/s"
            )
    else:
        step = max(start, end)
    if stopped:
        _save_checkpoint(ckpt, peft_model, opt, sched, step, key, torch)
    seconds = time.monotonic() - began
    return peft_model, {
        "steps_total": total,
        "steps_done": step,
        "resumed_from": start,
        "stopped_by_budget": stopped,
        "train_tokens": tokens,
        "tokens_per_s": round(tokens / max(1e-9, seconds), 1),
        "train_seconds": round(seconds, 1),
        "loss_first": losses[0] if losses else None,
        "loss_last10": (sum(losses[-10:]) / len(losses[-10:])) if losses else None,
    }
