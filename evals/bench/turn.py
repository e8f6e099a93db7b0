"""``crsagent bench turn``: what one agent turn costs apart from generation, and with a real LLM.

Scripted multi-turn dialogues are cut from the ReDial dev seeker messages (movie mentions
written as titles). They are played, each on its own checkpointed thread, against:

1. the agent with :class:`~crsagent.agent.testing.InstantChatModel` over the real movie
   catalogue: the wall time of a turn is everything but generation (entity linking, ranking,
   tools, explanations, checkpointing, profile memory): ``overhead_p50_ms``,
   ``overhead_p95_ms``, ``llm_calls_per_turn``, ``tool_calls_per_turn``;
2. with an LLM base URL, the same agent against that server: ``llm_turn_p50_ms``,
   ``llm_turn_p95_ms``, ``llm_valid_or_handled_rate`` (the share of the LLM's outputs, its
   structured answers and tool calls, in turns that did not crash) and ``llm_crashed_turns``;
   and what a person waits for: ``ttft_p50_s`` / ``ttft_p95_s`` (time to the first reply text)
   and ``turn_p50_s`` / ``turn_p95_s`` (:func:`latency_fields`); ``prompt_cache``: the prompt
   tokens vLLM was sent during the measured turns and how many its prefix cache held
   (:mod:`crsagent.evals.bench.vllm_metrics`; null for a server without vLLM's metrics);
   ``speculation``: the tokens speculative decoding proposed and the model accepted (null
   without it).

Turns are streamed (``stream_turn``) when the runner can, as ``crsagent chat`` runs them, so the
overhead figures include streaming (``overhead_ttft_p50_ms`` is the fake's time to first text).

Targets: overhead p50 <= 50 ms, p95 <= 150 ms; at most 3 LLM calls per turn; no crashed turn.
With the bundled model on real vLLM: TTFT p50 <= 2.5 s and turn p50 <= 6 s (reported in
``latency_targets`` and ``meets_latency_targets``; not part of ``meets_targets``).
"""

from __future__ import annotations

import json
import os
import platform
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from crsagent.agent.errors import DataError
from crsagent.agent.settings import Settings
from crsagent.evals.bench.vllm_metrics import prompt_cache_delta, read_cache_counters, speculation_delta

__all__ = [
    "TARGETS",
    "LATENCY_TARGETS",
    "seeker_dialogues",
    "PlayStats",
    "timed_turn",
    "play",
    "latency_fields",
    "run_turn_bench",
]

TARGETS: dict[str, float] = {"overhead_p50_ms": 50.0, "overhead_p95_ms": 150.0, "llm_calls_per_turn": 3.0}
#: With the bundled model on real vLLM (issue 16): what a person waits for the first words and the whole turn.
LATENCY_TARGETS: dict[str, float] = {"ttft_p50_s": 2.5, "turn_p50_s": 6.0}
_MENTION = re.compile(r"@(\d+)")
_INVALID = re.compile(r"invalid|Output|Validation|malformed|JSON|parse", re.IGNORECASE)

Progress = Callable[[str, int | None], Callable[[int], None]]
RunnerFactory = Callable[..., Any]


