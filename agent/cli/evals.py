"""`crsagent eval ...` commands."""

from __future__ import annotations

from pathlib import Path as _Path
from typing import Any as _Any

import typer

from crsagent.agent.cli import agent_evals as _agent_evals
from crsagent.agent.cli.behaviour import behaviour_cmd as _behaviour_cmd
from crsagent.agent.cli.behaviour import catalogue_cmd as _catalogue_cmd
from crsagent.agent.cli.common import HELP_MARKUP
from crsagent.agent.cli.common import cli_errors as _cli_errors
from crsagent.agent.cli.common import emit_json as _emit_json
from crsagent.agent.cli.common import err_console as _err
from crsagent.agent.cli.common import progress_factory as _progress_factory
from crsagent.agent.cli.common import settings_from as _settings_from
from crsagent.agent.cli.eval_agent import agent_eval as _agent_eval
from crsagent.agent.cli.eval_office import office_eval as _office_eval

__all__ = ["app"]

app = typer.Typer(
    rich_markup_mode=HELP_MARKUP,
    no_args_is_help=True,
    help="Evaluations: offline recommender metrics, replayed dialogues, simulated users, reports.",
)


# --- evaluation harness: replay, simulate, understanding, synthetic, report (evals/ helper) ---------

_EVAL_HOME = typer.Option(None, "--home", help="Data home (default $CRSAGENT_HOME or ./.crsagent).")
_EVAL_LLM_URL = typer.Option(
    None, "--llm-base-url", help="OpenAI-compatible LLM server (default $CRSAGENT_LLM_BASE_URL)."
)


def _eval_settings(home: _Path | None, llm_base_url: str | None) -> _Any:
    return _settings_from(home, llm_base_url=llm_base_url)


def _check_variant(variant: str) -> str:
    from crsagent.agent.turns import VARIANTS

    if variant not in VARIANTS:
        raise typer.BadParameter(f"must be one of {', '.join(VARIANTS)}", param_hint="--variant")
    return variant


def _dialogue_splits() -> dict[str, _Any]:
    from crsagent.tools.intent.split import HELDOUT, TRAIN, dialogue_split

    return {
        "heldout": lambda r: dialogue_split(r["dialog_id"]) == HELDOUT,
        "train": lambda r: dialogue_split(r["dialog_id"]) == TRAIN,
    }


def _make_agent(
    settings: _Any, variant: str, signals: dict[str, bool] | None = None, runner: str | None = None
) -> _Any:
    if runner:
        return _load_runner(runner, settings, signals)
    from crsagent.evals.report import agent_factory

    return agent_factory(settings)(variant, signals)


def _replay_agent(
    settings: _Any, variant: str, signals: dict[str, bool] | None, runner: str | None, ranker: str, crossfit: bool
) -> _Any:
    """The replay's agent: cross-fitted learned rankers on the dev turns, the fusion with ``fused``."""
    if ranker not in ("learned", "fused"):
        raise typer.BadParameter("must be learned or fused", param_hint="--ranker")
    if runner:
        return _load_runner(runner, settings, signals)
    if ranker == "fused":
        import dataclasses

        from crsagent.graphs.ranking import DEFAULT_WEIGHTS
        from crsagent.graphs.runner import CRSAgent

        off: dict[str, _Any] = {k: 0.0 for k, on in (signals or {}).items() if not on}
        weights = dataclasses.replace(DEFAULT_WEIGHTS, learned=False, **off)
        return CRSAgent.create(settings, domain="movies", variant=variant, weights=weights)
    if crossfit:
        from crsagent.evals.crossfit import make_crossfit_runner

        agent = make_crossfit_runner(settings, variant, signals)
        if agent is not None:
            return agent
    return _make_agent(settings, variant, signals, runner)


_RUNNER = typer.Option(
    None,
    "--runner",
    help="Your own agent: module:factory, where factory(settings) returns an "
    "AgentRunner (e.g. CRSAgent.from_graph(...)); replaces --variant.",
)


