"""``crsagent eval trajectories`` and ``crsagent eval agent``: the agent loop's teacher data and its measurement."""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

import typer

from crsagent.agent.cli.common import cli_errors, emit_json, err_console, progress_factory, settings_from

__all__ = ["trajectories", "agent_eval"]

HOME_OPT = typer.Option(None, "--home", help="Data home (default $CRSAGENT_HOME or ./.crsagent).")


def trajectories(
    json_path: Path = typer.Option(Path("out/trajectories.jsonl"), "--json", help="Where to write the trajectories (JSONL)."),
    turns: int | None = typer.Option(None, "--turns", min=1, help="ReDial tuning-half turns (a seeded sample; default all)."),
    sim_dialogues: int = typer.Option(60, "--sim-dialogues", min=0, help="Agenda-simulator dialogues per domain."),
    max_turns: int = typer.Option(5, "--max-turns", min=1, help="Agent turns per simulated dialogue."),
    seed: int = typer.Option(0, "--seed", help="Sampling seed for --turns."),
    home: Path | None = HOME_OPT,
) -> None:
    """The deterministic policy as a teacher: the agent node's exact messages and tool calls, as JSONL.

    ReDial dev turns of the tuning half only, plus agenda-simulator dialogues in both domains on
    the trajectories' own seeds. Prints counts per domain, action and tool; the last stdout line
    is the summary JSON (also written to <stem>.summary.json).
    """
    from crsagent.evals.datasets import catalog_items, load_turns
    from crsagent.evals.teacher import Teacher
    from crsagent.evals.trajectories import (
        TRAJECTORY_SIM_SEED,
        count_records,
        redial_trajectories,
        simulator_trajectories,
        tuning_turns,
        write_jsonl,
    )
    from crsagent.tools.toolkit import Toolkit

    with cli_errors():
        settings = settings_from(home)
        started = time.perf_counter()
        dropped: Counter[str] = Counter()
        records: list[dict[str, Any]] = []
        with progress_factory() as progress:
            movies = Teacher(Toolkit.load(settings, "movies", eager=True))
            chosen = tuning_turns(load_turns(settings.data_dir / "redial" / "dev_turns.jsonl"), turns, seed)
            records += redial_trajectories(movies, chosen, progress, dropped)
            for offset, domain in enumerate(("movies", "office")):
                teacher = movies if domain == "movies" else Teacher(Toolkit.load(settings, domain, eager=True))
                if sim_dialogues:
                    records += simulator_trajectories(teacher, catalog_items(settings, domain), sim_dialogues,
                                                      TRAJECTORY_SIM_SEED + offset, max_turns, progress, dropped)
        write_jsonl(json_path, records)
        summary = {**count_records(records), "dropped": dict(dropped), "redial_turns": len(chosen),
                   "redial_split": "train (tuning half)", "sim_dialogues_per_domain": sim_dialogues,
                   "sim_seeds": {"movies": TRAJECTORY_SIM_SEED, "office": TRAJECTORY_SIM_SEED + 1},
                   "seed": seed, "path": str(json_path), "seconds": round(time.perf_counter() - started, 1)}
        for key in ("per_domain", "per_source", "per_action", "per_tool"):
            err_console.print(f"{key.removeprefix('per_')}: " + ", ".join(f"{k} {v}" for k, v in sorted(summary[key].items())))
        emit_json(summary, json_path.with_name(json_path.stem + ".summary.json"))


def agent_eval(
    turns: int = typer.Option(20, "--turns", min=0, help="ReDial check-half turns (a seeded sample)."),
    dialogues: int = typer.Option(4, "--dialogues", min=0, help="Agenda-simulator dialogues (movies)."),
    seed: int = typer.Option(0, "--seed", help="Sampling seed of the turns and the simulator targets (not 1000)."),
    max_turns: int = typer.Option(5, "--max-turns", min=1, help="Agent turns per simulated dialogue."),
    llm_base_url: str | None = typer.Option(None, "--llm-base-url", help="Use this LLM server (default: start the bundled one, stop it after)."),
    model: str | None = typer.Option(None, "--model", help="Served model name (default: the server's first model)."),
    json_path: Path = typer.Option(Path("out/eval-agent.json"), "--json", help="Where to write the JSON."),
    home: Path | None = HOME_OPT,
) -> None:
    """The agent loop on a real LLM, beside crs-only, on material held out from the trajectories.

    The last stdout line is one JSON object: variant, model, turns, tool_call_valid_rate,
    fallback_rate, fallback_reasons, teacher_action_agreement, sim_success_at_5,
    crs_only_sim_success_at_5, replay_recall@10, crs_only_replay_recall@10, llm_calls_per_turn,
    tokens_per_turn, turn_p50_s, turn_p95_s.
    """
    from crsagent.agent.llm.client import discover_model, make_chat_model
    from crsagent.agent.llm.server import LLMServer, ServerConfig
    from crsagent.evals.agent_eval import check_turns, run_agent_eval
    from crsagent.evals.datasets import TitleResolver, catalog_items, load_turns
    from crsagent.graphs.runner import CRSAgent
    from crsagent.tools.toolkit import Toolkit
    from langgraph.checkpoint.memory import InMemorySaver
    from langgraph.store.memory import InMemoryStore

    with cli_errors():
        settings = settings_from(home, llm_base_url=llm_base_url)
        server = None
        if not settings.llm_base_url:
            err_console.print("starting the bundled LLM server (vLLM CPU) ...")
            server = LLMServer(settings.home, ServerConfig(port=0), ready_timeout_s=900).__enter__()
            settings = replace(settings, llm_base_url=server.base_url, llm_model=server.model_name)
        try:
            name = model or settings.llm_model or discover_model(settings.llm_base_url)
            settings = replace(settings, llm_model=name)
            toolkit = Toolkit.load(settings, "movies", eager=True)
            llm = make_chat_model(settings, name)

            def make(variant: str) -> Any:
                return CRSAgent.create(settings, variant=variant, toolkit=toolkit, llm=llm if variant == "agent" else None,
                                       checkpointer=InMemorySaver(), store=InMemoryStore())

            items = catalog_items(settings)
            chosen = check_turns(load_turns(settings.data_dir / "redial" / "dev_turns.jsonl"), turns, seed)
            with progress_factory() as progress:
                figures = run_agent_eval(make, chosen, TitleResolver.from_catalog(settings, items=items), items, dialogues=dialogues, seed=seed,
                                         max_turns=max_turns, progress=progress)
        finally:
            if server is not None:
                server.stop()
        out = {"variant": "agent", "model": name, **figures, "seed": seed, "llm_base_url": settings.llm_base_url}
        err_console.print(json.dumps({k: out[k] for k in ("fallback_rate", "fallback_reasons", "tool_call_valid_rate")}))
        emit_json(out, json_path)
