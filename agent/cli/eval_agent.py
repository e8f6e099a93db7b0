"""``crsagent eval agent``: the agent loop on one or more served models, beside crs-only, in one sitting."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any, cast

import typer

from crsagent.agent.cli.common import cli_errors, emit_json, err_console, progress_factory, settings_from, write_json

__all__ = ["agent_eval", "split_models", "bundled_configs"]

#: The figures shown per row on stderr.
SHOWN = (
    "tool_call_valid_rate",
    "fallback_rate",
    "claim_repair_rate",
    "replay_recall@10",
    "sim_success_at_5",
    "llm_sim_success_at_5",
    "llm_calls_per_turn",
    "turn_p50_s",
)


def split_models(values: list[str]) -> list[str]:
    """``--model a --model b,c`` -> ``[a, b, c]`` (order kept, repeats dropped, blanks ignored)."""
    out: list[str] = []
    for value in values:
        for name in value.split(","):
            name = name.strip()
            if name and name not in out:
                out.append(name)
    return out


def bundled_configs(home: Path, models: list[str], log: Any) -> list[Any]:
    """One plain server per bundled model to measure: the merged tuned checkpoint, the base checkpoint.

    No LoRA path (vLLM's CPU LoRA kernels are several times slower), so the rows' latencies
    compare. Without the tuned adapter only the base is served.

    Raises:
        ConfigError: a requested model is not one of the bundled ones.
    """
    from crsagent.agent.errors import ConfigError
    from crsagent.agent.llm.server import LLMServerConfig, resolve_adapters

    planned = resolve_adapters(LLMServerConfig(port=0), home)
    configs = (
        {planned.default_model(): replace(planned, lora_modules=(), default_name=None)} if planned.merge_from else {}
    )
    base = LLMServerConfig(port=0, lora_modules=())
    configs[base.model_name()] = base
    if log:
        tuned = (
            f"the tuned model merged from {planned.merge_from}" if planned.merge_from else "no tuned adapter shipped"
        )
        log(f"bundled models: {', '.join(configs)} ({tuned}); one plain server each")
    unknown = [m for m in models if m not in configs]
    if unknown:
        raise ConfigError(
            f"the bundled server serves {', '.join(configs)}, not {', '.join(unknown)}; pass --llm-base-url for others"
        )
    return [configs[m] for m in (models or list(configs))]


def agent_eval(
    turns: int = typer.Option(20, "--turns", min=0, help="ReDial check-half turns (a seeded sample)."),
    dialogues: int = typer.Option(4, "--dialogues", min=0, help="Agenda-simulator dialogues (movies)."),
    seed: int = typer.Option(0, "--seed", help="Sampling seed of the turns and the simulator targets (not 1000)."),
    max_turns: int = typer.Option(5, "--max-turns", min=1, help="Agent turns per simulated dialogue."),
    llm_dialogues: int = typer.Option(
        0, "--llm-dialogues", min=0, help="LLM-simulator dialogues (movies), the user played by --sim-model."
    ),
    sim_model: str | None = typer.Option(
        None,
        "--sim-model",
        help="Served model that plays the LLM simulator's users "
        "(default: the bundled base model when it is served, else the first measured model).",
    ),
    llm_base_url: str | None = typer.Option(
        None, "--llm-base-url", help="Use this LLM server (default: start the bundled one, stop it after)."
    ),
    model: list[str] = typer.Option(
        [],
        "--model",
        help="Served model name to measure (repeatable, or comma-separated). "
        "Default: without --llm-base-url, the bundled models (the tuned one first, when its "
        "adapter ships, then the base); else the server's default model.",
    ),
    json_path: Path = typer.Option(
        Path("out/eval-agent.json"), "--json", help="Where to write the JSON (with per-sample outcomes)."
    ),
    home: Path | None = typer.Option(None, "--home", help="Data home (default $CRSAGENT_HOME or ./.crsagent)."),
) -> None:
    """The agent loop on real LLMs, beside crs-only, on material held out from the trajectories.

    Several models (``--model a --model b``) are measured in one sitting on the same turns and
    simulated users. Without ``--llm-base-url`` it starts one plain vLLM server per bundled model
    (the merged tuned checkpoint when the adapter ships, and the base) and stops them after. The
    JSON has one row per model and a crs-only row (``rows``, each with its per-sample outcomes,
    which ``crsagent eval report --agent-json`` judges), and, at the top, the first model's figures
    under the single-model keys: variant, model, turns, tool_call_valid_rate, fallback_rate,
    fallback_reasons, claim_repair_rate (turns whose false claim the guard replaced with the tool's
    reason), teacher_action_agreement,
    sim_success_at_5, crs_only_sim_success_at_5, replay_recall@10, crs_only_replay_recall@10,
    llm_calls_per_turn, tokens_per_turn, turn_p50_s, turn_p95_s; with ``--llm-dialogues``, also
    llm_sim_success_at_5 and crs_only_llm_sim_success_at_5. The last stdout line is the same
    object without the per-sample outcomes.
    """
    from langgraph.checkpoint.memory import InMemorySaver
    from langgraph.store.memory import InMemoryStore

    from crsagent.agent.llm.client import discover_model, make_chat_model
    from crsagent.agent.llm.server import LLMServer
    from crsagent.agent.llm.weights import BUNDLED_MODEL_NAME
    from crsagent.evals.agent_eval import check_turns, flat_figures, run_agent_comparison
    from crsagent.evals.datasets import TitleResolver, catalog_items, load_turns
    from crsagent.evals.simulators import LLMSimulator
    from crsagent.graphs.runner import CRSAgent
    from crsagent.tools.toolkit import Toolkit

    with cli_errors():
        settings = settings_from(home, llm_base_url=llm_base_url)
        models = split_models(model)
        servers: list[Any] = []
        urls: dict[str, str] = {}
        try:
            if not settings.llm_base_url:
                for config in bundled_configs(settings.home, models, lambda msg: err_console.print(msg)):
                    err_console.print(f"starting the bundled LLM server (vLLM CPU) for {config.model_name()} ...")
                    servers.append(
                        LLMServer(
                            settings.home, config, ready_timeout_s=900, log=lambda msg: err_console.print(msg)
                        ).__enter__()
                    )
                    urls[servers[-1].model_name] = servers[-1].base_url
                models = models or list(urls)
                settings = replace(settings, llm_base_url=urls[models[0]], llm_model=models[0])
            models = models or [settings.llm_model or discover_model(cast(str, settings.llm_base_url))]  # set above
            where = ", ".join(f"{m} at {urls.get(m, settings.llm_base_url)}" for m in models)
            err_console.print(f"measuring {where}, and crs-only")
            toolkit = Toolkit.load(settings, "movies", eager=True)

            def make(variant: str, name: str | None = None) -> Any:
                own = replace(
                    settings,
                    llm_base_url=urls.get(name or "", settings.llm_base_url),
                    llm_model=name or settings.llm_model,
                )
                llm = make_chat_model(own, name) if name else None
                return CRSAgent.create(
                    own, variant=variant, toolkit=toolkit, llm=llm, checkpointer=InMemorySaver(), store=InMemoryStore()
                )

            items = catalog_items(settings)
            simulator = None
            if llm_dialogues:
                player = sim_model or next((m for m in urls if m == BUNDLED_MODEL_NAME), models[0])
                simulator = LLMSimulator(
                    make_chat_model(
                        replace(settings, llm_base_url=urls.get(player, settings.llm_base_url), llm_model=player),
                        player,
                    )
                )
                err_console.print(f"the LLM simulator's users are played by {player}")
            chosen = check_turns(load_turns(settings.data_dir / "redial" / "dev_turns.jsonl"), turns, seed)
            with progress_factory() as progress:
                rows = run_agent_comparison(
                    lambda name: make("agent", name),
                    lambda: make("crs-only"),
                    models,
                    chosen,
                    TitleResolver.from_catalog(settings, items=items),
                    items,
                    dialogues=dialogues,
                    seed=seed,
                    max_turns=max_turns,
                    llm_dialogues=llm_dialogues,
                    llm_simulator=simulator,
                    progress=progress,
                )
        finally:
            for server in servers:
                server.stop()
        crs_row = rows[-1]
        out = {
            "variant": "agent",
            "model": models[0],
            **flat_figures(rows[0], crs_row),
            "seed": seed,
            "llm_base_url": settings.llm_base_url,
            "models": models,
            "servers": {m: urls.get(m, settings.llm_base_url) for m in models},
            "rows": rows,
        }
        for row in rows:
            err_console.print(
                f"{row['model'] or row['variant']}: " + ", ".join(f"{k} {row.get(k)}" for k in SHOWN if k in row)
            )
        write_json(out, json_path)
        compact = {**out, "rows": [{k: v for k, v in row.items() if k != "samples"} for row in rows]}
        emit_json(compact, None)