def _load_runner(spec: str, settings: _Any, signals: dict[str, bool] | None = None) -> _Any:
    """``factory(settings)`` of a ``module:factory`` spec (``--runner``)."""
    import importlib
    import os
    import sys

    if os.getcwd() not in sys.path:  # like uvicorn: modules next to where the command runs
        sys.path.insert(0, os.getcwd())
    module, _, attr = spec.partition(":")
    if not module or not attr:
        raise typer.BadParameter("expected module:factory, e.g. my_agents:make_runner", param_hint="--runner")
    if signals:
        raise typer.BadParameter(
            "--signal-off applies to built-in variants; switch signals off in your factory", param_hint="--runner"
        )
    try:
        factory = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as exc:
        raise typer.BadParameter(f"cannot load {spec}: {exc}", param_hint="--runner") from exc
    agent = factory(settings)
    if not all(hasattr(agent, m) for m in ("aturn", "arun_history", "turn", "run_history")):
        raise typer.BadParameter(f"{spec} returned {type(agent).__name__}, not an AgentRunner", param_hint="--runner")
    return agent


def _parse_signals(off: list[str]) -> dict[str, bool] | None:
    allowed = ("intent", "cf", "vector", "content", "crew", "trans", "prior")
    bad = [s for s in off if s not in allowed]
    if bad:
        raise typer.BadParameter(f"unknown signal(s) {bad}; choose from {allowed}", param_hint="--signal-off")
    return {s: False for s in off} or None


@app.command("replay")
def replay_cmd(
    variant: str = typer.Option("crs-only", help="Agent variant."),
    turns: _Path | None = typer.Option(None, help="ReDial-turn-format JSONL (default: the bundled dev turns)."),
    limit: int | None = typer.Option(
        None, min=1, help="Replay only N turns (the first N, or a sample with --sample-seed)."
    ),
    sample_seed: int | None = typer.Option(
        None, help="Sample --limit turns with this seed instead of taking the first."
    ),
    json_path: _Path = typer.Option(
        _Path("out/replay.json"), "--json", help="Where to write the summary JSON; partial results go next to it."
    ),
    concurrency: int = typer.Option(1, min=1, help="Turns in flight (above 1 uses the async agent; for LLM variants)."),
    signal_off: list[str] = typer.Option(
        [],
        "--signal-off",
        help="Switch a ranking signal off (intent, cf, vector, content, crew, trans, prior); repeatable.",
    ),
    dialogues: _Path | None = typer.Option(
        None,
        help="ReDial dialogues with the seeker's questionnaires, for SR and RDL (default: the bundled dev dialogues).",
    ),
    mention_counts: str = typer.Option(
        "train-half",
        help="ReDial mention counts behind popularity and the prior: "
        "train-half (no evaluated dialogue), heldout-removed or corpus (as shipped).",
    ),
    ranker: str = typer.Option(
        "learned",
        help="learned (the built LightGBM ranker; on the dev turns cross-fitted: "
        "each half scored by the model trained on the other) or fused (the hand-tuned weights).",
    ),
    fresh: bool = typer.Option(False, help="Ignore partial results of an earlier run."),
    runner: str | None = _RUNNER,
    home: _Path | None = _EVAL_HOME,
    llm_base_url: str | None = _EVAL_LLM_URL,
) -> None:
    """Replay ReDial turns: Recall@1/10/50 (plain, filtered, dedup), SR and RDL of the agent's rankings.

    See docs/evaluation.md.
    """
    import tempfile

    from crsagent.evals.datasets import TitleResolver, load_turns, select_turns
    from crsagent.evals.leakage import MENTION_SOURCES, leak_free_settings
    from crsagent.evals.protocols import load_seeker_rewards
    from crsagent.evals.replay import run_replay
    from crsagent.evals.resume import PartialResults, partial_path_for

    _check_variant(variant)
    signals = _parse_signals(signal_off)
    if mention_counts not in MENTION_SOURCES:
        raise typer.BadParameter(f"must be one of {', '.join(MENTION_SOURCES)}", param_hint="--mention-counts")
    with _cli_errors(), tempfile.TemporaryDirectory(prefix="crsagent-replay-") as work:
        settings = _eval_settings(home, llm_base_url)
        path = turns or settings.data_dir / "redial" / "dev_turns.jsonl"
        dialogues_path = dialogues or settings.data_dir / "redial" / "dev_dialogues.jsonl"
        resolver = TitleResolver.from_catalog(settings)  # the benchmark's title mapping, whatever the agent's counts
        rewards = load_seeker_rewards(dialogues_path, resolver.resolve)
        settings = leak_free_settings(settings, mention_counts, _Path(work))
        chosen = select_turns(load_turns(path), limit, sample_seed)
        agent = _replay_agent(settings, variant, signals, runner, ranker, crossfit=path.name == "dev_turns.jsonl")
        variant = str(getattr(agent, "variant", variant))
        part = partial_path_for(json_path)
        if fresh and part.exists():
            part.unlink()
        config = {
            "cmd": "replay",
            "variant": variant,
            "signals": signals,
            "turns": str(path),
            "keys": [t.key for t in chosen],
            "mention_counts": mention_counts,
            "ranker": ranker,
        }
        with PartialResults(part, config) as partial, _progress_factory() as progress:
            if partial.done:
                _err.print(f"resuming: {len(partial.done)} of {len(chosen)} turns already done ({part})")
            result = run_replay(
                agent,
                chosen,
                resolver,
                partial=partial,
                progress=progress,
                concurrency=concurrency,
                splits=_dialogue_splits() if path.name == "dev_turns.jsonl" else None,
                rewards=rewards,
            )
        out = {
            **result.summary,
            "variant": variant,
            "signals_off": signal_off,
            "turns_file": str(path),
            "dialogues_file": str(dialogues_path),
            "mention_counts": mention_counts,
            "unmapped_titles": result.unmapped_titles[:50],
            "ranker": ranker,
            "crossfit": hasattr(agent, "for_turn"),
        }
        _emit_json(out, json_path)


