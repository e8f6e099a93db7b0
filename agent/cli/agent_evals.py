"""``crsagent eval trajectories``: the agent loop's teacher data (``crsagent eval agent`` is in :mod:`.eval_agent`)."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import Any

import typer

from crsagent.agent.cli.common import cli_errors, emit_json, err_console, progress_factory, settings_from

__all__ = ["trajectories"]

HOME_OPT = typer.Option(None, "--home", help="Data home (default $CRSAGENT_HOME or ./.crsagent).")


def trajectories(
    json_path: Path = typer.Option(
        Path("out/trajectories.jsonl"), "--json", help="Where to write the trajectories (JSONL)."
    ),
    turns: int | None = typer.Option(
        None, "--turns", min=1, help="ReDial tuning-half turns (a seeded sample; default all)."
    ),
    sim_dialogues: int = typer.Option(60, "--sim-dialogues", min=0, help="Agenda-simulator dialogues per domain."),
    sim_question_dialogues: int = typer.Option(
        40,
        "--sim-question-dialogues",
        min=0,
        help="Curious-user dialogues per domain (questions about the recommended items, thanks; 0: none).",
    ),
    max_turns: int = typer.Option(5, "--max-turns", min=1, help="Agent turns per simulated dialogue."),
    seed: int = typer.Option(0, "--seed", help="Sampling seed for --turns."),
    split: str = typer.Option(
        "tuning", "--split", help="tuning (training data) or check (the validation set of `llm tune`)."
    ),
    home: Path | None = HOME_OPT,
) -> None:
    """The deterministic policy as a teacher: the agent node's exact messages and tool calls, as JSONL.

    ReDial dev turns of the tuning half (``--split check``: the check half, for validation only),
    plus agenda-simulator dialogues in both domains on the split's own seeds (1000/1001 for
    tuning, 3000/3001 for check), plus curious-user dialogues (`--sim-question-dialogues`, default
    40 per domain; 0 turns them off): agenda users that sometimes ask about a recommended item (its
    director, year, cast, plot, brand, why it was picked) or say thanks before going on, so the
    teacher shows `answer`, `explain` and `chitchat` turns (seeds 2000/2001 for tuning, 4000/4001
    for check). Prints counts per domain, source, action and tool; the last stdout line is the
    summary JSON (also written to `<stem>.summary.json`).
    """
    from crsagent.evals.datasets import catalog_items, load_turns
    from crsagent.evals.teacher import Teacher
    from crsagent.evals.trajectories import (
        QUESTION_SIM_SEED,
        QUESTION_VALIDATION_SIM_SEED,
        SPLITS,
        TRAJECTORY_SIM_SEED,
        VALIDATION_SIM_SEED,
        count_records,
        redial_trajectories,
        simulator_trajectories,
        tuning_turns,
        write_jsonl,
    )
    from crsagent.tools.toolkit import Toolkit

    with cli_errors():
        if split not in SPLITS:
            raise typer.BadParameter(f"--split must be one of {sorted(SPLITS)}, not {split!r}")
        half, sim_seed = SPLITS[split], TRAJECTORY_SIM_SEED if split == "tuning" else VALIDATION_SIM_SEED
        question_seed = QUESTION_SIM_SEED if split == "tuning" else QUESTION_VALIDATION_SIM_SEED
        settings = settings_from(home)
        started = time.perf_counter()
        dropped: Counter[str] = Counter()
        records: list[dict[str, Any]] = []
        with progress_factory() as progress:
            teachers = {"movies": Teacher(Toolkit.load(settings, "movies", eager=True))}  # ReDial: movie dialogues
            chosen = tuning_turns(load_turns(settings.data_dir / "redial" / "dev_turns.jsonl"), turns, seed, half)
            records += redial_trajectories(teachers["movies"], chosen, progress, dropped, half)
            for offset, domain in enumerate(("movies", "office")):
                teacher = teachers.get(domain) or Teacher(Toolkit.load(settings, domain, eager=True))
                items = catalog_items(settings, domain)  # read once for both kinds of user
                for n, base, curious in (
                    (sim_dialogues, sim_seed, False),
                    (sim_question_dialogues, question_seed, True),
                ):
                    if n:
                        records += simulator_trajectories(
                            teacher, items, n, base + offset, max_turns, progress, dropped, curious=curious
                        )
        write_jsonl(json_path, records)
        summary = {
            **count_records(records),
            "dropped": dict(dropped),
            "redial_turns": len(chosen),
            "redial_split": f"{half} ({split} half)",
            "sim_dialogues_per_domain": sim_dialogues,
            "sim_seeds": {"movies": sim_seed, "office": sim_seed + 1},
            "sim_question_dialogues_per_domain": sim_question_dialogues,
            "question_seeds": {"movies": question_seed, "office": question_seed + 1},
            "seed": seed,
            "path": str(json_path),
            "seconds": round(time.perf_counter() - started, 1),
        }
        for key in ("per_domain", "per_source", "per_action", "per_tool"):
            err_console.print(
                f"{key.removeprefix('per_')}: " + ", ".join(f"{k} {v}" for k, v in sorted(summary[key].items()))
            )
        emit_json(summary, json_path.with_name(json_path.stem + ".summary.json"))
