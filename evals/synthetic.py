"""Synthetic dialogues (RecLLM): simulated users talk the agent towards MovieLens users' held-out items.

For each sampled MovieLens user, the target is the user's held-out item (the last positive,
as in :func:`crsagent.tools.cf.data.holdout_last`) and the persona names the user's latest
liked movies. A simulated user (LLM or agenda) plays the user against the agent. Each
dialogue becomes one JSON line::

    {"user_id": "ml-12", "target": "tt0114709", "history": ["tt...", ...],
     "messages": [{"role": "user", "content": "..."}, {"role": "assistant", "content": "..."}],
     "user_text": "the user's messages joined", "success": true, "turns": 2, "simulator": "llm"}

``history`` (the behaviour sequence before the target), ``user_text`` (what the user said)
and ``target`` are what a latent-intent trainer needs: the models read the file from
``<home>/movies/synthetic_dialogues.jsonl`` when it exists (see ``docs/evaluation.md``).
"""

from __future__ import annotations

import json
import os
import random
import tempfile
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crsagent.agent.turns import AgentRunner
from crsagent.evals.resume import PartialResults
from crsagent.evals.simulators.base import ItemLookup, Target, UserSimulator
from crsagent.evals.simulators.runner import run_dialogue

__all__ = ["SYNTHETIC_FILE", "SyntheticCase", "synthetic_cases", "persona_for", "to_training_record", "write_synthetic"]

#: Where the build's intent stage looks for synthetic dialogues, under the domain home.
SYNTHETIC_FILE = "synthetic_dialogues.jsonl"

Progress = Callable[[str, int | None], Callable[[int], None]]


def _no_tick(n: int = 1) -> None:
    """A progress bar's advance that shows nothing."""


def _no_progress(desc: str, total: int | None) -> Callable[[int], None]:
    return _no_tick


@dataclass(frozen=True)
class SyntheticCase:
    """One user to simulate: the held-out target and the liked history before it."""

    user_id: str
    target_id: str
    history: tuple[str, ...]


def synthetic_cases(
    data_dir: Path, users: int, *, seed: int = 0, known_ids: set[str] | None = None
) -> list[SyntheticCase]:
    """A seeded sample of MovieLens users with their held-out item and liked history.

    Args:
        data_dir: the bundled datasets.
        users: how many users.
        seed: sampling seed.
        known_ids: catalogue ids; users whose target is not in the catalogue are skipped.

    Raises:
        ValueError: ``users`` is below 1.
    """
    from crsagent.tools.cf.data import holdout_last, movielens_histories

    if users < 1:
        raise ValueError("users must be at least 1")
    train, targets = holdout_last(movielens_histories(data_dir))
    by_user = {h.user_id: h for h in train}
    ids = sorted(u for u, t in targets.items() if known_ids is None or t in known_ids)
    picked = random.Random(seed).sample(ids, min(users, len(ids)))
    return [SyntheticCase(u, targets[u], tuple(by_user[u].positives())) for u in picked]


def persona_for(history_titles: Sequence[str]) -> str:
    """A persona from the user's latest liked titles (at most five)."""
    recent = [t for t in history_titles if t][-5:]
    if not recent:
        return "a casual viewer"
    return "a viewer who recently enjoyed " + ", ".join(recent)


def to_training_record(case: SyntheticCase, dialogue: Mapping[str, Any], simulator: str) -> dict[str, Any]:
    """Turn a simulated dialogue record into a synthetic-dialogue line (see the module docstring)."""
    messages = [{"role": m["role"], "content": m["text"]} for m in dialogue["transcript"] if m.get("text")]
    return {
        "user_id": case.user_id,
        "target": case.target_id,
        "history": list(case.history),
        "messages": messages,
        "user_text": " ".join(m["content"] for m in messages if m["role"] == "user" and not _is_accept(m)),
        "success": bool(dialogue["success"]),
        "turns": int(dialogue["turns"]),
        "simulator": simulator,
        "error": dialogue.get("error"),
    }


def _is_accept(message: Mapping[str, Any]) -> bool:
    return bool(message.get("accepted"))


def _atomic_jsonl(path: Path, rows: Sequence[Mapping[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row) + "\n")
    os.replace(tmp, path)


def write_synthetic(
    agent: AgentRunner,
    simulator: UserSimulator,
    cases: Sequence[SyntheticCase],
    item_lookup: ItemLookup,
    out: Path,
    *,
    max_turns: int = 5,
    seed: int = 0,
    partial: PartialResults | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Simulate one dialogue per case and write them to ``out`` (JSONL, atomically).

    Returns:
        A summary: ``dialogues``, ``success_rate``, ``avg_user_words``, ``sim_llm_calls``,
        ``skipped`` (cases whose target is not in the catalogue) and ``out``.
    """
    done = partial.done if partial is not None else {}
    advance = (progress or _no_progress)(f"synthetic ({simulator.name})", len(cases))
    rows: list[dict[str, Any]] = []
    skipped = 0
    sim_calls = 0
    for i, case in enumerate(cases):
        key = f"{case.user_id}:{case.target_id}"
        if key in done:
            rows.append(done[key])
            advance(1)
            continue
        item = item_lookup(case.target_id)
        if item is None:
            skipped += 1
            advance(1)
            continue
        titles = [getattr(item_lookup(h), "title", "") for h in case.history[-5:]]
        user = simulator.new_user(Target.from_item(item), seed=seed + i, persona=persona_for(titles))
        dialogue = run_dialogue(
            agent, user, max_turns=max_turns, thread_id=f"synthetic-{case.user_id}-{uuid.uuid4().hex[:8]}"
        )
        sim_calls += dialogue["sim_llm_calls"]
        row = to_training_record(case, dialogue, simulator.name)
        row["sim_llm_calls"] = dialogue["sim_llm_calls"]
        if partial is not None:
            partial.append(key, row)
        rows.append(row)
        advance(1)
    _atomic_jsonl(Path(out), rows)
    n = len(rows)
    return {
        "dialogues": n,
        "success_rate": round(sum(r["success"] for r in rows) / n, 4) if n else 0.0,
        "avg_user_words": round(sum(len(r["user_text"].split()) for r in rows) / n, 2) if n else 0.0,
        "sim_llm_calls": sum(int(r.get("sim_llm_calls", 0)) for r in rows),
        "skipped": skipped,
        "out": str(out),
    }