@app.command("simulate")
def simulate_cmd(
    simulator: str = typer.Option("agenda", help="Simulated user: agenda (deterministic) or llm."),
    targets: int = typer.Option(50, min=1, help="Number of target items (one dialogue each)."),
    max_turns: int = typer.Option(5, min=1, help="Agent turns before a dialogue counts as a miss."),
    variant: str = typer.Option("crs-only", help="Agent variant."),
    seed: int = typer.Option(0, help="Target sampling and persona seed."),
    json_path: _Path = typer.Option(
        _Path("out/simulate.json"), "--json", help="Summary JSON; transcripts go to `<stem>.transcripts.jsonl`."
    ),
    fresh: bool = typer.Option(False, help="Ignore partial results of an earlier run."),
    runner: str | None = _RUNNER,
    home: _Path | None = _EVAL_HOME,
    llm_base_url: str | None = _EVAL_LLM_URL,
) -> None:
    """Simulated users talk to the agent: success by turn, average turns, LLM calls, recommendation precision."""
    import json as _json

    from crsagent.evals.datasets import catalog_items
    from crsagent.evals.resume import PartialResults, partial_path_for
    from crsagent.evals.simulators import run_simulation, select_targets

    _check_variant(variant)
    if simulator not in ("agenda", "llm"):
        raise typer.BadParameter("must be agenda or llm", param_hint="--simulator")
    with _cli_errors():
        settings = _eval_settings(home, llm_base_url)
        items = catalog_items(settings)
        lookup = {it.item_id: it for it in items}.get
        sim = _make_simulator(settings, simulator, items, lookup)
        chosen = select_targets(items, targets, seed=seed)
        agent = _make_agent(settings, variant, runner=runner)
        variant = str(getattr(agent, "variant", variant))
        part = partial_path_for(json_path)
        if fresh and part.exists():
            part.unlink()
        config = {
            "cmd": "simulate",
            "simulator": simulator,
            "variant": variant,
            "targets": [t.item_id for t in chosen],
            "max_turns": max_turns,
            "seed": seed,
        }
        with PartialResults(part, config) as partial, _progress_factory() as progress:
            result = run_simulation(
                agent,
                sim,
                chosen,
                max_turns=max_turns,
                seed=seed,
                partial=partial,
                progress=progress,
                item_lookup=lookup,
            )
        transcripts = json_path.with_name(json_path.stem + ".transcripts.jsonl")
        transcripts.parent.mkdir(parents=True, exist_ok=True)
        transcripts.write_text("".join(_json.dumps(r) + "\n" for r in result.records), encoding="utf-8")
        _emit_json({**result.summary, "variant": variant, "transcripts": str(transcripts)}, json_path)