def seeker_dialogues(data_dir: Path, *, limit: int = 50, max_turns: int = 4, min_turns: int = 2) -> list[list[str]]:
    """Seeker-side dialogues from ReDial's dev split, movie mentions written as titles.

    Consecutive seeker messages are merged into one turn.

    Args:
        data_dir: the bundled data folder (holds ``redial/dev_dialogues.jsonl``).
        limit: most dialogues returned (file order, deterministic).
        max_turns: turns kept per dialogue.
        min_turns: dialogues with fewer seeker turns are skipped.

    Raises:
        DataError: the file is missing or malformed.
    """
    path = Path(data_dir) / "redial" / "dev_dialogues.jsonl"
    if not path.exists():
        raise DataError("ReDial dev dialogues are missing", path)
    out: list[list[str]] = []
    with path.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if len(out) >= limit:
                break
            try:
                d = json.loads(line)
                seeker, titles = d["initiatorWorkerId"], d.get("movieMentions") or {}
                msgs = d["messages"]
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                raise DataError(f"line {n}: {exc}", path) from exc
            turns: list[str] = []
            last_sender = None
            for m in msgs:
                text = _MENTION.sub(lambda g: " ".join(str(titles.get(g.group(1), "")).split()), m.get("text", ""))  # noqa: B023 (runs now)
                text = " ".join(text.split())
                if m.get("senderWorkerId") == seeker and text:
                    if last_sender == seeker and turns:
                        turns[-1] = f"{turns[-1]} {text}"
                    else:
                        turns.append(text)
                last_sender = m.get("senderWorkerId")
            turns = [t[:1000] for t in turns[:max_turns]]
            if len(turns) >= min_turns:
                out.append(turns)
    return out


@dataclass
class PlayStats:
    """What playing dialogues measured.

    Attributes:
        latencies_s: wall time of each completed turn.
        ttft_s: time to the first reply text of each completed turn: the first text the guard
            released when the turn was streamed and the LLM's reply carried it, else the whole
            turn (the reply is shown at its end).
        streamed: completed turns whose reply began before the turn ended.
        fallbacks: completed turns that fell back to the deterministic policy.
        llm_calls: LLM calls per completed turn.
        tool_calls: tool calls per completed turn.
        degraded: completed turns whose LLM step failed and fell back.
        invalid_outputs: LLM outputs the turns' notes report as invalid (and handled).
        crashed: turns that raised.
        errors: the first few crash messages.
    """

    latencies_s: list[float] = field(default_factory=list)
    ttft_s: list[float] = field(default_factory=list)
    streamed: int = 0
    fallbacks: int = 0
    llm_calls: list[int] = field(default_factory=list)
    tool_calls: list[int] = field(default_factory=list)
    degraded: int = 0
    invalid_outputs: int = 0
    crashed: int = 0
    errors: list[str] = field(default_factory=list)


def timed_turn(
    runner: Any, text: str, *, thread_id: str, user_id: str, stream: bool = True
) -> tuple[Any, float | None]:
    """One turn, streamed when the runner can (``stream_turn``) and ``stream`` is on.

    Returns:
        (the result, seconds to the first reply text released while the turn ran, or None).
    """
    streamer = getattr(runner, "stream_turn", None) if stream else None
    if streamer is None:
        return runner.turn(text, thread_id=thread_id, user_id=user_id), None
    from crsagent.graphs.streaming import ReplyDelta, TurnDone

    t0 = time.perf_counter()
    first: float | None = None
    result = None
    for event in streamer(text, thread_id=thread_id, user_id=user_id):
        if isinstance(event, ReplyDelta) and first is None:
            first = time.perf_counter() - t0
        elif isinstance(event, TurnDone):
            result = event.result
    if result is None:
        raise RuntimeError("the streamed turn ended without a result")
    return result, first


