"""API replicas on one PostgreSQL: a session's turns run one at a time across replicas, and the
rate limit is counted once for all of them.

Two real replica processes (:mod:`crsagent.tests.reliability.replica_server`: the real app and
``crs-only`` agent over a small catalogue, sessions in PostgreSQL, ``shared_state_url`` set)
share a throwaway PostgreSQL server (``postgres_url``). Several sessions send all their turns
at once, alternating between the replicas; afterwards every session's checkpointed history must
hold every turn exactly once, each user message followed by its reply. The PostgreSQL advisory
lock is also taken from the test itself, so a request must wait for it and, past its bound, get
409 ``session_busy`` with ``Retry-After``.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import psycopg
import pytest
from langchain_core.messages import AIMessage, HumanMessage

from crsagent.agent.persistence import open_persistence
from crsagent.agent.server import ServerConfig, create_app
from crsagent.agent.server.auth import key_identity
from crsagent.agent.server.loopback import free_port, serve_in_thread
from crsagent.agent.settings import Settings
from crsagent.agent.threadlock import advisory_key
from crsagent.tests.reliability.helpers import write_catalogue
from crsagent.tests.reliability.procs import child_env
from crsagent.tests.reliability.replica_server import SmallCatalogueRunners
from crsagent.tools.catalog.db import ProductDB

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

KEY_TURNS, KEY_LIMIT = "replica-key-turns-0001", "replica-key-limit-0002"
RATE_LIMIT = 30
SESSIONS, TURNS = 3, 6


@pytest.fixture(scope="module")
def small_catalog(movies_home: Settings, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The 40 most popular movies as a catalogue file."""
    with ProductDB.for_domain(movies_home, "movies") as db:
        items = db.filter(None, limit=40)
    return write_catalogue(tmp_path_factory.mktemp("catalog") / "catalog.sqlite", items)


def _wait_healthy(url: str, proc: subprocess.Popen, log: Path, timeout_s: float = 240.0) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"replica exited ({proc.returncode}): {log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as resp:  # noqa: S310 - loopback
                if resp.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"replica did not start: {log.read_text()[-3000:]}")
        time.sleep(0.2)


@pytest.fixture(scope="module")
def replicas(postgres_url: str, small_catalog: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[str]]:
    """Two replica processes on one PostgreSQL; their base URLs."""
    root = tmp_path_factory.mktemp("replicas")
    procs, urls = [], []
    try:
        for i in range(2):
            port, log = free_port(), root / f"replica-{i}.log"
            cmd = [
                sys.executable,
                "-m",
                "crsagent.tests.reliability.replica_server",
                "--pg",
                postgres_url,
                "--catalog",
                str(small_catalog),
                "--port",
                str(port),
                "--home",
                str(root / f"home-{i}"),
                "--rate-limit",
                str(RATE_LIMIT),
                "--api-key",
                KEY_TURNS,
                "--api-key",
                KEY_LIMIT,
            ]
            with open(log, "wb") as fh:
                procs.append((subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, env=child_env()), log))
            urls.append(f"http://127.0.0.1:{port}")
        for (proc, log), url in zip(procs, urls):
            _wait_healthy(url, proc, log)
        yield urls
    finally:
        for proc, _ in procs:
            proc.terminate()
        for proc, _ in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()


