"""One evaluation report: variants, signal ablations, simulated users, the seed papers' claims.

:func:`run_report` replays the ReDial dev turns through every collaboration variant (the LLM
variants on a seeded sample) and through the signal ablations of ``crs-only`` (intent scorer,
CF, vector search off: both ``vector`` and ``content``), runs agenda-simulated dialogues, scores
belief extraction, and hands the results to :func:`write_report`, which writes ``report.md``,
``report.json`` and PNG plots.

Each claim of the seed papers is judged on Recall@10 by a paired bootstrap over turns
(1,000 resamples, fixed seed): *reproduced* when the 95% interval of the difference is above
zero, *contradicted* when it is below zero, *inconclusive* otherwise, *not measured* when a
run is missing (for example without an LLM server). A claim with two comparisons (CF and
vector search for "CF + semantic fusion") is reproduced only when both are; the table shows
each comparison's own verdict next to the claim's.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from crsagent.evals.claims import (
    CLAIMS,
    RunOutcome,
    comparison_verdict,
    judge_claims,
    outcome_from_replay,
    paired_delta,
)
from crsagent.evals.report_writer import PUBLISHED, ReportData, write_report

__all__ = [
    "PUBLISHED",
    "CLAIMS",
    "RunOutcome",
    "ReportData",
    "outcome_from_replay",
    "paired_delta",
    "judge_claims",
    "comparison_verdict",
    "ABLATIONS",
    "write_report",
    "run_report",
    "agent_factory",
]


AgentFactory = Callable[[str, Mapping[str, bool] | None], Any]


def agent_factory(settings: Any, domain: str = "movies", llm: Any | None = None) -> AgentFactory:
    """``make(variant, signals)`` over :meth:`crsagent.graphs.runner.CRSAgent.create`.

    ``signals`` (signal name -> on/off) goes to the agent's ``signals`` option when it has one;
    otherwise a switched-off signal gets a zero fusion weight (its items may still enter the
    candidate pool through other signals, but it no longer scores them).
    """

    def make(variant: str, signals: Mapping[str, bool] | None = None) -> Any:
        import dataclasses
        import inspect

        from crsagent.graphs.runner import CRSAgent

        extra: dict[str, Any] = {}
        if signals:
            if "signals" in inspect.signature(CRSAgent.create).parameters:
                extra["signals"] = dict(signals)
            else:
                from crsagent.graphs.ranking import DEFAULT_WEIGHTS

                off: dict[str, Any] = {k: 0.0 for k, on in signals.items() if not on}
                extra["weights"] = dataclasses.replace(DEFAULT_WEIGHTS, **off)
        return CRSAgent.create(settings, domain=domain, variant=variant, llm=llm, **extra)

    return make


Progress = Callable[[str, int | None], Callable[[int], None]]

#: Signal ablations of crs-only: run name -> signals switched off.
ABLATIONS: dict[str, dict[str, bool]] = {
    "crs-only -intent": {"intent": False},
    "crs-only -cf": {"cf": False},
    # both signals that query the vector index: the user's words (vector) and the items' profile (content)
    "crs-only -vector": {"vector": False, "content": False},
}


#: Why the LatentCRS claim is not reproduced when the learned ranker leaves the intents out.
INTENTS_DROPPED = (
    "the learned ranker leaves the LatentCRS intents out: as a ranker feature they earned no gain in the "
    "cross-fitted ablation (docs/journal/2026-12-07-learned-ranker.md), so serving no longer runs them"
)


def _note_dropped_intents(data: ReportData, agent: Any) -> None:
    ranker = getattr(getattr(agent, "toolkit", None), "ranker", None)
    if ranker is not None and "intent" not in getattr(ranker, "features", ()):
        data.not_reproduced["Latent intents help"] = INTENTS_DROPPED


def run_report(
    make_agent: AgentFactory,
    turns: Sequence[Any],
    resolver: Any,
    out_dir: Path | str,
    *,
    sample: int = 50,
    seed: int = 0,
    llm_available: bool = False,
    variants: Sequence[str] = ("crs-only", "llm-only", "llm-assists-crs", "crs-assists-llm", "full"),
    ablations: Mapping[str, Mapping[str, bool]] = ABLATIONS,
    simulate: Callable[[Any, str], dict[str, Any]] | None = None,
    understand: Callable[[Any, Sequence[Any]], dict[str, Any]] | None = None,
    popularity: Any | None = None,
    splits: Mapping[str, Callable[[Mapping[str, Any]], bool]] | None = None,
    progress: Progress | None = None,
    meta: Mapping[str, Any] | None = None,
    extra: Mapping[str, Any] | None = None,
    rewards: Mapping[str, Mapping[str, float]] | None = None,
    tuning: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Run the variants, ablations, simulations and understanding evaluation; write the report.

    Args:
        make_agent: ``make_agent(variant, signals) -> AgentRunner``; may raise a typed
            :class:`~crsagent.agent.errors.CrsAgentError` (the run is then noted as skipped).
        turns: the dev turns for crs-only and the ablations (all of them, or a limit).
        resolver: title -> id (:class:`~crsagent.evals.datasets.TitleResolver`).
        out_dir: report folder; partial results live in ``out_dir/partial`` (re-runs resume).
        sample: turns for the LLM variants (a seeded sample of ``turns``).
        seed: sampling seed.
        llm_available: run the LLM variants (they need a server).
        variants: which variants to run.
        ablations: crs-only signal ablations (name -> signals off).
        simulate: ``simulate(agent, variant) -> simulation summary``, optional.
        understand: ``understand(agent, turns) -> understanding summary``, optional.
        popularity: a popularity runner to replay as a baseline, optional.
        splits: dialogue splits for split summaries; with a ``heldout`` split the claims are
            judged on the held-out dialogues only.
        progress: ``progress(description, total) -> advance(n)``.
        meta: run settings shown in the report.
        extra: further results shown as JSON sections (title -> object).
        rewards: the seekers' rewards for SR / RDL (:func:`~crsagent.evals.protocols.load_seeker_rewards`);
            default: from the bundled dev dialogues, which the dev turns come from.
        tuning: the tuning claim judged on an ``eval agent`` run
            (:func:`crsagent.evals.tuning_claim.judge_tuning_claim`), shown with the claims.
    """
    from crsagent.agent.errors import CrsAgentError
    from crsagent.agent.settings import Settings
    from crsagent.evals.datasets import select_turns
    from crsagent.evals.protocols import load_seeker_rewards
    from crsagent.evals.replay import run_replay
    from crsagent.evals.resume import PartialResults

    if rewards is None:
        rewards = load_seeker_rewards(Settings.from_env().data_dir / "redial" / "dev_dialogues.jsonl", resolver.resolve)
    out = Path(out_dir)
    part_dir = out / "partial"
    part_dir.mkdir(parents=True, exist_ok=True)
    sampled = select_turns(list(turns), sample, seed)
    data = ReportData(
        meta={**(meta or {}), "crs_turns": len(turns), "llm_sample": len(sampled), "seed": seed},
        extra=dict(extra or {}),
        tuning=dict(tuning) if tuning is not None else None,
    )
    if splits and "heldout" in splits:
        held = splits["heldout"]
        data.claims_on = ("held-out", lambda dialog_id: bool(held({"dialog_id": dialog_id})))

    def replay(name: str, kind: str, agent: Any, todo: Sequence[Any], concurrency: int = 1) -> None:
        with PartialResults(
            part_dir / f"{name.replace(' ', '_')}.partial.jsonl", {"run": name, "turns": [t.key for t in todo]}
        ) as p:
            res = run_replay(
                agent,
                todo,
                resolver,
                partial=p,
                progress=progress,
                splits=splits,
                concurrency=concurrency,
                description=f"replay {name}",
                rewards=rewards,
            )
        data.replay[name] = outcome_from_replay(
            name, kind, res, note="" if len(todo) == len(turns) else f"on a seeded sample of {len(todo)} turns"
        )

    if popularity is not None:
        replay("popularity", "baseline", popularity, turns)
    for variant in variants:
        uses_llm = variant != "crs-only"
        if uses_llm and not llm_available:
            data.notes.append(f"{variant}: not run (no LLM server; pass --llm-base-url)")
            continue
        try:
            agent = make_agent(variant, None)
        except CrsAgentError as exc:
            data.notes.append(f"{variant}: not run ({type(exc).__name__}: {exc})")
            continue
        if variant == "crs-only":
            _note_dropped_intents(data, agent)
        missing = getattr(getattr(agent, "toolkit", None), "missing", None)
        if missing and variant == "crs-only":
            data.notes.append(
                "signals unavailable to the agent in this run (ablations of them measure nothing): "
                + "; ".join(f"{k}: {v}" for k, v in dict(missing).items())
            )
        replay(variant, "variant", agent, sampled if uses_llm else turns, concurrency=4 if uses_llm else 1)
        if simulate is not None:
            found = simulate(agent, variant)
            if found:
                data.simulation[variant] = found
        if understand is not None:
            found = understand(agent, sampled if uses_llm else turns)
            if found:
                data.understanding[variant] = found
    for name, off in ablations.items():
        try:
            agent = make_agent("crs-only", {k: bool(v) for k, v in off.items()})
        except (CrsAgentError, TypeError) as exc:
            data.notes.append(f"{name}: not run ({type(exc).__name__}: {exc})")
            continue
        replay(name, "ablation", agent, turns)
    return write_report(data, out)