def _make_simulator(settings: _Any, kind: str, items: list[_Any], lookup: _Any) -> _Any:
    from crsagent.evals.simulators import AgendaSimulator, LLMSimulator
    from crsagent.evals.simulators.base import linker_from
    from crsagent.tools.linker.linker import EntityLinker

    linker = linker_from(EntityLinker.from_items(items))
    if kind == "agenda":
        return AgendaSimulator(lookup, linker=linker)
    from crsagent.agent.llm.client import make_chat_model

    return LLMSimulator(make_chat_model(settings), linker=linker)


@app.command("understanding")
def understanding_cmd(
    variant: str = typer.Option(
        "crs-only", help="Agent variant (crs-only: deterministic understanding; full: with the LLM)."
    ),
    limit: int | None = typer.Option(None, min=1, help="Only N turns (a sample with --sample-seed)."),
    sample_seed: int | None = typer.Option(None, help="Sampling seed for --limit."),
    json_path: _Path = typer.Option(
        _Path("out/understanding.json"), "--json", help="Summary JSON; partial results go next to it."
    ),
    fresh: bool = typer.Option(False, help="Ignore partial results of an earlier run."),
    home: _Path | None = _EVAL_HOME,
    llm_base_url: str | None = _EVAL_LLM_URL,
) -> None:
    """Precision, recall and F1 of the belief state (items, liked items, genres, people) against ReDial annotations."""
    from crsagent.evals.datasets import TitleResolver, catalog_items, load_turns, select_turns
    from crsagent.evals.resume import PartialResults, partial_path_for
    from crsagent.evals.understanding import load_seeker_opinions, run_understanding

    _check_variant(variant)
    with _cli_errors():
        settings = _eval_settings(home, llm_base_url)
        chosen = select_turns(load_turns(settings.data_dir / "redial" / "dev_turns.jsonl"), limit, sample_seed)
        items = catalog_items(settings)
        resolver = TitleResolver.from_catalog(settings, items=items)
        vocab = {g for it in items for g in it.genres}
        agent = _make_agent(settings, variant)
        part = partial_path_for(json_path)
        if fresh and part.exists():
            part.unlink()
        config = {"cmd": "understanding", "variant": variant, "keys": [t.key for t in chosen]}
        with PartialResults(part, config) as partial, _progress_factory() as progress:
            result = run_understanding(
                agent,
                chosen,
                resolver,
                vocab,
                opinions=load_seeker_opinions(settings.data_dir),
                partial=partial,
                progress=progress,
            )
        _emit_json({**result.summary, "variant": variant}, json_path)


