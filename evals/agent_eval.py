"""``crsagent eval agent``: the ``agent`` variant's loop measured on a real LLM.

Material held out from the trajectories (:mod:`crsagent.evals.trajectories`):

* a seeded sample of ReDial turns from the **check half** (``--turns``), each answered from its
  whole history by the agent and by ``crs-only`` (the teacher) on the same toolkit;
* agenda-simulator dialogues (``--dialogues``) on targets drawn with another seed than the
  trajectories', leaving out any target the trajectories used; the same users talk to
  ``crs-only`` in the same run;
* optionally, LLM-simulator dialogues (``--llm-dialogues``) on targets drawn the same way,
  the user played by a served model (:class:`~crsagent.evals.simulators.llm.LLMSimulator`).

Several served models (the bundled base model and its tuned adapter) are measured in one sitting
on the same material (:func:`run_agent_comparison`): one row per model, then the crs-only row.

Every agent turn (replay and simulator) counts for the LLM figures: tool-call validity (calls
vLLM's parser returned and the schema accepted, over calls attempted, unparsed ones included),
fallbacks and their reasons, LLM calls, tokens and wall time per turn. Action agreement with the
teacher is measured on the replay turns the LLM carried (not on fallbacks, which agree by
construction).
"""

from __future__ import annotations

import statistics
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from crsagent.agent.errors import CrsAgentError
from crsagent.agent.turns import TurnResult
from crsagent.evals.datasets import ReplayTurn, TitleResolver, context_to_messages
from crsagent.evals.replay import recall_from_ranks, score_turn
from crsagent.evals.trajectories import QUESTION_SIM_DIALOGUES, QUESTION_SIM_SEED, TRAJECTORY_SIM_SEED
from crsagent.graphs.dialogue.agent_reply import REPAIR_NOTE
from crsagent.graphs.trace import trace_counts
from crsagent.tools.intent.split import HELDOUT, dialogue_split

__all__ = [
    "TRAJECTORY_TARGETS",
    "check_turns",
    "simulator_targets",
    "Recorder",
    "turn_stats",
    "run_agent_comparison",
    "run_agent_eval",
    "flat_figures",
]

#: How many simulator targets per domain the trajectories draw by default (``eval agent`` skips them).
TRAJECTORY_TARGETS = 60
Progress = Callable[[str, int | None], Callable[[int], None]]


def _no_tick(n: int = 1) -> None:
    """A progress bar's advance that shows nothing."""


def _no_progress(desc: str, total: int | None) -> Callable[[int], None]:
    return _no_tick


def check_turns(turns: Sequence[ReplayTurn], n: int, seed: int) -> list[ReplayTurn]:
    """A seeded sample of ``n`` check-half turns (file order)."""
    import random

    held = [t for t in turns if dialogue_split(t.dialog_id) == HELDOUT]
    if n >= len(held):
        return held
    keep = sorted(random.Random(seed).sample(range(len(held)), n))
    return [held[i] for i in keep]


def simulator_targets(items: Sequence[Any], n: int, seed: int) -> list[Any]:
    """``n`` agenda targets drawn with ``seed``, none of which the trajectories' training draws hold
    (the agenda users' and, since 2026-12-08, the question-asking users')."""
    from crsagent.evals.simulators import select_targets

    if seed in (TRAJECTORY_SIM_SEED, QUESTION_SIM_SEED):
        raise ValueError(f"seed {seed} is a trajectories' seed; choose another")
    used = {t.item_id for t in select_targets(items, TRAJECTORY_TARGETS, seed=TRAJECTORY_SIM_SEED)}
    used |= {t.item_id for t in select_targets(items, QUESTION_SIM_DIALOGUES, seed=QUESTION_SIM_SEED)}
    pool = select_targets(items, min(len(used) + n * 3, 1000), seed=seed)
    return [t for t in pool if t.item_id not in used][:n]


