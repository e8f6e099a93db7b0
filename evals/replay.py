"""Replay evaluation: rank the catalogue from recorded dialogue contexts, score the recorded recommendations.

The protocol of the ReDial recommendation benchmarks (KBRD, BARCOR, UniCRS, iEvaLM): for each
turn the agent gets the context as its history, ranks the catalogue, and each ground-truth
title of the turn is one sample scored by Recall@k (the title is in the top k). Titles that
cannot be mapped to the catalogue count as misses and are reported separately.

The *filtered* protocol (He et al., "Large language models as zero-shot conversational
recommenders") drops samples whose title was already mentioned in the context, and takes
already-mentioned items out of the ranking before scoring; the *dedup* protocol (Kostric &
Balog) drops the same samples but scores the ranking as given; SR and RDL score each dialogue's
top-1 predictions with the seeker's questionnaire. The scoring lives in
:mod:`crsagent.evals.protocols`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from crsagent.agent.errors import CrsAgentError, DataError
from crsagent.agent.turns import AgentRunner, Recommendation, TurnResult
from crsagent.evals.datasets import ReplayTurn, TitleResolver, context_to_messages
from crsagent.evals.protocols import recall_from_ranks, score_turn, summarize, top1_fields
from crsagent.evals.resume import PartialResults

__all__ = [
    "DEFAULT_KS",
    "Progress",
    "recall_from_ranks",
    "score_turn",
    "summarize",
    "ReplayResult",
    "run_replay",
    "PopularityRunner",
]

DEFAULT_KS: tuple[int, ...] = (1, 10, 50)

#: ``progress(description, total) -> advance(n)``, as in the build pipeline.
Progress = Callable[[str, int | None], Callable[[int], None]]


def _no_tick(n: int = 1) -> None:
    """A progress bar's advance that shows nothing."""


def _no_progress(desc: str, total: int | None) -> Callable[[int], None]:
    return _no_tick


def _record(
    turn: ReplayTurn,
    result: TurnResult | None,
    error: str | None,
    seconds: float,
    samples: list[dict[str, Any]],
    top1: Mapping[str, str | None],
) -> dict[str, Any]:
    usage = result.usage if result is not None else None
    return {
        "dialog_id": turn.dialog_id,
        "turn_id": turn.turn_id,
        "samples": samples,
        **top1,
        "llm_calls": usage.llm_calls if usage else 0,
        "total_tokens": usage.total_tokens if usage else 0,
        "degraded": bool(result.degraded) if result is not None else False,
        "fallback_reason": result.fallback_reason if result is not None and result.fallback else None,
        "error": error,
        "seconds": round(seconds, 4),
    }


@dataclass
class ReplayResult:
    """The outcome of a replay run.

    Attributes:
        summary: the metrics (see :func:`~crsagent.evals.protocols.summarize`) plus ``seconds`` (wall time of this run),
            ``resumed`` (turns taken from partial results) and ``splits`` when asked for.
        records: one record per turn, in turn order.
        unmapped_titles: ground-truth titles that could not be mapped to the catalogue.
    """

    summary: dict[str, Any]
    records: list[dict[str, Any]] = field(default_factory=list)
    unmapped_titles: list[str] = field(default_factory=list)


class _TurnJob:
    """Prepares one turn, and turns the runner's answer into a record."""

    def __init__(self, turn: ReplayTurn, resolver: TitleResolver, max_k: int):
        self.turn = turn
        self.resolver = resolver
        self.max_k = max_k
        self.ranker: str | None = None
        mentioned = resolver.mentioned_ids(turn.context, turn.entity, candidates=turn.rec)
        self.ranking_k = max_k + len(mentioned)
        try:
            self.messages = context_to_messages(turn.context)
            self.bad = None
        except DataError as exc:
            self.messages, self.bad = [], str(exc)

    def finish(self, result: TurnResult | None, error: str | None, seconds: float) -> dict[str, Any]:
        ranking = [r.item_id for r in result.ranking] if result is not None else []
        samples = score_turn(self.turn, ranking, self.resolver, max_k=self.max_k)
        rec = _record(self.turn, result, error, seconds, samples, top1_fields(self.turn, ranking, self.resolver))
        if self.ranker is not None:
            rec["ranker"] = self.ranker
        return rec


def _route(runner: Any, job: _TurnJob) -> Any:
    """The runner for a turn: a cross-fitted runner (``for_turn``) picks one per dialogue and the
    record names the half its ranker trained on (:mod:`crsagent.evals.crossfit`)."""
    pick = getattr(runner, "for_turn", None)
    if pick is None:
        return runner
    chosen, half = pick(job.turn)
    job.ranker = half
    return chosen


def _run_sync(runner: AgentRunner, job: _TurnJob, user_id: str | None) -> dict[str, Any]:
    if job.bad:
        return job.finish(None, job.bad, 0.0)
    runner = _route(runner, job)
    t0 = time.perf_counter()
    try:
        result = runner.run_history(job.messages, user_id=user_id, ranking_k=job.ranking_k)
    except CrsAgentError as exc:
        return job.finish(None, f"{type(exc).__name__}: {exc}", time.perf_counter() - t0)
    return job.finish(result, None, time.perf_counter() - t0)


