"""Replay evaluation: rank the catalogue from recorded dialogue contexts, score the recorded recommendations.

The protocol of the ReDial recommendation benchmarks (KBRD, BARCOR, UniCRS, iEvaLM): for each
turn the agent gets the context as its history, ranks the catalogue, and each ground-truth
title of the turn is one sample scored by Recall@k (the title is in the top k). Titles that
cannot be mapped to the catalogue count as misses and are reported separately.

The *filtered* protocol (He et al., "Large language models as zero-shot conversational
recommenders") drops samples whose title was already mentioned in the context, and takes
already-mentioned items out of the ranking before scoring.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from crsagent.agent.errors import CrsAgentError, DataError
from crsagent.agent.turns import AgentRunner, Recommendation, TurnResult
from crsagent.evals.datasets import ReplayTurn, TitleResolver, context_to_messages
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


def _no_progress(desc: str, total: int | None) -> Callable[[int], None]:
    return lambda n=1: None


def _hit(rank: int | None, k: int) -> float:
    return 1.0 if rank is not None and 1 <= rank <= k else 0.0


def recall_from_ranks(ranks: Sequence[int | None], k: int) -> float:
    """Recall@k over samples, each with one relevant item: the share of ranks within ``k``.

    Per sample this is :func:`crsagent.evals.metrics.recall_at_k` with one relevant id;
    ranks are stored instead of rankings so partial results stay small.

    Args:
        ranks: 1-based rank of each sample's relevant item, ``None`` when not ranked.
        k: the cut-off.

    Returns:
        The mean hit rate, 0.0 for no samples.
    """
    if not ranks:
        return 0.0
    return sum(_hit(r, k) for r in ranks) / len(ranks)


def _rank(item_id: str | None, ranking: Sequence[str], k: int) -> int | None:
    if item_id is None:
        return None
    for i, iid in enumerate(ranking[:k]):
        if iid == item_id:
            return i + 1
    return None


def score_turn(
    turn: ReplayTurn, ranking: Sequence[str], resolver: TitleResolver, *, max_k: int = 50
) -> list[dict[str, Any]]:
    """Score one turn's ground-truth titles against a ranking of item ids (best first).

    Returns:
        One sample per ``rec`` title: ``title``, ``item_id`` (None when unmapped), ``rank``
        (1-based in the top ``max_k``, else None), ``mentioned`` (already in the context) and
        ``filtered_rank`` (rank once mentioned items leave the ranking; None for a mentioned
        sample, which the filtered protocol drops).
    """
    mentioned = resolver.mentioned_ids(turn.context, turn.entity, candidates=turn.rec)
    filtered_ranking = [i for i in ranking if i not in mentioned]
    samples = []
    for title in turn.rec:
        iid = resolver.resolve(title)
        was_mentioned = (iid is not None and iid in mentioned) or any(title in c for c in turn.context)
        samples.append(
            {
                "title": title,
                "item_id": iid,
                "rank": _rank(iid, ranking, max_k),
                "mentioned": was_mentioned,
                "filtered_rank": None if was_mentioned else _rank(iid, filtered_ranking, max_k),
            }
        )
    return samples


def summarize(
    records: Iterable[Mapping[str, Any]], ks: Sequence[int] = DEFAULT_KS, *, include: Callable[[Mapping[str, Any]], bool] | None = None
) -> dict[str, Any]:
    """Aggregate per-turn records into the replay metrics.

    Args:
        records: per-turn records as written by :func:`run_replay`.
        ks: the Recall cut-offs.
        include: keep only the turns this returns True for (for split reports).

    Returns:
        ``recall@k`` and ``n`` over all samples, ``filtered_recall@k`` and ``filtered_n`` over
        samples not mentioned in the context, ``mapped_recall@k`` over mappable samples, and
        counts (``turns``, ``unmapped``, ``errors``, ``degraded``) with LLM cost per turn.
    """
    recs = [r for r in records if include is None or include(r)]
    samples = [s for r in recs for s in r.get("samples", [])]
    ranks = [s["rank"] for s in samples]
    franks = [s["filtered_rank"] for s in samples if not s["mentioned"]]
    mapped = [s["rank"] for s in samples if s["item_id"] is not None]
    out: dict[str, Any] = {}
    for k in ks:
        out[f"recall@{k}"] = round(recall_from_ranks(ranks, k), 4)
    out["n"] = len(ranks)
    for k in ks:
        out[f"filtered_recall@{k}"] = round(recall_from_ranks(franks, k), 4)
    out["filtered_n"] = len(franks)
    for k in ks:
        out[f"mapped_recall@{k}"] = round(recall_from_ranks(mapped, k), 4)
    n_turns = len(recs)
    out["turns"] = n_turns
    out["unmapped"] = sum(1 for s in samples if s["item_id"] is None)
    out["errors"] = sum(1 for r in recs if r.get("error"))
    out["degraded"] = sum(1 for r in recs if r.get("degraded"))
    secs = [float(r.get("seconds", 0.0)) for r in recs]
    out["turn_seconds_median"] = round(statistics.median(secs), 4) if secs else 0.0
    out["llm_calls_per_turn"] = round(sum(int(r.get("llm_calls", 0)) for r in recs) / n_turns, 3) if n_turns else 0.0
    toks = sum(int(r.get("total_tokens", 0)) for r in recs)
    out["tokens_per_turn"] = round(toks / n_turns, 1) if n_turns else 0.0
    return out


def _record(turn: ReplayTurn, result: TurnResult | None, error: str | None, seconds: float, samples: list[dict[str, Any]]) -> dict[str, Any]:
    usage = result.usage if result is not None else None
    return {
        "dialog_id": turn.dialog_id,
        "turn_id": turn.turn_id,
        "samples": samples,
        "llm_calls": usage.llm_calls if usage else 0,
        "total_tokens": usage.total_tokens if usage else 0,
        "degraded": bool(result.degraded) if result is not None else False,
        "error": error,
        "seconds": round(seconds, 4),
    }


@dataclass
class ReplayResult:
    """The outcome of a replay run.

    Attributes:
        summary: the metrics (see :func:`summarize`) plus ``seconds`` (wall time of this run),
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
        mentioned = resolver.mentioned_ids(turn.context, turn.entity, candidates=turn.rec)
        self.ranking_k = max_k + len(mentioned)
        try:
            self.messages = context_to_messages(turn.context)
            self.bad = None
        except DataError as exc:
            self.messages, self.bad = [], str(exc)

    def finish(self, result: TurnResult | None, error: str | None, seconds: float) -> dict[str, Any]:
        ranking = [r.item_id for r in result.ranking] if result is not None else []
        return _record(self.turn, result, error, seconds, score_turn(self.turn, ranking, self.resolver, max_k=self.max_k))