class Recorder:
    """An AgentRunner wrapper that keeps every TurnResult and its wall time."""

    def __init__(self, runner: Any) -> None:
        self.runner = runner
        self.variant = runner.variant
        self.turns: list[tuple[TurnResult, float]] = []

    def turn(self, text: str, *, thread_id: str, user_id: str | None = None) -> TurnResult:
        """Delegate and record."""
        t0 = time.perf_counter()
        result = self.runner.turn(text, thread_id=thread_id, user_id=user_id)
        self.turns.append((result, time.perf_counter() - t0))
        return result

    def run_history(self, messages: Any, *, user_id: str | None = None, ranking_k: int = 50) -> TurnResult:
        """Delegate and record."""
        t0 = time.perf_counter()
        result = self.runner.run_history(messages, user_id=user_id, ranking_k=ranking_k)
        self.turns.append((result, time.perf_counter() - t0))
        return result


def _pct(values: Sequence[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))], 3)


def _repaired(result: TurnResult) -> bool:
    """Whether the guard replaced a false claim of the LLM's reply with the tool's reason."""
    return any(REPAIR_NOTE in n for n in result.notes)


def turn_stats(turns: Sequence[tuple[TurnResult, float]]) -> dict[str, Any]:
    """The LLM figures over agent turns."""
    n = len(turns)
    counts = Counter[str]()
    for r, _ in turns:
        counts.update(trace_counts(r.trace))
    reasons = Counter(r.fallback_reason for r, _ in turns if r.fallback)
    secs = [s for _, s in turns]
    return {
        "turns": n,
        "tool_calls_attempted": counts["tool_calls_attempted"],
        "tool_call_valid_rate": round(counts["tool_calls_valid"] / counts["tool_calls_attempted"], 4)
        if counts["tool_calls_attempted"]
        else None,
        "fallback_rate": round(sum(reasons.values()) / n, 4) if n else None,
        "fallback_reasons": dict(reasons),
        "claim_repair_rate": round(sum(map(_repaired, (r for r, _ in turns))) / n, 4) if n else None,
        "llm_calls_per_turn": round(sum(r.usage.llm_calls for r, _ in turns) / n, 3) if n else None,
        "tokens_per_turn": round(sum(r.usage.total_tokens for r, _ in turns) / n, 1) if n else None,
        "turn_p50_s": round(statistics.median(secs), 3) if secs else None,
        "turn_p95_s": _pct(secs, 0.95),
    }


def _turn_record(result: TurnResult, seconds: float, source: str) -> dict[str, Any]:
    """One agent turn as the claim judge needs it (:mod:`crsagent.evals.tuning_claim`)."""
    counts = trace_counts(result.trace)
    return {
        "source": source,
        "fallback": bool(result.fallback),
        "valid": counts["tool_calls_valid"],
        "attempted": counts["tool_calls_attempted"],
        "llm_calls": result.usage.llm_calls,
        "seconds": round(seconds, 3),
        "repaired": _repaired(result),
        "notes": list(result.notes) if result.fallback else [],
    }


def _replay(
    agents: Mapping[str, Recorder],
    crs: Any,
    turns: Sequence[ReplayTurn],
    resolver: TitleResolver,
    advance: Callable[[int], None],
) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """Each turn through crs-only once, then through every model's agent on the same history."""
    ranks: dict[str, dict[str, int | None]] = {m: {} for m in agents}
    crs_ranks: dict[str, int | None] = {}
    agree = dict.fromkeys(agents, 0)
    carried = dict.fromkeys(agents, 0)
    errors = dict.fromkeys(agents, 0)
    crs_errors = 0
    for t in turns:
        try:
            history = context_to_messages(t.context)
            mentioned = resolver.mentioned_ids(t.context, t.entity, candidates=t.rec)
            k = 50 + len(mentioned)
            teacher = crs.run_history(history, ranking_k=k)
        except CrsAgentError:
            crs_errors += 1
            for m in agents:
                errors[m] += 1
            advance(1)
            continue
        for i, s in enumerate(score_turn(t, [r.item_id for r in teacher.ranking], resolver)):
            crs_ranks[f"{t.key}:{i}"] = s["rank"]
        for m, agent in agents.items():
            try:
                got = agent.run_history(history, ranking_k=k)
            except CrsAgentError:
                errors[m] += 1
                continue
            for i, s in enumerate(score_turn(t, [r.item_id for r in got.ranking], resolver)):
                ranks[m][f"{t.key}:{i}"] = s["rank"]
            if not got.fallback:
                carried[m] += 1
                agree[m] += int(got.action == teacher.action)
        advance(1)
    rows = {
        m: {
            "replay_turns": len(turns),
            "replay_samples": len(ranks[m]),
            "replay_errors": errors[m],
            "replay_recall@10": round(recall_from_ranks(list(ranks[m].values()), 10), 4),
            "teacher_action_agreement": round(agree[m] / carried[m], 4) if carried[m] else None,
            "teacher_action_agreement_turns": carried[m],
            "samples": {"replay_ranks": ranks[m]},
        }
        for m in agents
    }
    crs_row = {
        "replay_turns": len(turns),
        "replay_samples": len(crs_ranks),
        "replay_errors": crs_errors,
        "replay_recall@10": round(recall_from_ranks(list(crs_ranks.values()), 10), 4),
        "samples": {"replay_ranks": crs_ranks},
    }
    return rows, crs_row