def _history(settings: Settings, thread_id: str) -> list[object]:
    with open_persistence(settings) as pers:
        saved = pers.checkpointer.get_tuple({"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}})
    assert saved is not None, f"no checkpoint for {thread_id}"
    return list(saved.checkpoint["channel_values"].get("messages") or [])


def test_turns_of_one_session_on_two_replicas_run_one_at_a_time(replicas, postgres_url):
    """Every turn of every session is sent at once, turn k to replica k % 2: all are answered,
    and each session's history holds each turn once, in question-answer pairs (none lost, none
    interleaved)."""

    async def send(client: httpx.AsyncClient, url: str, session: str, text: str) -> httpx.Response:
        return await client.post(
            f"{url}/v1/chat/completions",
            headers={"X-Session-Id": session, "Authorization": f"Bearer {KEY_TURNS}"},
            json={"model": "crs-only", "messages": [{"role": "user", "content": text}]},
        )

    async def run() -> list[httpx.Response]:
        async with httpx.AsyncClient(timeout=120) as client:
            jobs = [
                send(client, replicas[k % 2], f"shared-{s}", f"session {s} turn {k}: any horror film?")
                for s in range(SESSIONS)
                for k in range(TURNS)
            ]
            return await asyncio.gather(*jobs)

    answers = asyncio.run(run())
    assert [r.status_code for r in answers] == [200] * (SESSIONS * TURNS), [
        r.text for r in answers if r.status_code != 200
    ]
    settings = Settings(checkpoint_url=postgres_url)
    tenant = key_identity(KEY_TURNS)
    for s in range(SESSIONS):
        msgs = _history(settings, f"{tenant}/shared-{s}")
        asked = [m.content for m in msgs if isinstance(m, HumanMessage)]
        assert sorted(asked) == sorted(f"session {s} turn {k}: any horror film?" for k in range(TURNS))
        kinds = [
            "user" if isinstance(m, HumanMessage) else "reply" for m in msgs if isinstance(m, (HumanMessage, AIMessage))
        ]
        assert kinds == ["user", "reply"] * TURNS  # each turn ran whole before the next began


def test_the_rate_limit_is_counted_once_across_replicas(replicas):
    """A key gets RATE_LIMIT requests a minute in all, whichever replicas they reach."""
    auth = {"Authorization": f"Bearer {KEY_LIMIT}"}
    with httpx.Client(timeout=30) as client:
        codes = [client.get(f"{replicas[k % 2]}/v1/models", headers=auth).status_code for k in range(RATE_LIMIT)]
        over = [client.get(f"{url}/v1/models", headers=auth) for url in replicas]
    assert codes == [200] * RATE_LIMIT
    for r in over:
        assert r.status_code == 429 and r.json()["error"]["code"] == "rate_limit_exceeded"
        assert int(r.headers["Retry-After"]) >= 1
    with httpx.Client(timeout=30) as client:  # another key still has its own allowance
        assert (
            client.get(f"{replicas[0]}/v1/models", headers={"Authorization": f"Bearer {KEY_TURNS}"}).status_code == 200
        )


def test_a_session_locked_elsewhere_waits_then_gets_409(postgres_url, small_catalog, tmp_path):
    """While another PostgreSQL session (here, the test) holds a session's advisory lock, a request
    on it waits for its bound and gets 409 ``session_busy`` with ``Retry-After``; once the lock
    is released the same request goes through."""
    settings = Settings(home=tmp_path, checkpoint_url=postgres_url)
    config = ServerConfig(
        variants=("crs-only",), default_variant="crs-only", shared_state_url=postgres_url, session_wait_s=0.5
    )
    body = {"model": "crs-only", "messages": [{"role": "user", "content": "a scary film please"}]}
    with serve_in_thread(create_app(SmallCatalogueRunners(settings, small_catalog), config)) as url:
        with psycopg.connect(postgres_url, autocommit=True) as holder:
            holder.execute("SELECT pg_advisory_lock(%s)", (advisory_key("held-elsewhere"),))
            busy = httpx.post(
                f"{url}/v1/chat/completions", headers={"X-Session-Id": "held-elsewhere"}, json=body, timeout=60
            )
            other = httpx.post(
                f"{url}/v1/chat/completions", headers={"X-Session-Id": "free-one"}, json=body, timeout=60
            )
            holder.execute("SELECT pg_advisory_unlock(%s)", (advisory_key("held-elsewhere"),))
        again = httpx.post(
            f"{url}/v1/chat/completions", headers={"X-Session-Id": "held-elsewhere"}, json=body, timeout=60
        )
    assert busy.status_code == 409, busy.text
    err = busy.json()["error"]
    assert err["code"] == "session_busy" and err["type"] == "conflict_error"
    assert busy.headers["Retry-After"] == "2"
    assert other.status_code == 200  # other sessions do not wait
    assert again.status_code == 200
    assert len(_history(replace(settings), "held-elsewhere")) == 2


def test_synchronous_agents_on_postgres_share_the_advisory_lock(postgres_url):
    """``ThreadLocks.for_checkpointer`` of a ``PostgresSaver`` locks in PostgreSQL: a second
    holder (another process, here another pool) is refused with SessionBusyError past its bound,
    and gets the lock once the first lets go; SQLite keeps its lock file."""
    from crsagent.agent.threadlock import SessionBusyError, ThreadLocks

    with open_persistence(Settings(checkpoint_url=postgres_url)) as pers:
        first = ThreadLocks.for_checkpointer(pers.checkpointer)
    second = ThreadLocks(postgres_url=postgres_url, wait_s=0.3)
    try:
        with first.hold("sync-thread"):
            with pytest.raises(SessionBusyError):
                with second.hold("sync-thread"):
                    pass
            with second.hold("another-thread"):
                pass
        with second.hold("sync-thread"):
            pass
    finally:
        first.close()
        second.close()


async def test_a_request_cancelled_while_waiting_leaves_no_lock_behind(postgres_url):
    """A waiter cancelled in ``pg_advisory_lock`` (its client left) stops waiting in PostgreSQL,
    never ends up holding the lock, and the session is free again once its holder lets go."""
    import psycopg as pg

    from crsagent.agent.threadlock import AsyncAdvisoryLocks

    locks = AsyncAdvisoryLocks(postgres_url, wait_s=60)
    await locks.open()
    try:
        with pg.connect(postgres_url, autocommit=True) as holder:
            holder.execute("SELECT pg_advisory_lock(%s)", (advisory_key("cancelled"),))
            waiter = asyncio.create_task(locks.acquire("cancelled"))
            while not holder.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
            ).fetchone()[0]:
                await asyncio.sleep(0.05)  # until the waiter really waits in PostgreSQL
            waiter.cancel()
            with pytest.raises(asyncio.CancelledError):
                await waiter
            assert len(locks) == 0
            assert (
                holder.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted").fetchone()[
                    0
                ]
                == 0
            )
            holder.execute("SELECT pg_advisory_unlock(%s)", (advisory_key("cancelled"),))
        async with locks.hold("cancelled"):
            pass
    finally:
        await locks.aclose()


