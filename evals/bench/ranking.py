"""Timing of :func:`~crsagent.graphs.ranking.rank_candidates` on real beliefs (part of ``crsagent bench tools``).

The beliefs are those the ``crs-only`` understanding reads from a seeded sample of ReDial dev
turn contexts (so they hold liked films, genres and people as real dialogues do). Each belief is
ranked once to warm the caches, then timed: with the learned ranker when the build has one
(``rank_candidates_p50_ms``) and with the weighted fusion (``rank_candidates_fused_p50_ms``).
Target: p50 <= 10 ms.
"""

from __future__ import annotations

import dataclasses
import random
import time
from typing import Any

__all__ = ["TARGET_P50_MS", "rank_beliefs", "time_rank_candidates"]

TARGET_P50_MS = 10.0


def rank_beliefs(toolkit: Any, data_dir: Any, n: int = 200, seed: int = 3) -> list[tuple[Any, str, str]]:
    """``(belief, dialogue text, latest message)`` of ``n`` seeded dev turns, as ``crs-only`` reads them."""
    from langchain_core.messages import AIMessage, HumanMessage

    from crsagent.evals.datasets import context_to_messages, load_turns
    from crsagent.graphs.context import CRSContext
    from crsagent.graphs.dialogue.prompting import dialogue_text
    from crsagent.graphs.nodes.understand import make_understand
    from crsagent.graphs.variants import VARIANT_SPECS

    turns = load_turns(data_dir / "redial" / "dev_turns.jsonl")
    turns = random.Random(seed).sample(turns, min(n, len(turns)))
    understand = make_understand(VARIANT_SPECS["crs-only"])
    runtime: Any = type("R", (), {"context": CRSContext(toolkit=toolkit), "store": None})()
    out: list[tuple[Any, str, str]] = []
    for t in turns:
        try:
            msgs = context_to_messages(t.context)
        except Exception:  # noqa: BLE001 - a context without a seeker line is skipped
            continue
        lc: list[Any] = [
            HumanMessage(content=m.content) if m.role == "user" else AIMessage(content=m.content) for m in msgs
        ]
        out.append((understand({"messages": lc}, runtime)["belief"], dialogue_text(lc, 6), dialogue_text(lc, 1)))
    return out


def _p(samples: list[float], q: float) -> float:
    s = sorted(samples)
    return round(s[min(len(s) - 1, int(q * len(s)))], 3) if s else float("nan")


def time_rank_candidates(settings: Any, domain: str = "movies", n: int = 200) -> dict[str, Any]:
    """p50 / p95 of ``rank_candidates`` (k=50) with the learned ranker and with the fusion."""
    from crsagent.graphs.ranking import DEFAULT_WEIGHTS, rank_candidates
    from crsagent.tools.toolkit import Toolkit

    tk = Toolkit.load(settings, domain, eager=True)
    beliefs = rank_beliefs(tk, settings.data_dir, n)
    out: dict[str, Any] = {"rank_candidates_learned": tk.ranker is not None, "rank_candidates_timed": len(beliefs)}
    learned = dataclasses.replace(DEFAULT_WEIGHTS, learned=True)
    for key, weights in (("rank_candidates", learned), ("rank_candidates_fused", DEFAULT_WEIGHTS)):
        for b, text, recent in beliefs:  # warm-up: embeddings and filters cached as in a running server
            rank_candidates(tk, b, text, k=50, weights=weights, recent=recent)
        ms = []
        for b, text, recent in beliefs:
            t0 = time.perf_counter()
            rank_candidates(tk, b, text, k=50, weights=weights, recent=recent)
            ms.append((time.perf_counter() - t0) * 1000.0)
        out[f"{key}_p50_ms"], out[f"{key}_p95_ms"] = _p(ms, 0.5), _p(ms, 0.95)
    return out
