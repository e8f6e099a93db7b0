"""Runs simulated users against the agent and scores the dialogues.

Metrics (iEvaLM / InteRecAgent style): success rate by turn (cumulative: the target was
recommended at or before turn t), average turns (a miss counts as ``max_turns + 1``), LLM
calls per dialogue (agent and simulator apart), and recommendation precision: ``hit
precision`` is the share of recommending turns whose items include the target;
``attribute precision`` is the share of recommended items that agree with every target
attribute the user had stated by then.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from crsagent.agent.domains import domain_spec
from crsagent.agent.errors import CrsAgentError
from crsagent.agent.turns import AgentRunner
from crsagent.evals.resume import PartialResults
from crsagent.evals.simulators.base import (
    DialogueUser,
    ItemLookup,
    Target,
    UserReply,
    UserSimulator,
    is_target_recommended,
    item_satisfies,
    revealed_in,
)

__all__ = ["select_targets", "run_dialogue", "summarize_dialogues", "SimulationResult", "run_simulation"]

Progress = Callable[[str, int | None], Callable[[int], None]]


def _no_tick(n: int = 1) -> None:
    """A progress bar's advance that shows nothing."""


def _no_progress(desc: str, total: int | None) -> Callable[[int], None]:
    return _no_tick


def select_targets(items: Sequence[Any], n: int, *, seed: int = 0, pool: int = 1000) -> list[Target]:
    """A seeded sample of ``n`` targets among the ``pool`` most popular items with genres and a
    year (movies) or a brand (office products).

    Args:
        items: catalogue items.
        n: how many targets.
        seed: sampling seed (same seed, same targets).
        pool: size of the popular pool sampled from.

    Raises:
        ValueError: ``n`` is below 1 or larger than the pool.
    """
    eligible = [
        it
        for it in items
        if (it.genres and it.year) or (domain_spec(getattr(it, "domain", "movies")).product_words and it.brand)
    ]
    eligible.sort(key=lambda it: (-float(it.popularity or 0.0), it.item_id))
    eligible = eligible[:pool]
    if n < 1 or n > len(eligible):
        raise ValueError(f"targets must be between 1 and {len(eligible)}, got {n}")
    return [Target.from_item(it) for it in random.Random(seed).sample(eligible, n)]


def _attr_precision(
    rec_ids: Sequence[str], user_texts: Sequence[str], target: Target, lookup: ItemLookup | None
) -> list[float]:
    if lookup is None:
        return []
    stated = revealed_in(user_texts, target)
    if not stated:
        return []
    return [1.0 if all(item_satisfies(lookup(i), a) for a in stated) else 0.0 for i in rec_ids]


def run_dialogue(
    agent: AgentRunner,
    user: DialogueUser,
    *,
    max_turns: int = 5,
    thread_id: str | None = None,
    user_id: str | None = None,
    item_lookup: ItemLookup | None = None,
) -> dict[str, Any]:
    """Play one dialogue between the agent and a simulated user.

    Returns:
        A record: ``target_id``, ``success``, ``success_turn`` (1-based agent turn, or None),
        ``turns`` played, LLM calls of each side, precision counts, the ``transcript``, and
        ``error`` when a typed crsagent error cut the dialogue short (it then counts as a miss).
    """
    target = user.target
    thread_id = thread_id or f"sim-{uuid.uuid4().hex[:12]}"
    rec: dict[str, Any] = {
        "target_id": target.item_id,
        "target_title": target.title,
        "success": False,
        "success_turn": None,
        "turns": 0,
        "agent_llm_calls": 0,
        "sim_llm_calls": 0,
        "regenerations": 0,
        "rec_turns": 0,
        "hit_turns": 0,
        "attr_checks": [],
        "error": None,
        "transcript": [],
    }
    user_texts: list[str] = []
    try:
        msg = user.first_message()
        for turn in range(1, max_turns + 1):
            rec["sim_llm_calls"] += msg.llm_calls
            rec["regenerations"] += msg.regenerations
            rec["transcript"].append({"role": "user", "text": msg.text})
            user_texts.append(msg.text)
            result = agent.turn(msg.text, thread_id=thread_id, user_id=user_id)
            rec["turns"] = turn
            rec["agent_llm_calls"] += result.usage.llm_calls
            rec_ids = [r.item_id for r in result.recommendations]
            rec["transcript"].append(
                {"role": "assistant", "text": result.reply, "action": result.action, "recommended": rec_ids}
            )
            if turn < max_turns:
                msg = user.reply(result)
            else:  # the last turn: only acceptance matters, so no reply is generated (no LLM call)
                accepted = is_target_recommended(result, target, getattr(user, "linker", None))
                msg = UserReply(text="Thanks!" if accepted else "", accepted=accepted)
            if rec_ids or msg.accepted:
                rec["rec_turns"] += 1
                rec["hit_turns"] += int(msg.accepted)
                rec["attr_checks"] += _attr_precision(rec_ids, user_texts, target, item_lookup)
            if msg.accepted:
                rec["transcript"].append({"role": "user", "text": msg.text, "accepted": True})
                rec["success"], rec["success_turn"] = True, turn
                break
    except CrsAgentError as exc:
        rec["error"] = f"{type(exc).__name__}: {exc}"
    return rec