@app.command("synthetic")
def synthetic_cmd(
    users: int = typer.Option(20, min=1, help="MovieLens users to simulate (seeded sample)."),
    out: _Path | None = typer.Option(
        None, help="Output JSONL (default `<home>/movies/synthetic_dialogues.jsonl`, which the intent stage reads)."
    ),
    simulator: str = typer.Option("llm", help="Who plays the users: llm (RecLLM) or agenda."),
    variant: str = typer.Option("crs-only", help="Agent variant on the recommender side."),
    max_turns: int = typer.Option(4, min=1, help="Agent turns per dialogue."),
    seed: int = typer.Option(0, help="User sampling and persona seed."),
    json_path: _Path | None = typer.Option(None, "--json", help="Also write the summary here."),
    home: _Path | None = _EVAL_HOME,
    llm_base_url: str | None = _EVAL_LLM_URL,
) -> None:
    """Write synthetic dialogues for MovieLens users' held-out items (training text for the intent model)."""
    from crsagent.evals.datasets import catalog_items
    from crsagent.evals.resume import PartialResults
    from crsagent.evals.synthetic import SYNTHETIC_FILE, synthetic_cases, write_synthetic

    _check_variant(variant)
    if simulator not in ("agenda", "llm"):
        raise typer.BadParameter("must be agenda or llm", param_hint="--simulator")
    with _cli_errors():
        settings = _eval_settings(home, llm_base_url)
        items = catalog_items(settings)
        by_id = {it.item_id: it for it in items}
        sim = _make_simulator(settings, simulator, items, by_id.get)
        cases = synthetic_cases(settings.data_dir, users, seed=seed, known_ids=set(by_id))
        agent = _make_agent(settings, variant)
        target = out or settings.domain_home("movies") / SYNTHETIC_FILE
        config = {
            "cmd": "synthetic",
            "simulator": simulator,
            "variant": variant,
            "users": [c.user_id for c in cases],
            "max_turns": max_turns,
            "seed": seed,
        }
        with (
            PartialResults(target.with_name(target.stem + ".partial.jsonl"), config) as partial,
            _progress_factory() as progress,
        ):
            summary = write_synthetic(
                agent, sim, cases, by_id.get, target, max_turns=max_turns, seed=seed, partial=partial, progress=progress
            )
        _emit_json(summary, json_path)