def _simulate(
    agents: Mapping[str, Any],
    crs: Any,
    sim: Any,
    targets: Sequence[Any],
    seed: int,
    max_turns: int,
    advance: Callable[[int], None],
    prefix: str = "sim",
) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """The same simulated users (target, seed) talk to crs-only and to every model's agent.

    ``prefix`` names the figures: ``sim`` (agenda) gives ``sim_success_at_5``, ``llm_sim`` gives
    ``llm_sim_success_at_5``.
    """
    from crsagent.evals.simulators.runner import run_dialogue

    runners = {"crs-only": crs, **agents}
    wins: dict[str, list[int]] = {name: [] for name in runners}
    for i, target in enumerate(targets):
        for j, (name, runner) in enumerate(runners.items()):
            tag = "crs" if name == "crs-only" else ("agent" if j == 1 else f"agent{j}")
            rec = run_dialogue(
                runner,
                sim.new_user(target, seed=seed + i),
                max_turns=max_turns,
                thread_id=f"eval-agent-{prefix}-{tag}-{seed}-{i}",
            )
            wins[name].append(int(bool(rec["success"]) and (rec["success_turn"] or 99) <= 5))
        advance(1)
    d = len(targets)

    def row(name: str) -> dict[str, Any]:
        return {
            f"{prefix}_dialogues": d,
            f"{prefix}_targets": [t.item_id for t in targets],
            f"{prefix}_success_at_5": round(sum(wins[name]) / d, 4) if d else None,
            "samples": {f"{prefix}_success": wins[name]},
        }

    return {m: row(m) for m in agents}, row("crs-only")


def _merge(row: dict[str, Any], more: dict[str, Any]) -> dict[str, Any]:
    samples = {**row.get("samples", {}), **more.get("samples", {})}
    return {**row, **more, "samples": samples}


