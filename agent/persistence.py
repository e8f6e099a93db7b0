"""Checkpoints (one thread per conversation) and the profile store, on SQLite or PostgreSQL.

* Default: LangGraph's SQLite checkpointer and store, as two WAL-mode files under the data
  home (``<home>/agent/checkpoints.sqlite`` and ``<home>/agent/store.sqlite``).
* ``postgresql://...`` (or ``postgres://``): LangGraph's Postgres checkpointer and store over
  a psycopg connection pool; the API is then stateless and scales out.
* ``memory`` / ``:memory:``: in-process (tests, benchmarks).
* ``sqlite:///path/to/dir`` or a folder path: SQLite files in that folder.

:func:`open_persistence` gives the synchronous pair, :func:`aopen_persistence` the async pair
for servers (``AsyncSqliteSaver`` / ``AsyncPostgresSaver`` ...). Both return an object whose
``close()`` (or ``aclose()``) releases the connections, and which is a context manager.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.store.base import BaseStore
from langgraph.store.memory import InMemoryStore

from crsagent.agent.errors import ConfigError
from crsagent.agent.settings import Settings

__all__ = [
    "CHECKPOINT_FILE",
    "STORE_FILE",
    "Persistence",
    "AsyncPersistence",
    "persistence_kind",
    "sqlite_dir",
    "open_persistence",
    "aopen_persistence",
]

CHECKPOINT_FILE = "checkpoints.sqlite"
STORE_FILE = "store.sqlite"
_BUSY_MS = 10_000
#: Advisory lock that serialises the tables' creation when several replicas start at once on a
#: fresh database (LangGraph's ``setup()`` migrations are not safe to run concurrently). It is
#: polled with ``pg_try_advisory_lock``, never waited for inside a statement: a waiting
#: statement is an open transaction, which the migrations' ``CREATE INDEX CONCURRENTLY`` would
#: wait for in turn.
_SETUP_LOCK = 0x6372_7361_6765_6E74
_TRY_SETUP_LOCK = "SELECT pg_try_advisory_lock(%s) AS ok"
_SETUP_WAIT_S = 300.0


@dataclass
class Persistence:
    """A checkpointer and a store, with what closes them.

    Attributes:
        checkpointer: the LangGraph checkpointer.
        store: the LangGraph store (profile memory).
        kind: ``sqlite``, ``postgres`` or ``memory``.
        is_async: whether the pair only has async methods that work (use ``ainvoke``).
    """

    checkpointer: BaseCheckpointSaver
    store: BaseStore
    kind: str
    is_async: bool = False
    _closers: list[Callable[[], Any]] = field(default_factory=list, repr=False)

    def close(self) -> None:
        """Close the connections (idempotent)."""
        while self._closers:
            self._closers.pop()()

    def __enter__(self) -> Persistence:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass
class AsyncPersistence(Persistence):
    """The async pair (``AsyncSqliteSaver``/``AsyncSqliteStore`` or the Postgres ones)."""

    is_async: bool = True

    async def aclose(self) -> None:
        """Close the connections (idempotent)."""
        while self._closers:
            res = self._closers.pop()()
            if hasattr(res, "__await__"):
                await res

    async def __aenter__(self) -> AsyncPersistence:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


def persistence_kind(url: str | None) -> str:
    """``sqlite``, ``postgres`` or ``memory`` for a checkpoint URL (None: SQLite)."""
    if url is None or url.startswith("sqlite://") or "://" not in url and url not in ("memory", ":memory:"):
        return "sqlite"
    if url in ("memory", ":memory:"):
        return "memory"
    if url.startswith(("postgresql://", "postgres://", "postgresql+psycopg://")):
        return "postgres"
    raise ConfigError(f"unsupported checkpoint URL {url!r}: use sqlite:///DIR, postgresql://..., or memory")


def sqlite_dir(settings: Settings, url: str | None = None) -> Path:
    """The folder holding the SQLite checkpoint and store files."""
    if url:
        return Path(url.removeprefix("sqlite://")).expanduser().resolve()
    return Path(settings.home) / "agent"


def _pg_url(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def _sqlite_conn(path: Path, autocommit: bool) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    kwargs: dict[str, Any] = {"check_same_thread": False}
    if autocommit:
        kwargs["isolation_level"] = None
    conn = sqlite3.connect(str(path), **kwargs)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute(f"PRAGMA busy_timeout={_BUSY_MS}")
    return conn


def open_persistence(settings: Settings, url: str | None = None) -> Persistence:
    """The synchronous checkpointer and store.

    Args:
        settings: run settings (``checkpoint_url`` and the data home).
        url: overrides ``settings.checkpoint_url``.

    Raises:
        ConfigError: the URL is not supported.
    """
    url = url if url is not None else settings.checkpoint_url
    kind = persistence_kind(url)
    if kind == "memory":
        return Persistence(InMemorySaver(), InMemoryStore(), "memory")
    if kind == "postgres":
        from langgraph.checkpoint.postgres import PostgresSaver
        from langgraph.store.postgres import PostgresStore
        from psycopg.rows import dict_row
        from psycopg_pool import ConnectionPool

        pool = ConnectionPool(
            _pg_url(url or ""),
            min_size=1,
            max_size=16,
            kwargs={"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row},
            open=True,
        )
        saver, store = PostgresSaver(pool), PostgresStore(pool)  # type: ignore[arg-type]
        with pool.connection() as conn:  # one process at a time runs the migrations
            deadline = time.monotonic() + _SETUP_WAIT_S
            # rows are dicts (dict_row), which the pool's type does not carry
            while not conn.execute(_TRY_SETUP_LOCK, (_SETUP_LOCK,)).fetchone()["ok"]:  # type: ignore[index, call-overload]
                if time.monotonic() > deadline:
                    raise ConfigError(f"another process kept the tables' set-up lock for {_SETUP_WAIT_S:.0f} s")
                time.sleep(0.1)
            try:
                saver.setup()
                store.setup()
            finally:
                conn.execute("SELECT pg_advisory_unlock(%s)", (_SETUP_LOCK,))
        return Persistence(saver, store, "postgres", _closers=[pool.close])
    from langgraph.checkpoint.sqlite import SqliteSaver
    from langgraph.store.sqlite import SqliteStore

    folder = sqlite_dir(settings, url)
    cconn = _sqlite_conn(folder / CHECKPOINT_FILE, autocommit=False)
    sconn = _sqlite_conn(folder / STORE_FILE, autocommit=True)
    lite_saver, lite_store = SqliteSaver(cconn), SqliteStore(sconn)
    lite_saver.setup()
    lite_store.setup()
    return Persistence(lite_saver, lite_store, "sqlite", _closers=[cconn.close, sconn.close])


async def aopen_persistence(settings: Settings, url: str | None = None) -> AsyncPersistence:
    """The async checkpointer and store (for servers); call inside the serving event loop.

    Args:
        settings: run settings (``checkpoint_url`` and the data home).
        url: overrides ``settings.checkpoint_url``.

    Raises:
        ConfigError: the URL is not supported.
    """
    url = url if url is not None else settings.checkpoint_url
    kind = persistence_kind(url)
    if kind == "memory":
        return AsyncPersistence(InMemorySaver(), InMemoryStore(), "memory")
    if kind == "postgres":
        from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
        from langgraph.store.postgres.aio import AsyncPostgresStore
        from psycopg.rows import dict_row
        from psycopg_pool import AsyncConnectionPool

        pool = AsyncConnectionPool(
            _pg_url(url or ""),
            min_size=1,
            max_size=16,
            kwargs={"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row},
            open=False,
        )
        await pool.open()
        saver, store = AsyncPostgresSaver(pool), AsyncPostgresStore(pool)  # type: ignore[arg-type]
        async with pool.connection() as conn:  # one process at a time runs the migrations
            deadline = time.monotonic() + _SETUP_WAIT_S
            # rows are dicts (dict_row), which the pool's type does not carry
            while not (await (await conn.execute(_TRY_SETUP_LOCK, (_SETUP_LOCK,))).fetchone())["ok"]:  # type: ignore[index, call-overload]
                if time.monotonic() > deadline:
                    raise ConfigError(f"another process kept the tables' set-up lock for {_SETUP_WAIT_S:.0f} s")
                await asyncio.sleep(0.1)
            try:
                await saver.setup()
                await store.setup()
            finally:
                await conn.execute("SELECT pg_advisory_unlock(%s)", (_SETUP_LOCK,))
        return AsyncPersistence(saver, store, "postgres", _closers=[pool.close])
    import aiosqlite
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
    from langgraph.store.sqlite.aio import AsyncSqliteStore

    folder = sqlite_dir(settings, url)
    folder.mkdir(parents=True, exist_ok=True)
    conns = []
    for name, iso in ((CHECKPOINT_FILE, ""), (STORE_FILE, None)):
        db = await aiosqlite.connect(str(folder / name), isolation_level=iso)
        await db.execute("PRAGMA journal_mode=WAL")
        await db.execute("PRAGMA synchronous=NORMAL")
        await db.execute(f"PRAGMA busy_timeout={_BUSY_MS}")
        conns.append(db)
    lite_saver, lite_store = AsyncSqliteSaver(conns[0]), AsyncSqliteStore(conns[1])
    await lite_saver.setup()
    await lite_store.setup()
    return AsyncPersistence(lite_saver, lite_store, "sqlite", _closers=[c.close for c in conns])
