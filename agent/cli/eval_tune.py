"""``crsagent eval tune ...``: the ranking tuners (the evidence behind ``DEFAULT_WEIGHTS``).

Each command runs one tuner of :mod:`crsagent.evals.tuning` on the ReDial dev turns of the data
home and prints its JSON report (the last stdout line is JSON):

* ``weights`` — the fusion weights, gridded on the ``tune`` half
  (:mod:`~crsagent.evals.tuning.weights`);
* ``remention`` — the re-mention weight, replayed per grid value
  (:mod:`~crsagent.evals.tuning.remention`);
* ``ablation`` — the learned ranker's feature-set ablations
  (:mod:`~crsagent.evals.tuning.ranker_ablation`);
* ``office-weights`` — the office fusion weights (``OFFICE_WEIGHTS``), gridded on the ``tuning``
  half of the held-out Amazon office users (:mod:`~crsagent.evals.tuning.office_weights`).
"""

from __future__ import annotations

from pathlib import Path

import typer

from crsagent.agent.cli.common import HELP_MARKUP, cli_errors, emit_json, err_console, progress_factory, settings_from

__all__ = ["app"]

app = typer.Typer(
    rich_markup_mode=HELP_MARKUP,
    no_args_is_help=True,
    help="Tune the ranking: fusion weights, re-mention weight, ranker ablations.",
)

_JSON = typer.Option(None, "--json", help="Also write the JSON report here.")
_CACHE = typer.Option(None, "--cache", help="Pickle of the collected turns (reused when present).")


def _argv(**opts: object) -> list[str]:
    argv: list[str] = []
    for key, value in opts.items():
        flag = "--" + key.replace("_", "-")
        if value is None or value is False:
            continue
        if value is True:
            argv.append(flag)
        elif isinstance(value, (list, tuple)):
            for v in value:
                argv += [flag, str(v)]
        else:
            argv += [flag, str(value)]
    return argv


@app.command("weights")
def weights(
    json_path: Path | None = _JSON,
    cache: Path | None = _CACHE,
    limit: int | None = typer.Option(None, "--limit", min=1, help="At most this many turns per split."),
    extra: list[str] = typer.Option([], "--extra", help="An experimental extra signal (repeatable)."),
    default_mode_only: bool = typer.Option(False, "--default-mode-only", help="Skip the soft-constraint alternatives."),
    mention_counts: str = typer.Option(
        "train-half",
        "--mention-counts",
        help="ReDial mention counts behind popularity and the prior: train-half (as eval replay), "
        "heldout-removed or corpus (as shipped).",
    ),
) -> None:
    """Grid the fusion weights on the ``tune`` half; report every split (docs/ranking.md)."""
    from crsagent.evals.tuning.weights import main

    with cli_errors():
        main(
            _argv(
                json=json_path,
                cache=cache,
                limit=limit,
                extra=extra,
                default_mode_only=default_mode_only,
                mention_counts=mention_counts,
            )
        )


@app.command("remention")
def remention(json_path: Path | None = _JSON) -> None:
    """Replay ``tune`` and ``check`` per re-mention weight; choose on ``tune``."""
    from crsagent.evals.tuning.remention import main

    with cli_errors():
        main(_argv(json=json_path))


@app.command("ablation")
def ablation(
    json_path: Path | None = _JSON,
    cache: Path | None = _CACHE,
    feature_set: list[str] = typer.Option([], "--set", help="Feature sets to run (repeatable; default all)."),
) -> None:
    """Train and score the learned ranker without each feature set (cross-fitted halves)."""
    from crsagent.evals.tuning.ranker_ablation import main

    with cli_errors():
        main(_argv(json=json_path, cache=cache, set=feature_set))


@app.command("office-weights")
def office_weights(
    json_path: Path | None = _JSON,
    users: int | None = typer.Option(None, "--users", min=1, help="A seeded sample of users (default all)."),
    seed: int = typer.Option(0, "--seed", help="The sample's seed."),
    home: Path | None = typer.Option(None, "--home", help="Data home (default $CRSAGENT_HOME or ./.crsagent)."),
) -> None:
    """Grid the office fusion weights on the ``tuning`` half of the held-out office users: CF and
    SASRec refitted without the held-out items (as ``crsagent eval office``), each tuning user's
    signals collected once (progress bar on stderr), every grid row scored, the chosen weights
    printed with their tuning-half figures; the ``check`` half is never scored (docs/ranking.md)."""
    from crsagent.evals.tuning.office_weights import tune_office_weights

    with cli_errors(), progress_factory() as start:
        out = tune_office_weights(
            settings_from(home), users=users, seed=seed, progress=start, log=lambda msg: err_console.log(msg)
        )
    emit_json(out, json_path)
