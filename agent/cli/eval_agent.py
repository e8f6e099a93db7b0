"""``crsagent eval agent``: the agent loop on one or more served models, beside crs-only, in one sitting."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import typer

from crsagent.agent.cli.common import cli_errors, emit_json, err_console, progress_factory, settings_from

__all__ = ["agent_eval", "split_models", "default_models"]

#: The figures shown per row on stderr.
SHOWN = ("tool_call_valid_rate", "fallback_rate", "replay_recall@10", "sim_success_at_5", "llm_calls_per_turn", "turn_p50_s")


def split_models(values: list[str]) -> list[str]:
    """``--model a --model b,c`` -> ``[a, b, c]`` (order kept, repeats dropped, blanks ignored)."""
    out: list[str] = []
    for value in values:
        for name in value.split(","):
            name = name.strip()
            if name and name not in out:
                out.append(name)
    return out


def default_models(names: tuple[str, ...], default: str) -> list[str]:
    """The models to measure on a server this command started: its default first, then the others.

    With the tuned adapter served, that is ``[smollm2-135m-crs, smollm2-135m-instruct]``: tuned
    and base in one sitting.
    """
    return [default] + [n for n in names if n != default]


def _write_json(obj: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
    with os.fdopen(fd, "w") as fh:
        fh.write(json.dumps(obj, indent=2, default=float) + "\n")
    os.replace(tmp, path)


def agent_eval(
    turns: int = typer.Option(20, "--turns", min=0, help="ReDial check-half turns (a seeded sample)."),
    dialogues: int = typer.Option(4, "--dialogues", min=0, help="Agenda-simulator dialogues (movies)."),
    seed: int = typer.Option(0, "--seed", help="Sampling seed of the turns and the simulator targets (not 1000)."),
    max_turns: int = typer.Option(5, "--max-turns", min=1, help="Agent turns per simulated dialogue."),
    llm_base_url: str | None = typer.Option(None, "--llm-base-url", help="Use this LLM server (default: start the bundled one, stop it after)."),
    model: list[str] = typer.Option([], "--model", help="Served model name to measure (repeatable, or comma-separated). Default: every model of the bundled server this command starts (tuned adapter first, then the base), else the server's default model."),
    json_path: Path = typer.Option(Path("out/eval-agent.json"), "--json", help="Where to write the JSON (with per-sample outcomes)."),
    home: Path | None = typer.Option(None, "--home", help="Data home (default $CRSAGENT_HOME or ./.crsagent)."),
) -> None:
    """The agent loop on real LLMs, beside crs-only, on material held out from the trajectories.

    Several models (``--model a --model b``) are measured in one sitting on the same turns and
    simulated users. The JSON has one row per model and a crs-only row (``rows``, each with its
    per-sample outcomes, which ``crsagent eval report --agent-json`` judges), and, at the top, the
    first model's figures under the single-model keys: variant, model, turns,
    tool_call_valid_rate, fallback_rate, fallback_reasons, teacher_action_agreement,
    sim_success_at_5, crs_only_sim_success_at_5, replay_recall@10, crs_only_replay_recall@10,
    llm_calls_per_turn, tokens_per_turn, turn_p50_s, turn_p95_s. The last stdout line is the
    same object without the per-sample outcomes.
    """
    from crsagent.agent.llm.client import discover_model, make_chat_model
    from crsagent.agent.llm.server import LLMServer, ServerConfig
    from crsagent.evals.agent_eval import check_turns, flat_figures, run_agent_comparison
    from crsagent.evals.datasets import TitleResolver, catalog_items, load_turns
    from crsagent.graphs.runner import CRSAgent
    from crsagent.tools.toolkit import Toolkit
    from langgraph.checkpoint.memory import InMemorySaver
    from langgraph.store.memory import InMemoryStore

    with cli_errors():
        settings = settings_from(home, llm_base_url=llm_base_url)
        models = split_models(model)
        server = None
        if not settings.llm_base_url:
            err_console.print("starting the bundled LLM server (vLLM CPU) ...")
            server = LLMServer(settings.home, ServerConfig(port=0), ready_timeout_s=900,
                               log=lambda msg: err_console.print(msg)).__enter__()
            settings = replace(settings, llm_base_url=server.base_url, llm_model=server.model_name)
            models = models or default_models(server.model_names or (server.model_name,), server.model_name)
        try:
            models = models or [settings.llm_model or discover_model(settings.llm_base_url)]
            err_console.print(f"measuring {', '.join(models)} and crs-only at {settings.llm_base_url}")
            toolkit = Toolkit.load(settings, "movies", eager=True)

            def make(variant: str, name: str | None = None) -> Any:
                llm = make_chat_model(replace(settings, llm_model=name), name) if name else None
                return CRSAgent.create(replace(settings, llm_model=name or settings.llm_model), variant=variant,
                                       toolkit=toolkit, llm=llm, checkpointer=InMemorySaver(), store=InMemoryStore())

            items = catalog_items(settings)
            chosen = check_turns(load_turns(settings.data_dir / "redial" / "dev_turns.jsonl"), turns, seed)
            with progress_factory() as progress:
                rows = run_agent_comparison(lambda name: make("agent", name), lambda: make("crs-only"), models, chosen,
                                            TitleResolver.from_catalog(settings, items=items), items, dialogues=dialogues,
                                            seed=seed, max_turns=max_turns, progress=progress)
        finally:
            if server is not None:
                server.stop()
        crs_row = rows[-1]
        out = {"variant": "agent", "model": models[0], **flat_figures(rows[0], crs_row), "seed": seed,
               "llm_base_url": settings.llm_base_url, "models": models, "rows": rows}
        for row in rows:
            err_console.print(f"{row['model'] or row['variant']}: " + ", ".join(f"{k} {row.get(k)}" for k in SHOWN if k in row))
        _write_json(out, json_path)
        compact = {**out, "rows": [{k: v for k, v in row.items() if k != "samples"} for row in rows]}
        emit_json(compact, None)
