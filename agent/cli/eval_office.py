"""``crsagent eval office``: the office domain's next-item metrics and simulated dialogues."""

from __future__ import annotations

from pathlib import Path

import typer

from crsagent.agent.cli.common import cli_errors, emit_json, err_console, settings_from

__all__ = ["office_eval"]


def office_eval(
    users: int | None = typer.Option(None, "--users", min=1, help="Offline users (a seeded sample; default all)."),
    sim_targets: int = typer.Option(
        50, "--sim-targets", min=0, help="Agenda-simulated dialogues per half of the users (0: none)."
    ),
    sim_movie_weights: bool = typer.Option(
        False, "--sim-movie-weights", help="Also simulate the dialogues with the movie weights (twice the dialogues)."
    ),
    max_turns: int = typer.Option(5, "--max-turns", min=1, help="Agent turns per simulated dialogue."),
    seed: int = typer.Option(0, "--seed", help="User and target sampling seed."),
    built_models: bool = typer.Option(
        False,
        "--built-models",
        help="Use the built CF, SASRec and catalogue popularity as they are (fast; their training data "
        "holds the targets, so the figures are optimistic and marked leaky).",
    ),
    json_path: Path | None = typer.Option(None, "--json", help="Also write the report here."),
    home: Path | None = typer.Option(None, "--home", help="Data home (default $CRSAGENT_HOME or ./.crsagent)."),
) -> None:
    """Office: R@10 / NDCG@10 of popularity, CF, SASRec and the fused ranking (movie and office
    weights) on held-out next items, and agenda-simulator success@5 on those items, for the
    ``tuning`` and the ``check`` half of the users apart (docs/evaluation.md)."""
    from crsagent.evals.office import evaluate_office

    with cli_errors():
        out = evaluate_office(
            settings_from(home),
            users=users,
            sim_targets=sim_targets,
            max_turns=max_turns,
            seed=seed,
            refit=not built_models,
            sim_movie_weights=sim_movie_weights,
            log=lambda msg: err_console.log(msg),
        )
    emit_json(out, json_path)