def play(
    runner: Any,
    dialogues: list[list[str]],
    *,
    turns: int,
    warmup: int = 0,
    advance: Callable[[int], None] | None = None,
    stream: bool = True,
) -> PlayStats:
    """Play dialogues (each on a fresh thread) until ``turns`` turns are measured.

    The first ``warmup`` turns run but are not measured. A turn that raises is counted as
    crashed (the benchmark's job is to find them), and the dialogue moves on. Turns are
    streamed when the runner can (see :func:`timed_turn`).
    """
    stats = PlayStats()
    done = 0
    user = f"bench-{uuid.uuid4().hex[:8]}"
    while done < turns + warmup:
        for dlg in dialogues:
            thread = f"bench-{uuid.uuid4().hex[:12]}"
            for text in dlg:
                if done >= turns + warmup:
                    return stats
                t0 = time.perf_counter()
                try:
                    result, ttft = timed_turn(runner, text, thread_id=thread, user_id=user, stream=stream)
                except Exception as exc:  # noqa: BLE001 - a crash is the measurement
                    elapsed = time.perf_counter() - t0
                    if done >= warmup:
                        stats.crashed += 1
                        if len(stats.errors) < 5:
                            stats.errors.append(f"{type(exc).__name__}: {exc}"[:300])
                    done += 1
                    if advance:
                        advance(1)
                    continue
                elapsed = time.perf_counter() - t0
                if done >= warmup:
                    stats.latencies_s.append(elapsed)
                    stats.ttft_s.append(elapsed if ttft is None else ttft)
                    stats.streamed += int(ttft is not None)
                    stats.fallbacks += int(bool(getattr(result, "fallback", False)))
                    stats.llm_calls.append(result.usage.llm_calls)
                    stats.tool_calls.append(result.usage.tool_calls)
                    stats.degraded += int(result.degraded)
                    notes = getattr(result, "notes", None) or []
                    stats.invalid_outputs += sum(1 for n in notes if _INVALID.search(str(n)))
                done += 1
                if advance:
                    advance(1)
        if not dialogues:
            break
    return stats


def _pct(values_s: list[float], q: float) -> float:
    return round(float(np.percentile(np.asarray(values_s) * 1000.0, q)), 2) if values_s else float("nan")


def _pct_s(values_s: list[float], q: float) -> float:
    return round(float(np.percentile(np.asarray(values_s), q)), 3) if values_s else float("nan")


def latency_fields(stats: PlayStats) -> dict[str, Any]:
    """``ttft_p50_s``, ``ttft_p95_s``, ``turn_p50_s``, ``turn_p95_s``, ``streamed_turns``, ``fallback_turns``."""
    return {
        "ttft_p50_s": _pct_s(stats.ttft_s, 50),
        "ttft_p95_s": _pct_s(stats.ttft_s, 95),
        "turn_p50_s": _pct_s(stats.latencies_s, 50),
        "turn_p95_s": _pct_s(stats.latencies_s, 95),
        "streamed_turns": stats.streamed,
        "fallback_turns": stats.fallbacks,
    }


def _default_factory(settings: Settings, domain: str, variant: str, llm: Any) -> Any:
    from crsagent.graphs.runner import CRSAgent

    return CRSAgent.create(settings, domain=domain, variant=variant, llm=llm)


def _close(runner: Any) -> None:
    close = getattr(runner, "close", None)
    if callable(close):
        close()


