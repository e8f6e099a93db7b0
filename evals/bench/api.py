"""``crsagent bench api``: the API's throughput and latency, and its own overhead.

The same load (``sessions`` concurrent conversations of ``turns`` turns each, instant fake
LLM) runs twice over the real catalogue:

1. through the HTTP API: ``crsagent serve --fake-llm`` in a subprocess on a loopback port,
   driven by the official async ``openai`` client, each conversation on its own
   ``X-Session-Id``;
2. in process: the same :class:`~crsagent.graphs.runner.CRSAgent` variant, ``aturn`` on the
   same kind of threads, no HTTP.

Both report turns per second, p50 and p95 latency; ``throughput_ratio`` (API / in process)
and ``latency_overhead_p50_ms`` are what HTTP, JSON and the server add. A third run,
``api_noop``, sends the same load to the API over a runner that answers at once (a fixed turn
result, no graph): the API's own ceiling on this machine.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from crsagent.agent.errors import AgentRunError
from crsagent.agent.settings import Settings

__all__ = [
    "OPENERS",
    "FOLLOW_UPS",
    "NoopRunner",
    "serve_noop",
    "dialogue",
    "run_api_bench",
    "load_stats",
    "start_server",
    "wait_ready",
    "TARGET_TURNS_PER_S",
]

TARGET_TURNS_PER_S = 30.0

#: Opening requests and follow-ups; conversation ``i`` starts with opener ``i mod len``.
OPENERS: tuple[str, ...] = (
    "Hi! I loved The Babadook and It Follows. Any other horror films?",
    "I'm looking for a funny animated movie for the family, like Toy Story.",
    "Can you recommend a crime thriller like Heat or Se7en?",
    "I really enjoyed The Matrix. Something similar, science fiction?",
    "A romantic comedy please, something like Notting Hill.",
    "I want a war movie, I liked Saving Private Ryan.",
    "Any good documentaries? I liked March of the Penguins.",
    "Looking for a fantasy adventure like The Lord of the Rings.",
)
FOLLOW_UPS: tuple[str, ...] = (
    "Something from after 2010 please.",
    "Not that one, I've seen it.",
    "Maybe something a bit lighter?",
    "Why would I like the first one?",
    "Great, anything else like that?",
    "Do you have one directed by Christopher Nolan?",
)


def dialogue(index: int, turns: int) -> list[str]:
    """The user messages of conversation ``index`` (deterministic)."""
    msgs = [OPENERS[index % len(OPENERS)]]
    for t in range(1, turns):
        msgs.append(FOLLOW_UPS[(index + t - 1) % len(FOLLOW_UPS)])
    return msgs


def load_stats(
    latencies_s: list[float], wall_s: float, errors: int, ttft_s: list[float] | None = None
) -> dict[str, float | int]:
    """Turns per second and latency percentiles of one load run (with ``ttft_s``, streamed turns:
    also ``ttft_p50_s``, ``ttft_p95_s``, ``turn_p50_s``, ``turn_p95_s``)."""
    lat = np.asarray(latencies_s, dtype=float) * 1000.0
    done = len(latencies_s)
    extra: dict[str, float | int] = {}
    if ttft_s is not None:
        for name, values in (("ttft", ttft_s), ("turn", latencies_s)):
            for q in (50, 95):
                extra[f"{name}_p{q}_s"] = round(float(np.percentile(values, q)), 4) if values else float("nan")
    return {
        **extra,
        "turns": done,
        "errors": errors,
        "wall_s": round(wall_s, 3),
        "turns_per_s": round(done / wall_s, 2) if wall_s > 0 else 0.0,
        "p50_ms": round(float(np.percentile(lat, 50)), 2) if done else float("nan"),
        "p95_ms": round(float(np.percentile(lat, 95)), 2) if done else float("nan"),
        "max_ms": round(float(lat.max()), 2) if done else float("nan"),
    }


async def _drive(
    sessions: int,
    turns: int,
    one_turn: Callable[[int, str], Awaitable[float | None]],
    advance: Callable[[int], None] | None,
) -> dict[str, float | int]:
    """Run ``sessions`` conversations concurrently, each turn after the previous one.

    ``one_turn`` returns the seconds to its first content (streamed turns) or None.
    """
    latencies: list[float] = []
    ttfts: list[float] = []
    errors = 0

    async def conversation(i: int) -> None:
        nonlocal errors
        for text in dialogue(i, turns):
            t0 = time.perf_counter()
            try:
                ttft = await one_turn(i, text)
            except Exception:  # noqa: BLE001 - a failed turn is counted, the load goes on
                errors += 1
            else:
                latencies.append(time.perf_counter() - t0)
                if ttft is not None:
                    ttfts.append(ttft)
            if advance is not None:
                advance(1)

    t0 = time.perf_counter()
    await asyncio.gather(*(conversation(i) for i in range(sessions)))
    return load_stats(latencies, time.perf_counter() - t0, errors, ttfts if ttfts else None)


class NoopRunner:
    """Answers every turn at once with a fixed result (~40 words, 3 items): the API alone."""

    def __init__(self, variant: str) -> None:
        from crsagent.agent.turns import Recommendation, TurnResult, Usage

        self.variant = variant
        recs = [
            Recommendation(
                item_id=f"tt000000{i}",
                title=f"Film {i} (2001)",
                score=1.0 - i / 10,
                explanation="A 2001 film; like the one you liked, it is a thriller.",
            )
            for i in range(3)
        ]
        reply = "Here are some suggestions for you: " + " ".join(f"{r.title} — {r.explanation}" for r in recs)
        self._result = TurnResult(reply=reply, recommendations=recs, usage=Usage(llm_calls=0))

    async def aturn(self, text: str, *, thread_id: str, user_id: str | None = None) -> Any:
        return self._result

    async def arun_history(self, messages: Any, *, user_id: str | None = None, ranking_k: int = 50) -> Any:
        return self._result

    def turn(self, text: str, *, thread_id: str, user_id: str | None = None) -> Any:
        return self._result

    def run_history(self, messages: Any, *, user_id: str | None = None, ranking_k: int = 50) -> Any:
        return self._result


def serve_noop(port: int) -> None:
    """Serve the API over :class:`NoopRunner` on ``127.0.0.1:port`` (``python -m ... PORT``)."""
    import uvicorn

    from crsagent.agent.server import create_app

    uvicorn.run(create_app(NoopRunner), host="127.0.0.1", port=port, log_level="warning", access_log=False)


async def _in_process(
    settings: Settings, domain: str, variant: str, sessions: int, turns: int, advance: Callable[[int], None] | None
) -> dict[str, float | int]:
    """The same load on the agent the server would build (same runner factory, persistence and
    thread pool), called directly."""
    from concurrent.futures import ThreadPoolExecutor

    from crsagent.agent.server.agent_runners import CRSAgentRunners
    from crsagent.agent.server.config import ServerConfig
    from crsagent.agent.testing import InstantChatModel

    executor = ThreadPoolExecutor(max_workers=ServerConfig().worker_threads, thread_name_prefix="crsagent-turn")
    asyncio.get_running_loop().set_default_executor(executor)
    runners = CRSAgentRunners(settings, domain, llm=InstantChatModel())
    try:
        agent = await runners(variant)
        run = uuid.uuid4().hex[:8]
        await agent.aturn(OPENERS[0], thread_id=f"bench-warm-{run}", user_id="bench-warm")

        async def one_turn(i: int, text: str) -> float | None:
            await agent.aturn(text, thread_id=f"bench-{run}-{i}", user_id=f"bench-user-{i}")
            return None

        return await _drive(sessions, turns, one_turn, advance)
    finally:
        await runners.aclose()
        executor.shutdown(wait=False)


def start_server(
    settings: Settings,
    domain: str,
    variant: str,
    port: int,
    log: Path,
    noop: bool = False,
    extra: Sequence[str] = (),
    llm_base_url: str | None = None,
) -> subprocess.Popen[bytes]:
    """``crsagent serve --fake-llm`` (or the no-op API with ``noop``) on a loopback port, keys off.

    Args:
        extra: further ``crsagent serve`` options (``--checkpoint-url ...``).
        llm_base_url: serve with this LLM server instead of the fake.
    """
    llm = ["--llm-base-url", llm_base_url] if llm_base_url else ["--fake-llm"]
    if noop:
        cmd = [sys.executable, "-m", "crsagent.evals.bench.api", str(port)]
    else:
        cmd = [
            sys.executable, "-c", "from crsagent.agent.cli import main; main()", "serve",
            "--host", "127.0.0.1", "--port", str(port), "--domain", domain, "--default-variant", variant,
            "--home", str(settings.home), *llm, "--log-level", "warning", *extra,
        ]  # fmt: skip
    env = {**os.environ, "CRSAGENT_API_KEYS": ""}
    with open(log, "wb") as fh:
        return subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, env=env)


async def wait_ready(base_url: str, proc: subprocess.Popen[bytes], log: Path, timeout_s: float) -> None:
    """Wait until the server answers ``/health``.

    Raises:
        AgentRunError: it exited or did not start in ``timeout_s``.
    """
    import httpx

    deadline = time.monotonic() + timeout_s
    async with httpx.AsyncClient(timeout=2.0) as client:
        while True:
            if proc.poll() is not None:
                raise AgentRunError(f"the API server exited ({proc.returncode}): {log.read_text()[-2000:]}")
            try:
                if (await client.get(f"{base_url}/health")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise AgentRunError(f"the API server did not start in {timeout_s:.0f} s: {log.read_text()[-2000:]}")
            await asyncio.sleep(0.25)


async def _through_api(
    settings: Settings,
    domain: str,
    variant: str,
    sessions: int,
    turns: int,
    advance: Callable[[int], None] | None,
    startup_timeout_s: float,
    noop: bool = False,
    stream: bool = False,
    llm_base_url: str | None = None,
) -> dict[str, float | int]:
    import openai

    from crsagent.agent.server.loopback import free_port

    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="crsagent-bench-api-") as tmp:
        log = Path(tmp) / "server.log"
        proc = start_server(settings, domain, variant, port, log, noop=noop, llm_base_url=llm_base_url)
        try:
            await wait_ready(base_url, proc, log, startup_timeout_s)
            client = openai.AsyncOpenAI(
                base_url=f"{base_url}/v1", api_key="bench", max_retries=0, timeout=900 if llm_base_url else 120
            )
            run = uuid.uuid4().hex[:8]
            await client.chat.completions.create(
                model="crsagent", messages=[{"role": "user", "content": OPENERS[0]}],
                extra_headers={"X-Session-Id": f"bench-warm-{run}"},
            )  # fmt: skip

            async def one_turn(i: int, text: str) -> float | None:
                t0 = time.perf_counter()
                answer = await client.chat.completions.create(
                    model="crsagent",
                    messages=[{"role": "user", "content": text}],
                    user=f"bench-user-{i}",
                    extra_headers={"X-Session-Id": f"bench-{run}-{i}"},
                    stream=stream,
                )
                if not stream:
                    return None
                first: float | None = None
                async for chunk in answer:  # type: ignore[union-attr]
                    if first is None and chunk.choices and chunk.choices[0].delta.content:
                        first = time.perf_counter() - t0
                return first if first is not None else time.perf_counter() - t0

            stats = await _drive(sessions, turns, one_turn, advance)
            await client.close()
            return stats
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def run_api_bench(
    settings: Settings,
    *,
    sessions: int = 32,
    turns: int = 5,
    domain: str = "movies",
    variant: str = "full",
    progress: Callable[[str, int | None], Callable[[int], None]] | None = None,
    startup_timeout_s: float = 300.0,
    stream: bool = False,
    llm_base_url: str | None = None,
) -> dict[str, Any]:
    """Run the load through the API and in process; return the report.

    Args:
        settings: the data home (the domain must be built).
        sessions: concurrent conversations.
        turns: turns per conversation.
        domain: catalogue.
        variant: graph variant (the model ``crsagent`` of the server).
        progress: ``start(description, total) -> advance(n)``.
        startup_timeout_s: how long the server subprocess may take to become ready.
        stream: the API clients ask for ``stream=True``; the ``api`` and ``api_noop`` stats then
            carry ``ttft_p50_s``, ``ttft_p95_s`` (to the first content chunk), ``turn_p50_s``
            and ``turn_p95_s`` (to ``[DONE]``).
        llm_base_url: run only the API load, served with this LLM server instead of the fake
            (what a person waits for: with ``stream``, the report's ``latency_targets``); the
            report's ``prompt_cache`` has the prompt tokens vLLM was sent and how many its prefix
            cache held (null without vLLM's metrics).

    Returns:
        The report (``api``, ``in_process`` and ``api_noop`` stats, ratio, target).
    """
    if sessions < 1 or turns < 1:
        raise ValueError("sessions and turns must be at least 1")
    total = sessions * turns

    def bar(desc: str) -> Callable[[int], None] | None:
        return progress(desc, total) if progress is not None else None

    if llm_base_url:
        from crsagent.evals.bench.vllm_metrics import prompt_cache_delta, read_cache_counters, speculation_delta

        counters = read_cache_counters(llm_base_url)
        api = asyncio.run(
            _through_api(
                settings,
                domain,
                variant,
                sessions,
                turns,
                bar(f"API, LLM at {llm_base_url}"),
                startup_timeout_s,
                stream=stream,
                llm_base_url=llm_base_url,
            )
        )
        report: dict[str, Any] = {
            "bench": "api",
            "domain": domain,
            "variant": variant,
            "llm": llm_base_url,
            "stream": stream,
            "sessions": sessions,
            "turns_per_session": turns,
            "api": api,
            "prompt_cache": prompt_cache_delta(counters, after := read_cache_counters(llm_base_url)),
            "speculation": speculation_delta(counters, after),
            "cpu_count": os.cpu_count(),
        }
        if stream:
            from crsagent.evals.bench.turn import LATENCY_TARGETS

            report["latency_targets"] = LATENCY_TARGETS
            report["meets_latency_targets"] = bool(
                api["ttft_p50_s"] <= LATENCY_TARGETS["ttft_p50_s"]
                and api["turn_p50_s"] <= LATENCY_TARGETS["turn_p50_s"]
            )
        return report

    api = asyncio.run(
        _through_api(
            settings, domain, variant, sessions, turns, bar("through the API"), startup_timeout_s, stream=stream
        )
    )
    local = asyncio.run(_in_process(settings, domain, variant, sessions, turns, bar("in process")))
    noop = asyncio.run(
        _through_api(
            settings, domain, variant, sessions, turns, bar("API, no-op runner"), startup_timeout_s, True, stream=stream
        )
    )
    ratio = api["turns_per_s"] / local["turns_per_s"] if local["turns_per_s"] else float("nan")
    return {
        "bench": "api",
        "domain": domain,
        "variant": variant,
        "llm": "InstantChatModel",
        "stream": stream,
        "sessions": sessions,
        "turns_per_session": turns,
        "api": api,
        "in_process": local,
        "api_noop": noop,
        "throughput_ratio": round(ratio, 3),
        "latency_overhead_p50_ms": round(float(api["p50_ms"]) - float(local["p50_ms"]), 2),
        "target_turns_per_s": TARGET_TURNS_PER_S,
        "meets_target": bool(api["turns_per_s"] >= TARGET_TURNS_PER_S and api["errors"] == 0),
        "cpu_count": os.cpu_count(),
    }


if __name__ == "__main__":  # the no-op API server of the benchmark
    serve_noop(int(sys.argv[1]))