def _run_sync(runner: AgentRunner, job: _TurnJob, user_id: str | None) -> dict[str, Any]:
    if job.bad:
        return job.finish(None, job.bad, 0.0)
    t0 = time.perf_counter()
    try:
        result = runner.run_history(job.messages, user_id=user_id, ranking_k=job.ranking_k)
    except CrsAgentError as exc:
        return job.finish(None, f"{type(exc).__name__}: {exc}", time.perf_counter() - t0)
    return job.finish(result, None, time.perf_counter() - t0)


async def _run_async(runner: AgentRunner, job: _TurnJob, user_id: str | None, sem: asyncio.Semaphore) -> dict[str, Any]:
    if job.bad:
        return job.finish(None, job.bad, 0.0)
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
    summary = summarize(records, ks)
    summary["seconds"] = round(wall, 2)
    summary["resumed"] = len(turns) - len(todo)
    if splits:
        summary["splits"] = {name: summarize(records, ks, include=pred) for name, pred in splits.items()}
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
        self._ranking = [Recommendation(item_id=it.item_id, title=it.title, score=float(it.popularity or 0.0)) for it in ordered]

    def run_history(self, messages: Sequence[Any], *, user_id: str | None = None, ranking_k: int = 50) -> TurnResult:
        """The top ``ranking_k`` items by popularity, whatever the history."""
        top = self._ranking[:ranking_k]
        return TurnResult(reply="", ranking=top, recommendations=top[:3])

    async def arun_history(self, messages: Sequence[Any], *, user_id: str | None = None, ranking_k: int = 50) -> TurnResult:
        """Async :meth:`run_history`."""
        return self.run_history(messages, user_id=user_id, ranking_k=ranking_k)
