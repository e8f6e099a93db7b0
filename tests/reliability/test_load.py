"""Load: 64 concurrent sessions x 10 turns over loopback, instant fake LLM: 0 errors, 0 lost turns.

The server is ``crsagent serve --fake-llm`` in its own process (``fake_api``); the clients are
64 coroutines of one ``httpx.AsyncClient``, each holding one session and sending its next turn
when the previous answer came back. Every turn must answer 200, the whole load must finish
within a bound, and each session's checkpointed thread must hold all of its 10 turns.
"""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from crsagent.agent.server.auth import key_identity
from crsagent.agent.server.sessions import scoped
from crsagent.evals.bench.api import dialogue
from crsagent.tests.reliability.helpers import API_KEYS, read_thread, thread_counts

pytestmark = pytest.mark.slow

SESSIONS, TURNS = 64, 10
BOUND_S = 300.0


async def test_64_sessions_by_10_turns(fake_api):
    errors: list[str] = []
    latencies: list[float] = []
    headers = {"Authorization": f"Bearer {API_KEYS[0]}"}
    limits = httpx.Limits(max_connections=SESSIONS, max_keepalive_connections=SESSIONS)

    async def conversation(client: httpx.AsyncClient, i: int) -> None:
        for text in dialogue(i, TURNS):
            body = {"model": "crsagent", "user": f"load-user-{i}", "messages": [{"role": "user", "content": text}]}
            t0 = time.monotonic()
            try:
                r = await client.post(
                    "/v1/chat/completions", json=body, headers={**headers, "X-Session-Id": f"load-{i}"}
                )
            except httpx.HTTPError as exc:
                errors.append(f"{i}: {type(exc).__name__}: {exc}")
                continue
            latencies.append(time.monotonic() - t0)
            if r.status_code != 200 or not r.json()["choices"][0]["message"]["content"].strip():
                errors.append(f"{i}: HTTP {r.status_code}: {r.text[:200]}")

    t0 = time.monotonic()
    async with httpx.AsyncClient(base_url=fake_api.url, timeout=BOUND_S, limits=limits) as client:
        await asyncio.wait_for(asyncio.gather(*(conversation(client, i) for i in range(SESSIONS))), BOUND_S)
    wall = time.monotonic() - t0
    assert errors == []
    assert len(latencies) == SESSIONS * TURNS and wall < BOUND_S
    tenant = key_identity(API_KEYS[0])  # sessions are stored scoped to the caller's API key
    lost = {i: thread_counts(read_thread(fake_api.sessions, scoped(tenant, f"load-{i}"))) for i in range(SESSIONS)}
    assert {i: c for i, c in lost.items() if c != (TURNS, TURNS)} == {}
    p95_ms = sorted(latencies)[int(0.95 * len(latencies)) - 1] * 1000
    print(
        f"\n64x10 turns: {wall:.1f} s, {len(latencies) / wall:.1f} turns/s, p95 {p95_ms:.0f} ms, "
        f"server RSS {fake_api.rss_kib // 1024} MiB"
    )


def test_the_instant_fake_llm_keeps_its_memory_bounded():
    """``crsagent serve --fake-llm`` runs the instant fake for hours (soak): it keeps only the
    newest 1,000 requests it recorded, not one per call forever."""
    from crsagent.agent.testing import InstantChatModel

    fake = InstantChatModel()
    for i in range(1_500):
        fake.invoke(f"message {i}")
    kept = fake.requests
    assert len(kept) == 1_000
    assert kept[-1].last_user_text == "message 1499" and kept[0].last_user_text == "message 500"