def summarize_dialogues(records: Sequence[Mapping[str, Any]], max_turns: int) -> dict[str, Any]:
    """Aggregate dialogue records (see the module docstring for the metrics)."""
    n = len(records)
    if n == 0:
        return {"dialogues": 0}
    by_turn = {
        str(t): round(sum(1 for r in records if r["success"] and r["success_turn"] <= t) / n, 4)
        for t in range(1, max_turns + 1)
    }
    rec_turns = sum(r["rec_turns"] for r in records)
    checks = [c for r in records for c in r["attr_checks"]]
    agent_calls = sum(r["agent_llm_calls"] for r in records)
    sim_calls = sum(r["sim_llm_calls"] for r in records)
    return {
        "dialogues": n,
        "success_rate": by_turn[str(max_turns)],
        "success_by_turn": by_turn,
        "avg_turns": round(sum(r["success_turn"] if r["success"] else max_turns + 1 for r in records) / n, 3),
        "llm_calls_per_dialogue": round((agent_calls + sim_calls) / n, 3),
        "agent_llm_calls_per_dialogue": round(agent_calls / n, 3),
        "sim_llm_calls_per_dialogue": round(sim_calls / n, 3),
        "hit_precision": round(sum(r["hit_turns"] for r in records) / rec_turns, 4) if rec_turns else 0.0,
        "attribute_precision": round(sum(checks) / len(checks), 4) if checks else None,
        "regenerations": sum(r["regenerations"] for r in records),
        "errors": sum(1 for r in records if r.get("error")),
        "max_turns": max_turns,
    }


@dataclass
class SimulationResult:
    """Summary and per-dialogue records (with transcripts) of a simulation run."""

    summary: dict[str, Any]
    records: list[dict[str, Any]] = field(default_factory=list)


def run_simulation(
    agent: AgentRunner,
    simulator: UserSimulator,
    targets: Sequence[Target],
    *,
    max_turns: int = 5,
    seed: int = 0,
    partial: PartialResults | None = None,
    progress: Progress | None = None,
    item_lookup: ItemLookup | None = None,
    description: str | None = None,
) -> SimulationResult:
    """Run one simulated dialogue per target.

    Args:
        agent: the agent under test (multi-turn ``turn`` on a fresh thread per dialogue).
        simulator: makes the users (agenda or LLM).
        targets: one dialogue per target.
        max_turns: agent turns before a dialogue counts as a miss.
        seed: base seed; dialogue i uses ``seed + i`` for its persona and wording.
        partial: opened partial results; finished dialogues are skipped and new ones appended.
        progress: ``progress(description, total) -> advance(n)``.
        item_lookup: catalogue look-up for attribute precision.
        description: the progress bar's label (default ``simulate (<simulator>)``).

    Raises:
        ValueError: ``max_turns`` is below 1.
    """
    if max_turns < 1:
        raise ValueError("max_turns must be at least 1")
    done = partial.done if partial is not None else {}
    advance = (progress or _no_progress)(description or f"simulate ({simulator.name})", len(targets))
    records: list[dict[str, Any]] = []
    for i, target in enumerate(targets):
        key = f"{i}:{target.item_id}"
        if key in done:
            records.append(done[key])
            advance(1)
            continue
        user = simulator.new_user(target, seed=seed + i)
        rec = run_dialogue(
            agent,
            user,
            max_turns=max_turns,
            thread_id=f"sim-{simulator.name}-{i}-{uuid.uuid4().hex[:8]}",
            item_lookup=item_lookup,
        )
        rec["key"] = key
        if partial is not None:
            partial.append(key, rec)
        records.append(rec)
        advance(1)
    summary = summarize_dialogues(records, max_turns)
    summary["simulator"] = simulator.name
    return SimulationResult(summary=summary, records=records)
