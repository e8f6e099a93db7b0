"""``crsagent llm tune``: tune the bundled model with LoRA on the agent's teacher trajectories."""

from __future__ import annotations

import datetime as dt
import json
import shlex
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import typer

from crsagent.agent.cli.common import cli_errors, emit_json, err_console, progress_factory, settings_from

__all__ = ["tune"]


def tune(
    train_path: Path = typer.Option(
        Path("out/tune/train.jsonl"), "--train", help="Training trajectories (`eval trajectories`)."
    ),
    valid_path: Path | None = typer.Option(
        Path("out/tune/valid.jsonl"),
        "--valid",
        help="Validation trajectories (`eval trajectories --split check`); '' skips validation.",
    ),
    out: Path | None = typer.Option(
        None, "--out", help="Adapter folder (default $CRSAGENT_HOME/llm/adapters/smollm2-135m-crs)."
    ),
    epochs: float = typer.Option(1.0, "--epochs", min=0.01, help="Passes over the training examples."),
    max_minutes: float | None = typer.Option(
        None, "--max-minutes", min=0.1, help="Training time budget; the run stops and checkpoints."
    ),
    max_steps: int | None = typer.Option(
        None, "--max-steps", min=1, help="Stop after this many steps of the planned schedule."
    ),
    batch_size: int = typer.Option(8, "--batch-size", min=1, help="Examples per optimiser step."),
    lr: float = typer.Option(3e-4, "--lr", min=0.0, help="Peak learning rate."),
    rank: int = typer.Option(16, "--rank", min=1, help="LoRA rank (alpha = 2 x rank)."),
    max_tokens: int = typer.Option(2048, "--max-tokens", min=64, help="Drop longer examples."),
    limit: int | None = typer.Option(None, "--limit", min=1, help="Use a seeded sample of this many training records."),
    valid_limit: int = typer.Option(60, "--valid-limit", min=0, help="Validation records used (a seeded sample)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the sample, data order, dropout and initialisation."),
    device: str = typer.Option("cpu", "--device", help="cpu (bf16 autocast where the CPU has it) or cuda."),
    threads: int | None = typer.Option(
        None, "--threads", min=1, help="CPU threads (default: torch's; 1 is faster on a busy shared CPU)."
    ),
    home: Path | None = typer.Option(None, "--home", help="Data home (default $CRSAGENT_HOME or ./.crsagent)."),
    json_path: Path | None = typer.Option(None, "--json", help="Also write the summary JSON here."),
) -> None:
    """LoRA SFT (peft) of the bundled SmolLM2-135M on teacher trajectories.

    Examples are rendered with the chat template and tool listing vLLM serves; the loss is on
    this turn's tool calls and reply only. A rerun with the same settings resumes from the last
    checkpoint (in `<out>.work/`). The adapter (safetensors), tune.json and a model card are
    written atomically into --out. The last stdout line is the summary JSON.
    """
    import random

    import torch

    from crsagent.agent.errors import ConfigError
    from crsagent.agent.llm.adapter import BASE_MODEL_ID, LICENCES, write_adapter
    from crsagent.agent.llm.lora import TUNED_MODEL_NAME
    from crsagent.agent.llm.profiles import profile_for
    from crsagent.agent.llm.tune import TuneConfig, file_sha256, load_base, train
    from crsagent.agent.llm.tune_data import load_records, render_example
    from crsagent.agent.llm.tune_eval import generation_metrics, validation_loss
    from crsagent.agent.llm.venv import llm_home
    from crsagent.agent.llm.weights import BUNDLED_GGUF, BUNDLED_MODEL_NAME, BUNDLED_WHEEL, bundled_model_dir
    from crsagent.prompts.loader import template_path
    from crsagent.tools.toolkit import Toolkit

    with cli_errors():
        if device not in ("cpu", "cuda"):
            raise ConfigError(f"--device must be cpu or cuda, not {device!r}")
        if device == "cuda" and not torch.cuda.is_available():
            raise ConfigError("--device cuda: no CUDA device is visible to torch")
        settings = settings_from(home)
        out = out or llm_home(settings.home) / "adapters" / TUNED_MODEL_NAME
        work = out.with_name(out.name + ".work")
        cfg = TuneConfig(
            rank=rank,
            alpha=2 * rank,
            lr=lr,
            batch_size=batch_size,
            epochs=epochs,
            max_tokens=max_tokens,
            max_minutes=max_minutes,
            max_steps=max_steps,
            seed=seed,
            device=device,
        )
        started = time.monotonic()
        model_dir = bundled_model_dir(settings.home)
        model, tok = load_base(model_dir, device)
        if device == "cpu" and threads:
            torch.set_num_threads(threads)
        template = template_path(profile_for(BUNDLED_MODEL_NAME).chat_template or "").read_text()
        records = load_records(train_path)
        if limit is not None and limit < len(records):
            records = [records[i] for i in sorted(random.Random(seed).sample(range(len(records)), limit))]
        valid = load_records(valid_path) if valid_path and str(valid_path) else []
        if valid_limit < len(valid):  # a seeded sample across both sources (the file lists ReDial first)
            valid = [valid[i] for i in sorted(random.Random(seed).sample(range(len(valid)), valid_limit))]
        if any(r.get("split") == "heldout" for r in records):
            raise ConfigError(f"{train_path} holds check-half turns; training uses the tuning half only")
        with progress_factory() as progress:
            advance = progress("rendering examples", len(records))
            examples, too_long = [], 0
            for r in records:
                ex = render_example(r, tok, template, cfg.max_tokens)
                too_long += ex is None
                if ex is not None:
                    examples.append(ex)
                advance(1)
            valid_ex = [e for r in valid if (e := render_example(r, tok, template, cfg.max_tokens)) is not None]
            pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
            base_loss = validation_loss(model, valid_ex, pad, device) if valid_ex else None
            peft_model, figures = train(model, tok, examples, cfg, work, progress, log=lambda s: err_console.print(s))
            metrics: dict[str, Any] = {}
            if valid_ex:
                metrics["valid_loss"] = round(validation_loss(peft_model, valid_ex, pad, device), 4)
                metrics["base_valid_loss"] = round(base_loss, 4) if base_loss is not None else None
                domains = sorted({r.get("domain") or "movies" for r in valid})
                toolkits = {d: Toolkit.load(settings, d, eager=True) for d in domains}
                served = profile_for(TUNED_MODEL_NAME)  # the agent loop's sampling fields
                body = served.agent_extra_body if served.agent_extra_body is not None else served.extra_body
                penalty = float(body.get("repetition_penalty", 1.0))
                metrics.update(
                    generation_metrics(peft_model, tok, template, valid, toolkits, device, progress, penalty)
                )
        data = {
            "train_path": str(train_path),
            "train_records": len(records),
            "train_examples": len(examples),
            "dropped_too_long": too_long,
            "train_trained_tokens": sum(e.trained_tokens for e in examples),
            "train_tokens": sum(len(e.input_ids) for e in examples),
            "per_source": dict(Counter(r.get("source") for r in records)),
            "per_domain": dict(Counter(r.get("domain") for r in records)),
            "per_action": dict(Counter(r.get("action") for r in records)),
            "valid_path": str(valid_path) if valid else None,
            "valid_records": len(valid),
            "valid_per_source": dict(Counter(r.get("source") for r in valid)),
        }
        base = {
            "name": BASE_MODEL_ID,
            "served_name": BUNDLED_MODEL_NAME,
            "source": f"{BUNDLED_WHEEL} {BUNDLED_GGUF}, converted to float32",
            "sha256": file_sha256(model_dir / "model.safetensors"),
        }
        info = {
            "name": TUNED_MODEL_NAME,
            "base": base,
            "config": {**cfg.key(), "max_minutes": max_minutes, "max_steps": max_steps, "targets": list(cfg.targets)},
            "data": data,
            "train": figures,
            "validation": metrics,
            "licences": LICENCES,
            "versions": {
                "torch": torch.__version__,
                "peft": __import__("peft").__version__,
                "transformers": __import__("transformers").__version__,
            },
            "command": "crsagent llm tune "
            + shlex.join(sys.argv[3:] if sys.argv[1:3] == ["llm", "tune"] else sys.argv[1:]),
            "wall_seconds": round(time.monotonic() - started, 1),
            "finished": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        }
        path = write_adapter(peft_model, out, info)
        summary = {"adapter": str(path), **{k: info[k] for k in ("train", "validation", "wall_seconds")}, "data": data}
        summary["validation"] = {k: v for k, v in metrics.items() if k != "samples"}
        err_console.print(json.dumps(metrics.get("samples", [])[:3], ensure_ascii=False)[:2000])
        emit_json(summary, json_path)