_OPEN_PERSISTENCE = """
import asyncio, sys
from crsagent.agent.persistence import aopen_persistence
from crsagent.agent.settings import Settings

async def main():
    pers = await aopen_persistence(Settings(), sys.argv[1])
    await pers.aclose()

asyncio.run(main())
"""


def test_replicas_starting_together_on_a_fresh_database_all_start(postgres_url):
    """Three processes open the PostgreSQL persistence at once on an empty database: LangGraph's
    table migrations run one process at a time (an advisory lock), so none fails on a duplicate
    migration row."""
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute("CREATE DATABASE fresh_replicas")
    fresh = postgres_url.rsplit("/", 1)[0] + "/fresh_replicas"
    procs = [
        subprocess.Popen([sys.executable, "-c", _OPEN_PERSISTENCE, fresh], stderr=subprocess.PIPE, env=child_env())
        for _ in range(3)
    ]
    errors = [p.communicate(timeout=120)[1].decode()[-500:] for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], errors
    with psycopg.connect(fresh) as conn:
        assert conn.execute("SELECT count(*) FROM checkpoint_migrations").fetchone()[0] > 0


def test_the_shared_rate_store_forgets_expired_hits(postgres_url, monkeypatch):
    """The PostgreSQL ``limits`` storage under the library's moving-window strategy: the window
    holds, and expired hits of keys nobody uses any more are swept away."""
    from limits import RateLimitItemPerMinute
    from limits.strategies import MovingWindowRateLimiter

    from crsagent.agent.server import limitstore

    monkeypatch.setattr(limitstore, "SWEEP_EVERY", 4)
    storage = limitstore.PostgresStorage(postgres_url)
    limiter, item = MovingWindowRateLimiter(storage), RateLimitItemPerMinute(2, namespace="sweep-test")
    try:
        assert [limiter.hit(item, "alice") for _ in range(3)] == [True, True, False]
        assert limiter.get_window_stats(item, "alice").remaining == 0
        with psycopg.connect(postgres_url, autocommit=True) as conn:
            conn.execute(
                f"INSERT INTO {limitstore.HITS_TABLE} (key, at) SELECT 'gone', "
                "extract(epoch from now()) - 600 FROM generate_series(1, 5)"
            )
            assert limiter.hit(item, "bob") is True  # the fourth acquire of this process sweeps
            left = conn.execute(f"SELECT count(*) FROM {limitstore.HITS_TABLE} WHERE key = 'gone'").fetchone()[0]
        assert left == 0
    finally:
        storage.close()


def test_crsagent_serve_on_postgres_takes_the_shared_session_lock(movies_home, postgres_url, tmp_path):
    """``crsagent serve --checkpoint-url postgresql://...`` turns the shared lock on by itself and
    reads its bound from ``CRSAGENT_SESSION_LOCK_WAIT_S``: a session locked in PostgreSQL by
    someone else gets 409 ``session_busy``; another session is answered."""
    from crsagent.tests.reliability.procs import ApiProcess

    body = {"model": "crs-only", "messages": [{"role": "user", "content": "a scary film please"}]}
    args = ["--fake-llm", "--checkpoint-url", postgres_url]
    with ApiProcess(movies_home.home, args, {"CRSAGENT_SESSION_LOCK_WAIT_S": "1"}, log=tmp_path / "serve.log") as api:
        with psycopg.connect(postgres_url, autocommit=True) as holder:
            holder.execute("SELECT pg_advisory_lock(%s)", (advisory_key("serve-held"),))
            busy = httpx.post(
                f"{api.url}/v1/chat/completions", headers={"X-Session-Id": "serve-held"}, json=body, timeout=120
            )
            free = httpx.post(
                f"{api.url}/v1/chat/completions", headers={"X-Session-Id": "serve-free"}, json=body, timeout=120
            )
    assert busy.status_code == 409 and busy.json()["error"]["code"] == "session_busy", busy.text
    assert free.status_code == 200, free.text
