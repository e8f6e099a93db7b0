"""``crsagent bench replicas``: N API replicas on one PostgreSQL and one chroma server.

Everything runs on loopback: a throwaway PostgreSQL (started as the tests start it,
:mod:`crsagent.tests.support.postgres`) holds the sessions, profiles, session locks and rate
counts; a chroma server (``chroma run``, :mod:`crsagent.tests.support.chroma`) holds the vector
index, published from the built data home; N ``crsagent serve --fake-llm`` processes are the
replicas (``--checkpoint-url`` the PostgreSQL, ``CRSAGENT_CHROMA_URL`` the chroma server).

``sessions`` conversations run concurrently, each as its own user (so profiles are written
too). Each sends its turns in bursts of ``burst``
requests at once, turn k of session i to replica (i + k) mod N (with N >= ``burst`` every
request of a burst reaches another replica), so the replicas must serialise them through the
session lock.
Afterwards each session's checkpointed history is read from PostgreSQL:

* a **lost turn** is a turn whose reply the client received but whose question or reply is
  missing from the history;
* an **interleaved turn** is a turn whose question, in the history, is not followed directly
  by the very reply the client received (two turns of one session overlapped: one of them
  answered on a state the other was changing).

The report's last line (JSON) has ``replicas``, ``sessions``, ``turns``, ``turns_per_s``,
``turn_p50_ms``, ``turn_p95_ms``, ``lost_turns``, ``interleaved_turns``, ``errors`` and
``vector_store`` (``"chroma-server"``), plus the replicas' start-up time and memory, what the
turns wrote to PostgreSQL (rows and bytes per turn, from ``pg_stat_user_tables`` and the
tables' sizes) and the chroma server's memory and data size: the figures a capacity estimate
needs (``docs/deployment.md``).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from crsagent.agent.errors import ConfigError
from crsagent.agent.settings import Settings
from crsagent.evals.bench.api import dialogue, load_stats, wait_ready
from crsagent.evals.bench.soak import rss_kib

__all__ = ["run_replicas_bench", "audit_history", "postgres_figures", "folder_bytes"]

_TABLES = ("checkpoints", "checkpoint_blobs", "checkpoint_writes", "store", "crsagent_rate_hits")


def folder_bytes(path: Path) -> int:
    """Bytes of the files under ``path``."""
    return sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file())


def postgres_figures(url: str) -> dict[str, dict[str, int]]:
    """Per agent table: rows inserted and updated (``pg_stat_user_tables``) and total bytes."""
    import psycopg

    out: dict[str, dict[str, int]] = {}
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT relname, n_tup_ins, n_tup_upd, pg_total_relation_size(relid) FROM pg_stat_user_tables "
            "WHERE relname = ANY(%s)",
            (list(_TABLES),),
        ).fetchall()
    for name, ins, upd, size in rows:
        out[str(name)] = {"inserted": int(ins), "updated": int(upd), "bytes": int(size)}
    return out


def audit_history(messages: list[Any], sent: dict[str, str]) -> tuple[int, int]:
    """``(lost, interleaved)`` turns of one session.

    Args:
        messages: the session's checkpointed messages (LangChain messages).
        sent: question -> the reply the client received, for every turn that got one.
    """
    convo = [
        (m.type, str(m.content)) for m in messages if m.type in ("human", "ai") and not getattr(m, "tool_calls", None)
    ]
    where = {text: i for i, (kind, text) in enumerate(convo) if kind == "human"}
    lost = interleaved = 0
    for question, reply in sent.items():
        i = where.get(question)
        if i is None or not any(kind == "ai" and text == reply for kind, text in convo):
            lost += 1
        elif i + 1 >= len(convo) or convo[i + 1] != ("ai", reply):
            interleaved += 1
    return lost, interleaved


def _start_replica(
    settings: Settings, domain: str, variant: str, port: int, pg_url: str, chroma_url: str, log: Path
) -> subprocess.Popen[bytes]:
    cmd = [
        sys.executable,
        "-c",
        "from crsagent.agent.cli import main; main()",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--domain",
        domain,
        "--default-variant",
        variant,
        "--home",
        str(settings.home),
        "--fake-llm",
        "--log-level",
        "warning",
        "--checkpoint-url",
        pg_url,
    ]
    env = {**os.environ, "CRSAGENT_API_KEYS": "", "CRSAGENT_CHROMA_URL": chroma_url}
    with open(log, "wb") as fh:
        return subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, env=env)


async def _load(
    urls: list[str], sessions: int, turns: int, burst: int, variant: str, advance: Callable[[int], None] | None
) -> dict[str, Any]:
    import httpx

    latencies: list[float] = []
    errors: dict[str, int] = {}
    received: dict[str, dict[str, str]] = {}

    async def one(client: httpx.AsyncClient, url: str, session: str, text: str) -> None:
        t0 = time.perf_counter()
        try:
            r = await client.post(
                f"{url}/v1/chat/completions",
                headers={"X-Session-Id": session},
                json={"model": variant, "user": f"user-{session}", "messages": [{"role": "user", "content": text}]},
            )
        except httpx.HTTPError as exc:
            errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
        else:
            if r.status_code == 200:
                latencies.append(time.perf_counter() - t0)
                received[session][text] = r.json()["choices"][0]["message"]["content"]
            else:
                errors[str(r.status_code)] = errors.get(str(r.status_code), 0) + 1
        if advance is not None:
            advance(1)

    async def conversation(client: httpx.AsyncClient, i: int) -> None:
        session = f"replica-bench-{i}"
        received[session] = {}
        texts = [f"{t} (#{k})" for k, t in enumerate(dialogue(i, turns))]
        for start in range(0, turns, burst):
            await asyncio.gather(
                *(
                    one(client, urls[(i + k) % len(urls)], session, texts[k])
                    for k in range(start, min(turns, start + burst))
                )
            )

    limits = httpx.Limits(max_connections=sessions * burst + 8)
    t0 = time.perf_counter()
    async with httpx.AsyncClient(timeout=300, limits=limits) as client:
        await asyncio.gather(*(conversation(client, i) for i in range(sessions)))
    wall = time.perf_counter() - t0
    return {"stats": load_stats(latencies, wall, sum(errors.values())), "errors": errors, "received": received}


def run_replicas_bench(
    settings: Settings,
    *,
    replicas: int = 2,
    sessions: int = 8,
    turns: int = 6,
    burst: int = 2,
    domain: str = "movies",
    variant: str = "agent",
    startup_timeout_s: float = 600.0,
    progress: Callable[[str, int | None], Callable[[int], None]] | None = None,
) -> dict[str, Any]:
    """Start PostgreSQL, a chroma server and ``replicas`` API replicas; run the load; audit it.

    Raises:
        ConfigError: fewer than one replica or a burst under one.
        AgentRunError: a replica did not start.
        RuntimeError: PostgreSQL or chroma is missing or did not start.
    """
    from crsagent.agent.persistence import open_persistence
    from crsagent.agent.server.loopback import free_port
    from crsagent.tests.support.chroma import chroma_server
    from crsagent.tests.support.postgres import postgres_server
    from crsagent.tools.search.stage import publish_index

    if replicas < 1 or burst < 1:
        raise ConfigError("need --replicas >= 1 and --burst >= 1")
    with (
        tempfile.TemporaryDirectory(prefix="crsagent-replicas-") as tmp,
        postgres_server() as pg_url,
        chroma_server() as chroma,
    ):
        root = Path(tmp)
        chroma_url = chroma.url
        t0 = time.perf_counter()
        published = publish_index(replace(settings, chroma_url=chroma_url), domain)
        publish_s = time.perf_counter() - t0
        ports = [free_port() for _ in range(replicas)]
        procs = [
            _start_replica(settings, domain, variant, p, pg_url, chroma_url, root / f"replica-{i}.log")
            for i, p in enumerate(ports)
        ]
        urls = [f"http://127.0.0.1:{p}" for p in ports]
        try:
            t0 = time.perf_counter()

            async def ready() -> None:
                await asyncio.gather(
                    *(
                        wait_ready(u, pr, root / f"replica-{i}.log", startup_timeout_s)
                        for i, (u, pr) in enumerate(zip(urls, procs))
                    )
                )

            asyncio.run(ready())
            start_s = time.perf_counter() - t0
            advance = progress("replica turns", sessions * turns) if progress is not None else None
            run = asyncio.run(_load(urls, sessions, turns, burst, variant, advance))
            rss_mib = [round(rss_kib(pr.pid) / 1024, 1) for pr in procs]
            chroma_rss_mib = round(rss_kib(chroma.pid) / 1024, 1)
        finally:
            for pr in procs:
                pr.terminate()
            for pr in procs:
                try:
                    pr.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    pr.kill()
        lost = interleaved = 0
        with open_persistence(replace(settings, checkpoint_url=pg_url)) as pers:
            for session, sent in run["received"].items():
                saved = pers.checkpointer.get_tuple({"configurable": {"thread_id": session, "checkpoint_ns": ""}})
                msgs = list(saved.checkpoint["channel_values"].get("messages") or []) if saved else []
                lo, il = audit_history(msgs, sent)
                lost, interleaved = lost + lo, interleaved + il
        time.sleep(1.0)  # the replicas' statistics reach pg_stat_user_tables as their backends exit
        tables = postgres_figures(pg_url)
        chroma_bytes = folder_bytes(chroma.data_dir)
    stats = run["stats"]
    done = max(1, stats["turns"])
    session_tables = [t for t in ("checkpoints", "checkpoint_blobs", "checkpoint_writes", "store") if t in tables]
    return {
        "bench": "replicas",
        "replicas": replicas,
        "sessions": sessions,
        "turns": stats["turns"],
        "turns_sent": sessions * turns,
        "burst": burst,
        "variant": variant,
        "llm": "instant fake (crsagent serve --fake-llm)",
        "turns_per_s": stats["turns_per_s"],
        "turn_p50_ms": stats["p50_ms"],
        "turn_p95_ms": stats["p95_ms"],
        "turn_max_ms": stats["max_ms"],
        "wall_s": stats["wall_s"],
        "lost_turns": lost,
        "interleaved_turns": interleaved,
        "errors": stats["errors"],
        "errors_by_kind": run["errors"],
        "vector_store": "chroma-server",
        "chroma_collection": published["collection"],
        "chroma_items": published["items"],
        "chroma_publish_s": round(publish_s, 2),
        "chroma_rss_mib": chroma_rss_mib,
        "chroma_data_mib": round(chroma_bytes / 2**20, 1),
        "checkpoints": "postgresql",
        "pg_rows_written_per_turn": round(
            sum(tables[t]["inserted"] + tables[t]["updated"] for t in session_tables) / done, 1
        ),
        "pg_session_bytes_per_turn": round(sum(tables[t]["bytes"] for t in session_tables) / done),
        "pg_tables": tables,
        "replica_start_s": round(start_s, 1),
        "replica_rss_mib": rss_mib,
    }