async def _run_async(runner: AgentRunner, job: _TurnJob, user_id: str | None, sem: asyncio.Semaphore) -> dict[str, Any]:
    if job.bad:
        return job.finish(None, job.bad, 0.0)
    runner = _route(runner, job)
    async with sem:
        t0 = time.perf_counter()
        try:
            result = await runner.arun_history(job.messages, user_id=user_id, ranking_k=job.ranking_k)
        except CrsAgentError as exc:
            return job.finish(None, f"{type(exc).__name__}: {exc}", time.perf_counter() - t0)
        return job.finish(result, None, time.perf_counter() - t0)


def run_replay(
    runner: AgentRunner,
    turns: Sequence[ReplayTurn],
    resolver: TitleResolver,
    *,
    ks: Sequence[int] = DEFAULT_KS,
    partial: PartialResults | None = None,
    progress: Progress | None = None,
    concurrency: int = 1,
    user_id: str | None = None,
    splits: Mapping[str, Callable[[Mapping[str, Any]], bool]] | None = None,
    description: str = "replay",
    rewards: Mapping[str, Mapping[str, float]] | None = None,
) -> ReplayResult:
    """Replay turns through an agent and score its rankings.

    Args:
        runner: the agent (anything honouring :class:`~crsagent.agent.turns.AgentRunner`).
        turns: the turns to replay.
        resolver: maps ground-truth titles to catalogue ids.
        ks: Recall cut-offs; the ranking is asked for ``max(ks)`` items (more when the context
            mentions items, so the filtered ranking still has ``max(ks)``).
        partial: an opened :class:`PartialResults`; turns already in it are not re-run and
            each finished turn is appended to it.
        progress: ``progress(description, total) -> advance(n)``.
        concurrency: turns in flight at once; above 1 the runner's ``arun_history`` is used
            (worth it for LLM variants served by vLLM).
        user_id: passed to the runner (replayed dialogues are anonymous by default).
        splits: named record predicates; each gets its own summary under ``summary["splits"]``.
        description: the progress bar's label.
        rewards: dialogue id -> item id -> seeker reward
            (:func:`~crsagent.evals.protocols.load_seeker_rewards`); adds SR and RDL.

    Returns:
        The summary, the per-turn records and the unmapped titles.

    Raises:
        ValueError: ``concurrency`` is below 1 or ``ks`` is empty.
    """
    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    if not ks:
        raise ValueError("ks must not be empty")
    max_k = max(ks)
    done = partial.done if partial is not None else {}
    todo = [t for t in turns if t.key not in done]
    advance = (progress or _no_progress)(description, len(turns))
    advance(len(turns) - len(todo))
    fresh: dict[str, dict[str, Any]] = {}

    def save(key: str, rec: dict[str, Any]) -> None:
        fresh[key] = rec
        if partial is not None:
            partial.append(key, rec)
        advance(1)

    t0 = time.perf_counter()
    if concurrency == 1:
        for t in todo:
            save(t.key, _run_sync(runner, _TurnJob(t, resolver, max_k), user_id))
    else:

        async def main() -> None:
            sem = asyncio.Semaphore(concurrency)

            async def one(t: ReplayTurn) -> None:
                save(t.key, await _run_async(runner, _TurnJob(t, resolver, max_k), user_id, sem))

            await asyncio.gather(*(one(t) for t in todo))

        asyncio.run(main())
    wall = time.perf_counter() - t0
    records = [fresh.get(t.key) or done[t.key] for t in turns]
    summary = summarize(records, ks, rewards=rewards)
    summary["seconds"] = round(wall, 2)
    summary["resumed"] = len(turns) - len(todo)
    if splits:
        summary["splits"] = {
            name: summarize(records, ks, include=pred, rewards=rewards) for name, pred in splits.items()
        }
    unmapped = sorted({s["title"] for r in records for s in r["samples"] if s["item_id"] is None})
    return ReplayResult(summary=summary, records=records, unmapped_titles=unmapped)


class PopularityRunner:
    """The popularity baseline: every turn gets the same ranking, most popular items first.

    It honours the replay part of :class:`~crsagent.agent.turns.AgentRunner` (``run_history``
    and ``arun_history``); it has no dialogue state.

    Args:
        items: catalogue items (with ``item_id``, ``title``, ``popularity``).
    """

    variant = "popularity"

    def __init__(self, items: Iterable[Any]):
        ordered = sorted(items, key=lambda it: (-float(it.popularity or 0.0), it.item_id))
        self._ranking = [
            Recommendation(item_id=it.item_id, title=it.title, score=float(it.popularity or 0.0)) for it in ordered
        ]

    def run_history(self, messages: Sequence[Any], *, user_id: str | None = None, ranking_k: int = 50) -> TurnResult:
        """The top ``ranking_k`` items by popularity, whatever the history."""
        top = self._ranking[:ranking_k]
        return TurnResult(reply="", ranking=top, recommendations=top[:3])

    async def arun_history(
        self, messages: Sequence[Any], *, user_id: str | None = None, ranking_k: int = 50
    ) -> TurnResult:
        """Async :meth:`run_history`."""
        return self.run_history(messages, user_id=user_id, ranking_k=ranking_k)
