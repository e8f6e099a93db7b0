"""``crsagent eval agent``: the ``agent`` variant's loop measured on a real LLM.

Material held out from the trajectories (:mod:`crsagent.evals.trajectories`):

* a seeded sample of ReDial turns from the **check half** (``--turns``), each answered from its
  whole history by the agent and by ``crs-only`` (the teacher) on the same toolkit;
* agenda-simulator dialogues (``--dialogues``) on targets drawn with another seed than the
  trajectories', leaving out any target the trajectories used; the same users talk to
  ``crs-only`` in the same run.

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
from collections.abc import Callable, Sequence
from typing import Any

from crsagent.agent.errors import CrsAgentError
from crsagent.agent.turns import TurnResult
from crsagent.evals.datasets import ReplayTurn, TitleResolver, context_to_messages
from crsagent.evals.replay import recall_from_ranks, score_turn
from crsagent.evals.trajectories import TRAJECTORY_SIM_SEED
from crsagent.graphs.trace import trace_counts
from crsagent.tools.intent.split import HELDOUT, dialogue_split

__all__ = ["TRAJECTORY_TARGETS", "check_turns", "simulator_targets", "Recorder", "turn_stats", "run_agent_eval"]

#: How many simulator targets per domain the trajectories draw by default (``eval agent`` skips them).
TRAJECTORY_TARGETS = 60
Progress = Callable[[str, int | None], Callable[[int], None]]


def check_turns(turns: Sequence[ReplayTurn], n: int, seed: int) -> list[ReplayTurn]:
    """A seeded sample of ``n`` check-half turns (file order)."""
    import random

    held = [t for t in turns if dialogue_split(t.dialog_id) == HELDOUT]
    if n >= len(held):
        return held
    keep = sorted(random.Random(seed).sample(range(len(held)), n))
    return [held[i] for i in keep]


def simulator_targets(items: Sequence[Any], n: int, seed: int) -> list[Any]:
    """``n`` agenda targets drawn with ``seed``, none of which the trajectories' draw holds."""
    from crsagent.evals.simulators import select_targets

    if seed == TRAJECTORY_SIM_SEED:
        raise ValueError(f"seed {seed} is the trajectories' seed; choose another")
    used = {t.item_id for t in select_targets(items, TRAJECTORY_TARGETS, seed=TRAJECTORY_SIM_SEED)}
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
        if counts["tool_calls_attempted"] else None,
        "fallback_rate": round(sum(reasons.values()) / n, 4) if n else None,
        "fallback_reasons": dict(reasons),
        "llm_calls_per_turn": round(sum(r.usage.llm_calls for r, _ in turns) / n, 3) if n else None,
        "tokens_per_turn": round(sum(r.usage.total_tokens for r, _ in turns) / n, 1) if n else None,
        "turn_p50_s": round(statistics.median(secs), 3) if secs else None,
        "turn_p95_s": _pct(secs, 0.95),
    }


def _replay(agent: Recorder, crs: Any, turns: Sequence[ReplayTurn], resolver: TitleResolver,
            advance: Callable[[int], None]) -> dict[str, Any]:
    ranks: list[int | None] = []
    crs_ranks: list[int | None] = []
    agree = carried = errors = 0
    for t in turns:
        try:
            history = context_to_messages(t.context)
            mentioned = resolver.mentioned_ids(t.context, t.entity, candidates=t.rec)
            k = 50 + len(mentioned)
            teacher = crs.run_history(history, ranking_k=k)
            got = agent.run_history(history, ranking_k=k)
        except CrsAgentError:
            errors += 1
            advance(1)
            continue
        ranks += [s["rank"] for s in score_turn(t, [r.item_id for r in got.ranking], resolver)]
        crs_ranks += [s["rank"] for s in score_turn(t, [r.item_id for r in teacher.ranking], resolver)]
        if not got.fallback:
            carried += 1
            agree += int(got.action == teacher.action)
        advance(1)
    return {
        "replay_turns": len(turns),
        "replay_samples": len(ranks),
        "replay_errors": errors,
        "replay_recall@10": round(recall_from_ranks(ranks, 10), 4),
        "crs_only_replay_recall@10": round(recall_from_ranks(crs_ranks, 10), 4),
        "teacher_action_agreement": round(agree / carried, 4) if carried else None,
        "teacher_action_agreement_turns": carried,
    }


def _simulate(agent: Any, crs: Any, items: Sequence[Any], n: int, seed: int, max_turns: int,
              advance: Callable[[int], None]) -> dict[str, Any]:
    from crsagent.evals.simulators.agenda import AgendaSimulator
    from crsagent.evals.simulators.runner import run_dialogue

    lookup = {it.item_id: it for it in items}.get
    sim = AgendaSimulator(lookup)
    wins = {"agent": 0, "crs": 0}
    targets = simulator_targets(items, n, seed) if n else []
    for i, target in enumerate(targets):
        for name, runner in (("agent", agent), ("crs", crs)):
            rec = run_dialogue(runner, sim.new_user(target, seed=seed + i), max_turns=max_turns,
                               thread_id=f"eval-agent-{name}-{seed}-{i}")
            wins[name] += int(bool(rec["success"]) and (rec["success_turn"] or 99) <= 5)
        advance(1)
    d = len(targets)
    return {
        "sim_dialogues": d,
        "sim_targets": [t.item_id for t in targets],
        "sim_success_at_5": round(wins["agent"] / d, 4) if d else None,
        "crs_only_sim_success_at_5": round(wins["crs"] / d, 4) if d else None,
    }


def run_agent_eval(make_runner: Callable[[str], Any], turns: Sequence[ReplayTurn], resolver: TitleResolver,
                   items: Sequence[Any], *, dialogues: int, seed: int, max_turns: int = 5,
                   progress: Progress | None = None) -> dict[str, Any]:
    """Measure the agent loop against crs-only on held-out material.

    Args:
        make_runner: variant name -> a runner (``agent`` on the LLM under test, ``crs-only``).
        turns: check-half replay turns (see :func:`check_turns`).
        resolver: maps ReDial titles to catalogue ids.
        items: the catalogue (simulator targets).
        dialogues: agenda-simulator dialogues.
        seed: the simulator targets' seed (not the trajectories').
        max_turns: agent turns per simulated dialogue.
        progress: ``progress(description, total) -> advance(n)``.

    Returns:
        The figures (see the module docstring), without ``variant`` and ``model``.
    """
    prog = progress or (lambda d, t: (lambda n=1: None))
    agent = Recorder(make_runner("agent"))
    crs = make_runner("crs-only")
    out = _replay(agent, crs, turns, resolver, prog("eval agent: replay (check half)", len(turns)))
    out.update(_simulate(agent, crs, items, dialogues, seed, max_turns, prog("eval agent: agenda simulator", dialogues)))
    out.update(turn_stats(agent.turns))
    return out
