"""``crsagent bench soak``: a long, steady load on the API; latency drift and memory growth.

``crsagent serve --fake-llm`` runs in a subprocess on a loopback port with its sessions in a
temporary SQLite folder. ``sessions`` clients talk to it without pause for ``minutes``; each
client holds a conversation of ``turns`` turns, then starts a new session (so the number of
checkpointed threads keeps growing, as in production). The server's resident memory is sampled
from ``/proc`` every few seconds.

The report gives the latency percentiles overall and per minute (drift), the error count, the
server's RSS at the start of the measured load and at its end, its growth (absolute, and as a
slope over the second half of the run, which leaves out warm-up), and the size the checkpoint
files reached.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from crsagent.agent.errors import AgentRunError, ConfigError
from crsagent.agent.settings import Settings
from crsagent.evals.bench.api import dialogue, load_stats, start_server, wait_ready

__all__ = ["rss_kib", "memory_slope_mib_per_min", "run_soak"]


def rss_kib(pid: int) -> int:
    """Resident memory of a process in KiB (Linux ``/proc``).

    Raises:
        AgentRunError: the process is gone or ``/proc`` has no figure.
    """
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError as exc:
        raise AgentRunError(f"cannot read the memory of process {pid}: {exc}") from exc
    raise AgentRunError(f"no VmRSS for process {pid}")


def memory_slope_mib_per_min(samples: list[tuple[float, int]]) -> float:
    """Least-squares slope of RSS over time, in MiB per minute, over the second half of the samples.

    Args:
        samples: ``(seconds since start, RSS KiB)`` pairs, oldest first.
    """
    half = samples[len(samples) // 2 :]
    if len(half) < 2:
        return 0.0
    t = np.asarray([s for s, _ in half], dtype=float) / 60.0
    m = np.asarray([k for _, k in half], dtype=float) / 1024.0
    if float(t.max() - t.min()) <= 0.0:
        return 0.0
    return float(np.polyfit(t, m, 1)[0])


async def _soak(
    url: str,
    pid: int,
    seconds: float,
    sessions: int,
    turns: int,
    sample_every_s: float,
    tick: Callable[[int], None] | None,
) -> dict[str, Any]:
    import httpx

    run = uuid.uuid4().hex[:8]
    done: list[tuple[float, float]] = []  # (finished at, latency s)
    errors: dict[str, int] = {}
    started_sessions = 0
    limits = httpx.Limits(max_connections=sessions, max_keepalive_connections=sessions)
    async with httpx.AsyncClient(base_url=url, timeout=300, limits=limits) as client:

        async def turn(session: str, user: str, text: str) -> None:
            body = {"model": "crsagent", "messages": [{"role": "user", "content": text}], "user": user}
            r = await client.post("/v1/chat/completions", json=body, headers={"X-Session-Id": session})
            if r.status_code != 200:
                raise AgentRunError(f"HTTP {r.status_code}")

        await turn(f"soak-warm-{run}", "soak-warm", dialogue(0, 1)[0])
        t0 = time.monotonic()
        deadline = t0 + seconds
        samples: list[tuple[float, int]] = [(0.0, rss_kib(pid))]

        async def client_loop(c: int) -> None:
            nonlocal started_sessions
            n = 0
            while time.monotonic() < deadline:
                session, n = f"soak-{run}-{c}-{n}", n + 1
                started_sessions += 1
                for text in dialogue(c + n, turns):
                    if time.monotonic() >= deadline:
                        return
                    s = time.monotonic()
                    try:
                        await turn(session, f"soak-user-{c}", text)
                    except (httpx.HTTPError, AgentRunError) as exc:
                        key = type(exc).__name__ if isinstance(exc, httpx.HTTPError) else str(exc)
                        errors[key] = errors.get(key, 0) + 1
                    else:
                        done.append((time.monotonic() - t0, time.monotonic() - s))
                    if tick is not None:
                        tick(1)

        async def sampler() -> None:
            while time.monotonic() < deadline:
                await asyncio.sleep(min(sample_every_s, max(deadline - time.monotonic(), 0.01)))
                samples.append((time.monotonic() - t0, rss_kib(pid)))

        await asyncio.gather(sampler(), *(client_loop(c) for c in range(sessions)))
        wall = time.monotonic() - t0
    return {"done": done, "errors": errors, "samples": samples, "wall": wall, "sessions_started": started_sessions}


def run_soak(
    settings: Settings,
    *,
    minutes: float = 5.0,
    sessions: int = 16,
    turns: int = 10,
    domain: str = "movies",
    variant: str = "full",
    sample_every_s: float = 5.0,
    progress: Callable[[str, int | None], Callable[[int], None]] | None = None,
    startup_timeout_s: float = 300.0,
) -> dict[str, Any]:
    """Soak the API for ``minutes`` and report latency drift and memory growth.

    Args:
        settings: the data home (the domain must be built).
        minutes: how long the measured load runs.
        sessions: concurrent clients.
        turns: turns per conversation before a client starts a new session.
        domain: catalogue.
        variant: the graph the model ``crsagent`` runs (with the instant fake LLM).
        sample_every_s: how often the server's RSS is read.
        progress: ``start(description, total) -> advance(n)``.
        startup_timeout_s: how long the server may take to start.

    Returns:
        The report (one JSON object; see the module docstring).

    Raises:
        ConfigError: a non-positive duration, session count or turn count.
        AgentRunError: the server did not start, or died during the soak.
    """
    if minutes <= 0 or sessions < 1 or turns < 1 or sample_every_s <= 0:
        raise ConfigError("minutes and sample_every_s must be positive; sessions and turns at least 1")
    from crsagent.agent.server.loopback import free_port

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="crsagent-soak-") as tmp:
        folder, log = Path(tmp) / "sessions", Path(tmp) / "server.log"
        proc = start_server(settings, domain, variant, port, log, extra=["--checkpoint-url", f"sqlite://{folder}"])
        try:
            asyncio.run(wait_ready(url, proc, log, startup_timeout_s))
            tick = progress(f"soak {minutes:g} min", None) if progress is not None else None
            raw = asyncio.run(_soak(url, proc.pid, minutes * 60.0, sessions, turns, sample_every_s, tick))
            if proc.poll() is not None:
                raise AgentRunError(f"the API server died during the soak: {log.read_text()[-2000:]}")
            db_mib = sum(p.stat().st_size for p in folder.glob("*.sqlite*")) / 2**20
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
    return _report(raw, minutes=minutes, sessions=sessions, turns=turns, domain=domain, variant=variant, db_mib=db_mib)


def _report(
    raw: dict[str, Any], *, minutes: float, sessions: int, turns: int, domain: str, variant: str, db_mib: float
) -> dict[str, Any]:
    done, samples = raw["done"], raw["samples"]
    stats = load_stats([lat for _, lat in done], raw["wall"], sum(raw["errors"].values()))
    lat = np.asarray([lat for _, lat in done], dtype=float) * 1000.0
    per_minute = []
    for m in range(int(np.ceil(raw["wall"] / 60.0))):
        window = np.asarray([x * 1000.0 for at, x in done if m * 60 <= at < (m + 1) * 60], dtype=float)
        if window.size:
            per_minute.append(
                {
                    "minute": m + 1,
                    "turns": int(window.size),
                    "p50_ms": round(float(np.percentile(window, 50)), 1),
                    "p95_ms": round(float(np.percentile(window, 95)), 1),
                }
            )
    start_kib, end_kib = samples[0][1], samples[-1][1]
    return {
        "bench": "soak",
        "domain": domain,
        "variant": variant,
        "llm": "InstantChatModel",
        "minutes": minutes,
        "sessions": sessions,
        "turns_per_session": turns,
        "sessions_started": raw["sessions_started"],
        **stats,
        "p99_ms": round(float(np.percentile(lat, 99)), 2) if lat.size else float("nan"),
        "error_kinds": raw["errors"],
        "per_minute": per_minute,
        "rss_start_mib": round(start_kib / 1024, 1),
        "rss_end_mib": round(end_kib / 1024, 1),
        "rss_peak_mib": round(max(k for _, k in samples) / 1024, 1),
        "rss_growth_mib": round((end_kib - start_kib) / 1024, 1),
        "rss_growth_pct": round(100.0 * (end_kib - start_kib) / start_kib, 2) if start_kib else float("nan"),
        "rss_slope_mib_per_min": round(memory_slope_mib_per_min(samples), 3),
        "rss_samples": len(samples),
        "checkpoint_files_mib": round(db_mib, 2),
        "cpu_count": os.cpu_count(),
    }