def run_turn_bench(
    settings: Settings,
    *,
    turns: int = 60,
    domain: str = "movies",
    variant: str = "full",
    llm_base_url: str | None = None,
    llm_model: str | None = None,
    llm_turns: int = 8,
    warmup: int = 2,
    progress: Progress | None = None,
    runner_factory: RunnerFactory | None = None,
    stream: bool = True,
) -> dict[str, Any]:
    """Measure the agent's per-turn overhead (instant fake LLM) and, optionally, a real LLM.

    Args:
        settings: data home and data folder.
        turns: measured turns with the fake LLM.
        domain: the catalogue (the dialogues are movie dialogues).
        variant: the graph variant.
        llm_base_url: a real OpenAI-compatible server to measure as well.
        llm_model: its served model name (default: asked from the server).
        llm_turns: measured turns with the real LLM.
        warmup: unmeasured turns first (lazy loads, caches).
        progress: ``progress(description, total) -> advance(n)``.
        runner_factory: ``factory(settings, domain, variant, llm) -> runner``; default
            ``CRSAgent.create``.
        stream: stream the turns when the runner can (``stream_turn``); off, ``turn``.

    Returns:
        The report (see the module docstring for the keys).
    """
    from crsagent.agent.testing import InstantChatModel

    factory = runner_factory or _default_factory
    dialogues = seeker_dialogues(settings.data_dir, limit=max(10, turns))
    report: dict[str, Any] = {
        "bench": "turn",
        "domain": domain,
        "variant": variant,
        "dialogues": len(dialogues),
        "stream": stream,
    }
    t0 = time.perf_counter()
    runner = factory(settings, domain, variant, InstantChatModel())
    report["load_s"] = round(time.perf_counter() - t0, 2)
    try:
        advance = progress(f"turns, instant LLM ({variant})", turns + warmup) if progress else None
        fake = play(runner, dialogues, turns=turns, warmup=warmup, advance=advance, stream=stream)
    finally:
        _close(runner)
    report.update(
        {
            "turns": len(fake.latencies_s),
            "overhead_p50_ms": _pct(fake.latencies_s, 50),
            "overhead_p95_ms": _pct(fake.latencies_s, 95),
            "overhead_mean_ms": round(float(np.mean(fake.latencies_s)) * 1000.0, 2)
            if fake.latencies_s
            else float("nan"),
            "overhead_ttft_p50_ms": _pct(fake.ttft_s, 50),
            "llm_calls_per_turn": round(float(np.mean(fake.llm_calls)), 3) if fake.llm_calls else 0.0,
            "llm_calls_max": int(max(fake.llm_calls, default=0)),
            "tool_calls_per_turn": round(float(np.mean(fake.tool_calls)), 3) if fake.tool_calls else 0.0,
            "crashed_turns": fake.crashed,
            "errors": fake.errors,
        }
    )
    if llm_base_url:
        real_settings = replace(settings, llm_base_url=llm_base_url, llm_model=llm_model or settings.llm_model)
        runner = factory(real_settings, domain, variant, None)
        counters = read_cache_counters(llm_base_url)
        try:
            advance = progress(f"turns, LLM at {llm_base_url}", llm_turns + 1) if progress else None
            real = play(runner, dialogues, turns=llm_turns, warmup=1, advance=advance, stream=stream)
        finally:
            _close(runner)
        after = read_cache_counters(llm_base_url)
        report["prompt_cache"] = prompt_cache_delta(counters, after)
        report["speculation"] = speculation_delta(counters, after)
        outputs = sum(real.llm_calls) + sum(real.tool_calls)
        report.update(
            {
                "llm_base_url": llm_base_url,
                "llm_turns": len(real.latencies_s) + real.crashed,
                "llm_turn_p50_ms": _pct(real.latencies_s, 50),
                "llm_turn_p95_ms": _pct(real.latencies_s, 95),
                **latency_fields(real),
                "llm_outputs": outputs,
                "llm_invalid_outputs_handled": real.invalid_outputs,
                "llm_valid_or_handled_rate": round(outputs / (outputs + real.crashed), 4)
                if outputs + real.crashed
                else 1.0,
                "llm_degraded_turns": real.degraded,
                "llm_crashed_turns": real.crashed,
                "llm_calls_per_turn_real": round(float(np.mean(real.llm_calls)), 3) if real.llm_calls else 0.0,
                "llm_errors": real.errors,
            }
        )
    report["meets_targets"] = bool(
        report["overhead_p50_ms"] <= TARGETS["overhead_p50_ms"]
        and report["overhead_p95_ms"] <= TARGETS["overhead_p95_ms"]
        and report["llm_calls_max"] <= TARGETS["llm_calls_per_turn"]
        and report["crashed_turns"] == 0
        and report.get("llm_crashed_turns", 0) == 0
    )
    report["targets"] = TARGETS
    if llm_base_url:
        report["latency_targets"] = LATENCY_TARGETS
        report["meets_latency_targets"] = bool(
            report["ttft_p50_s"] <= LATENCY_TARGETS["ttft_p50_s"]
            and report["turn_p50_s"] <= LATENCY_TARGETS["turn_p50_s"]
        )
    report["machine"] = {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()}
    return report