def run_agent_comparison(
    make_agent: Callable[[str], Any],
    make_crs: Callable[[], Any],
    models: Sequence[str],
    turns: Sequence[ReplayTurn],
    resolver: TitleResolver,
    items: Sequence[Any],
    *,
    dialogues: int,
    seed: int,
    max_turns: int = 5,
    llm_dialogues: int = 0,
    llm_simulator: Any = None,
    progress: Progress | None = None,
) -> list[dict[str, Any]]:
    """Measure the agent loop on several served models, and crs-only, on the same held-out material.

    Every replay turn and every simulated user meets crs-only once and each model's agent in
    turn, in one sitting. Each row keeps its per-sample outcomes under ``samples``
    (``replay_ranks``: ``dialog:turn:i`` -> rank; ``sim_success``: 0/1 per dialogue, in target
    order; ``turns``: one record per agent turn) for :mod:`crsagent.evals.tuning_claim`.

    Args:
        make_agent: served model name -> an ``agent`` runner on that model.
        make_crs: -> a ``crs-only`` runner.
        models: the served model names to measure (distinct).
        turns: check-half replay turns (see :func:`check_turns`).
        resolver: maps ReDial titles to catalogue ids.
        items: the catalogue (simulator targets).
        dialogues: agenda-simulator dialogues.
        seed: the simulator targets' seed (not the trajectories').
        max_turns: agent turns per simulated dialogue.
        llm_dialogues: LLM-simulator dialogues (needs ``llm_simulator``), on targets drawn as
            the agenda simulator's are.
        llm_simulator: the :class:`~crsagent.evals.simulators.llm.LLMSimulator` that plays them.
        progress: ``progress(description, total) -> advance(n)``.

    Returns:
        One row per model (``variant`` ``agent``, ``model``, the figures of
        :func:`turn_stats`, replay and simulator figures), then the ``crs-only`` row.

    Raises:
        ValueError: no model, a model named twice, or LLM dialogues without a simulator.
    """
    if not models or len(set(models)) != len(models):
        raise ValueError(f"models must be distinct and at least one: {list(models)}")
    if llm_dialogues and llm_simulator is None:
        raise ValueError("llm_dialogues needs an llm_simulator")
    prog = progress or _no_progress
    agents = {m: Recorder(make_agent(m)) for m in models}
    crs = make_crs()
    replay_rows, crs_replay = _replay(agents, crs, turns, resolver, prog("eval agent: replay (check half)", len(turns)))
    marks = {m: len(a.turns) for m, a in agents.items()}
    from crsagent.evals.simulators.agenda import AgendaSimulator

    targets = simulator_targets(items, dialogues, seed) if dialogues else []
    sim_rows, crs_sim = _simulate(
        agents,
        crs,
        AgendaSimulator({it.item_id: it for it in items}.get),
        targets,
        seed,
        max_turns,
        prog("eval agent: agenda simulator", dialogues),
    )
    if llm_dialogues:
        llm_targets = simulator_targets(items, llm_dialogues, seed)
        llm_rows, crs_llm = _simulate(
            agents,
            crs,
            llm_simulator,
            llm_targets,
            seed,
            max_turns,
            prog("eval agent: LLM simulator", llm_dialogues),
            prefix="llm_sim",
        )
        sim_rows = {m: _merge(sim_rows[m], llm_rows[m]) for m in sim_rows}
        crs_sim = _merge(crs_sim, crs_llm)
    rows = []
    for m, agent in agents.items():
        records = [_turn_record(r, s, "replay" if i < marks[m] else "sim") for i, (r, s) in enumerate(agent.turns)]
        row = _merge(_merge(replay_rows[m], sim_rows[m]), {**turn_stats(agent.turns), "samples": {"turns": records}})
        rows.append({"variant": "agent", "model": m, **row})
    rows.append({"variant": "crs-only", "model": None, **_merge(crs_replay, crs_sim)})
    return rows


def run_agent_eval(
    make_runner: Callable[[str], Any],
    turns: Sequence[ReplayTurn],
    resolver: TitleResolver,
    items: Sequence[Any],
    *,
    dialogues: int,
    seed: int,
    max_turns: int = 5,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Measure the agent loop on one model against crs-only on held-out material.

    Args:
        make_runner: variant name -> a runner (``agent`` on the LLM under test, ``crs-only``).
        turns, resolver, items, dialogues, seed, max_turns, progress: as in
            :func:`run_agent_comparison`.

    Returns:
        The figures (see the module docstring), without ``variant`` and ``model``, with
        crs-only's as ``crs_only_replay_recall@10`` and ``crs_only_sim_success_at_5``.
    """
    agent_row, crs_row = run_agent_comparison(
        lambda _m: make_runner("agent"),
        lambda: make_runner("crs-only"),
        ["agent"],
        turns,
        resolver,
        items,
        dialogues=dialogues,
        seed=seed,
        max_turns=max_turns,
        progress=progress,
    )
    return flat_figures(agent_row, crs_row)


def flat_figures(agent_row: Mapping[str, Any], crs_row: Mapping[str, Any]) -> dict[str, Any]:
    """One agent row with crs-only's figures beside it (``crs_only_*``), without samples, variant and model."""
    out = {k: v for k, v in agent_row.items() if k not in ("variant", "model", "samples")}
    out["crs_only_replay_recall@10"] = crs_row.get("replay_recall@10")
    out["crs_only_sim_success_at_5"] = crs_row.get("sim_success_at_5")
    if "llm_sim_success_at_5" in crs_row:
        out["crs_only_llm_sim_success_at_5"] = crs_row.get("llm_sim_success_at_5")
    return out