@app.command("report")
def report_cmd(
    sample: int = typer.Option(50, min=1, help="Turns (seeded sample) for the LLM variants and LLM understanding."),
    crs_limit: int | None = typer.Option(
        None, min=1, help="Turns for crs-only and the ablations (default: all dev turns)."
    ),
    sim_targets: int = typer.Option(30, min=0, help="Agenda-simulated dialogues per variant (0: none)."),
    max_turns: int = typer.Option(5, min=1, help="Turns per simulated dialogue."),
    understanding_limit: int = typer.Option(
        300, min=0, help="Turns for the crs-only understanding evaluation (0: none)."
    ),
    seed: int = typer.Option(0, help="Sampling seed."),
    out: _Path = typer.Option(
        _Path("out/report"), help="Report folder (report.md, report.json, PNG plots; partial results under partial/)."
    ),
    extra_json: list[_Path] = typer.Option(
        [], "--extra-json", help="Further result JSON files to include (e.g. the synthetic-dialogue effect)."
    ),
    agent_json: _Path | None = typer.Option(
        None, "--agent-json", help="An `eval agent` JSON with tuned and base rows: judge the tuning claim on it."
    ),
    tuned_model: str | None = typer.Option(
        None, "--tuned-model", help="The tuned row's model name (default smollm2-135m-crs)."
    ),
    base_model: str | None = typer.Option(
        None, "--base-model", help="The base row's model name (default smollm2-135m-instruct)."
    ),
    only_tuning: bool = typer.Option(
        False,
        "--only-tuning",
        help="Judge only the tuning claim (needs --agent-json): write tuning-claim.md/.json, run nothing.",
    ),
    home: _Path | None = _EVAL_HOME,
    llm_base_url: str | None = _EVAL_LLM_URL,
) -> None:
    """Run every variant and signal ablation on the dev turns; write a Markdown report with PNG plots and
    the claims' verdicts.

    With ``--agent-json``, also judge "tuning the LLM on synthetic dialogues improves its CRS
    behaviour" on that ``eval agent`` run (tuned vs base rows, 95% bootstrap intervals).
    """
    import json as _json

    tuning = None
    if agent_json is not None:
        from crsagent.evals.tuning_claim import judge_tuning_claim

        try:
            tuning = judge_tuning_claim(
                _json.loads(agent_json.read_text()), tuned=tuned_model, base=base_model, seed=seed
            )
        except (OSError, ValueError) as exc:
            raise typer.BadParameter(f"cannot read {agent_json}: {exc}", param_hint="--agent-json") from exc
    if only_tuning:
        if tuning is None:
            raise typer.BadParameter("--only-tuning needs --agent-json", param_hint="--only-tuning")
        _write_tuning(tuning, out)
        return

    from crsagent.evals.datasets import TitleResolver, catalog_items, load_turns, select_turns
    from crsagent.evals.replay import PopularityRunner
    from crsagent.evals.report import agent_factory, run_report
    from crsagent.evals.resume import PartialResults
    from crsagent.evals.simulators import AgendaSimulator, run_simulation, select_targets
    from crsagent.evals.understanding import load_seeker_opinions, run_understanding

    with _cli_errors():
        settings = _eval_settings(home, llm_base_url)
        items = catalog_items(settings)
        by_id = {it.item_id: it for it in items}
        resolver = TitleResolver.from_catalog(settings, items=items)
        all_turns = load_turns(settings.data_dir / "redial" / "dev_turns.jsonl")
        turns = select_turns(all_turns, crs_limit, seed if crs_limit else None)
        targets = select_targets(items, sim_targets, seed=seed) if sim_targets else []
        opinions = load_seeker_opinions(settings.data_dir)
        vocab = {g for it in items for g in it.genres}
        part_dir = out / "partial"

        with _progress_factory() as progress:

            def simulate(agent: _Any, variant: str) -> dict[str, _Any]:
                if not targets:
                    return {}
                n = len(targets) if variant == "crs-only" else max(1, min(len(targets), sample // 10))
                with PartialResults(
                    part_dir / f"sim-{variant}.partial.jsonl",
                    {"v": variant, "t": [t.item_id for t in targets[:n]], "m": max_turns},
                ) as p:
                    return run_simulation(
                        agent,
                        AgendaSimulator(by_id.get),
                        targets[:n],
                        max_turns=max_turns,
                        seed=seed,
                        partial=p,
                        progress=progress,
                        item_lookup=by_id.get,
                        description=f"simulate {variant}",
                    ).summary

            def understand(agent: _Any, todo: _Any) -> dict[str, _Any]:
                if not understanding_limit or agent.variant in ("llm-only", "crs-assists-llm"):
                    return {}  # their understanding is the deterministic one (as crs-only)
                todo = select_turns(list(todo), understanding_limit, seed)
                with PartialResults(
                    part_dir / f"und-{agent.variant}.partial.jsonl", {"keys": [t.key for t in todo]}
                ) as p:
                    return run_understanding(
                        agent,
                        todo,
                        resolver,
                        vocab,
                        opinions=opinions,
                        partial=p,
                        progress=progress,
                        description=f"understanding {agent.variant}",
                    ).summary

            obj = run_report(
                agent_factory(settings),
                turns,
                resolver,
                out,
                sample=sample,
                seed=seed,
                llm_available=bool(settings.llm_base_url),
                simulate=simulate if targets else None,
                understand=understand if understanding_limit else None,
                popularity=PopularityRunner(items),
                splits=_dialogue_splits(),
                progress=progress,
                meta={"llm_base_url": settings.llm_base_url or "none", "max_turns": max_turns},
                extra={p.stem: _json.loads(p.read_text()) for p in extra_json},
                tuning=tuning,
            )
        claims = {c["claim"]: c["verdict"] for c in obj["claims"]}
        if tuning is not None:
            claims[tuning["claim"]] = tuning["verdict"]
        _emit_json(
            {
                "report": str(out / "report.md"),
                "claims": claims,
                **{f"{n}/recall@10": r["summary"].get("recall@10") for n, r in obj["replay"].items()},
            },
            out / "summary.json",
        )


def _write_tuning(tuning: dict[str, _Any], out: _Path) -> None:
    """``--only-tuning``: the tuning claim alone, as ``tuning-claim.md`` and ``tuning-claim.json`` in ``out``."""
    from crsagent.evals.tuning_claim import tuning_lines

    out.mkdir(parents=True, exist_ok=True)
    (out / "tuning-claim.md").write_text("\n".join(["# The tuning claim", "", *tuning_lines(tuning)[2:]]) + "\n")
    for metric, comp in tuning["comparisons"].items():
        ci = f"[{comp['ci_low']:+.3f}, {comp['ci_high']:+.3f}]" if "ci_low" in comp else "-"
        _err.print(f"{metric}: tuned - base {comp.get('delta', '-')} {ci} ({comp['direction']})")
    _emit_json(
        {
            "report": str(out / "tuning-claim.md"),
            "claims": {tuning["claim"]: tuning["verdict"]},
            "note": tuning.get("note", ""),
            "tuning_claim": tuning,
        },
        out / "tuning-claim.json",
    )


# --- offline recommender metrics and the CF latency benchmark (models helper) ------------------


@app.command("offline")
def offline_cmd(
    domain: str = typer.Option("movies", "--domain", "-d", help="movies | office"),
    json_path: _Path | None = typer.Option(None, "--json", help="Also write the result JSON here."),
    bench_scale: int = typer.Option(
        0,
        "--bench-scale",
        min=0,
        help="Also time CF top-50 on a synthetic catalogue of this many items (e.g. 1000000).",
    ),
    bench_only: bool = typer.Option(
        False,
        "--bench-only",
        help="Only the latency benchmarks (the built CF and intent models, and --bench-scale); no training.",
    ),
    split_level: int = typer.Option(
        0, "--split-level", min=0, max=1, help="0: test (last positive held out); 1: validation (second-to-last)."
    ),
    tune: bool = typer.Option(
        False,
        "--tune",
        help="Sweep the intent model's K, lambda, negatives and the fusion weight on the validation split.",
    ),
    home: _Path | None = _EVAL_HOME,
) -> None:
    """Leave-last-out Recall@10 / NDCG@10 of popularity, CF, sequential and CF+intent (models fitted on the rest)."""
    from crsagent.agent.settings import DOMAINS
    from crsagent.evals.offline import bench_cf, bench_model, default_grid, evaluate_offline, tune_intent

    if domain not in DOMAINS:
        raise typer.BadParameter(f"must be one of {', '.join(DOMAINS)}", param_hint="--domain")
    with _cli_errors():
        settings = _settings_from(home)
        if bench_only:
            from crsagent.evals.offline import bench_intent
            from crsagent.tools.toolkit import Toolkit

            tk = Toolkit.load(settings, domain)  # activates the built ONNX text encoder, as serving does
            out: dict[str, _Any] = {
                "domain": domain,
                "cf_latency": bench_model(tk.cf),
                "intent_latency": bench_intent(tk.intent),
            }
        elif tune:
            with _progress_factory() as progress:
                out = tune_intent(settings, domain, default_grid(domain), progress=progress, log=_err.log)
        else:
            with _progress_factory() as progress:
                out = evaluate_offline(settings, domain, progress=progress, log=_err.log, split_level=split_level)
        if bench_scale:
            out["cf_latency_synthetic"] = bench_cf(bench_scale)
        _emit_json(out, json_path)


# --- the agent loop: teacher trajectories (agent/cli/agent_evals.py) and the loop on real LLMs
# (agent/cli/eval_agent.py) ---
app.command("trajectories")(_agent_evals.trajectories)
app.command("agent")(_agent_eval)

# --- the office domain measured (issue 18, item 6; agent/cli/eval_office.py) ---
app.command("office")(_office_eval)

# --- conversation quality (issue 21): the behaviour suite and the catalogue audit (agent/cli/behaviour.py) ---
app.command("behaviour")(_behaviour_cmd)
app.command("catalogue")(_catalogue_cmd)
