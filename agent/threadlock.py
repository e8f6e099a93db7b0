"""One turn at a time per conversation thread, across threads and processes.

A turn reads a thread's latest checkpoint, runs the graph and writes the next one. Two turns on
the same thread at once would both build on the same checkpoint and one of them would be lost.
:class:`ThreadLocks` serialises turns per thread id: a ``threading.Lock`` inside the process
and, when the checkpoints live in a SQLite file, a POSIX byte-range lock (``fcntl.lockf``) on a
lock file next to it, which other processes sharing the file honour. Thread ids are hashed
onto a fixed number of stripes, so the lock file stays one file of no size.

When the checkpoints live in PostgreSQL, processes on different machines share nothing but the
database, so the lock is a PostgreSQL session-level advisory lock (``pg_advisory_lock`` on a
64-bit hash of the thread id) held on a connection of a small pool of its own for the length of
the turn: :class:`AsyncAdvisoryLocks` for servers, and :class:`ThreadLocks` with a
``postgres_url`` for synchronous agents. A process that dies mid-turn ends its database session
and PostgreSQL frees its locks. The wait is bounded: past it :class:`SessionBusyError`.
"""

from __future__ import annotations

import asyncio
import fcntl
import hashlib
import os
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crsagent.agent.errors import CrsAgentError

__all__ = [
    "ThreadLocks",
    "AsyncAdvisoryLocks",
    "AdvisoryLease",
    "SessionBusyError",
    "advisory_key",
    "sqlite_checkpoint_file",
    "postgres_checkpoint_url",
]

STRIPES = 4096
#: Connections one process may hold for advisory locks (one per session with a turn running).
LOCK_POOL_SIZE = 64


class SessionBusyError(CrsAgentError):
    """Another turn holds the thread's lock and it did not come free within the wait bound.

    Attributes:
        thread_id: the thread that was busy.
        waited_s: how long the request waited.
    """

    def __init__(self, thread_id: str, waited_s: float) -> None:
        super().__init__(f"thread {thread_id!r} is busy with another turn (waited {waited_s:.1f} s)")
        self.thread_id = thread_id
        self.waited_s = waited_s


def advisory_key(thread_id: str) -> int:
    """The signed 64-bit key of a thread's PostgreSQL advisory lock (stable across processes)."""
    digest = hashlib.blake2b(b"crsagent-thread:" + thread_id.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def postgres_checkpoint_url(checkpointer: Any) -> str | None:
    """The conninfo of a LangGraph ``PostgresSaver`` built on a psycopg pool, or None."""
    if type(checkpointer).__name__ not in ("PostgresSaver", "AsyncPostgresSaver"):
        return None
    return getattr(getattr(checkpointer, "conn", None), "conninfo", None) or None


def _timeout_ms(seconds: float) -> str:
    return f"{max(1, int(seconds * 1000))}ms"


def sqlite_checkpoint_file(checkpointer: Any) -> Path | None:
    """The database file of a LangGraph ``SqliteSaver``, or None (other savers, in-memory SQLite)."""
    conn = getattr(checkpointer, "conn", None)
    if conn is None or type(checkpointer).__name__ != "SqliteSaver":
        return None
    try:
        with getattr(checkpointer, "lock", threading.Lock()):
            rows = conn.execute("PRAGMA database_list").fetchall()
    except Exception:  # noqa: BLE001 - a closed or odd connection: no cross-process lock
        return None
    main = next((r[2] for r in rows if r[1] == "main"), "")
    return Path(main) if main else None


class ThreadLocks:
    """Per-thread-id locks, optionally shared with other processes through ``lock_file``.

    Args:
        lock_file: a file whose byte ranges lock the stripes for every process (created when
            missing); None locks within this process only.
        stripes: how many locks the thread ids are hashed onto.
        postgres_url: a PostgreSQL database whose advisory locks are shared by every process
            using it (instead of ``lock_file``); the pool is opened on first use.
        wait_s: with ``postgres_url``, how long :meth:`hold` waits for the database lock.
    """

    def __init__(
        self,
        lock_file: Path | None = None,
        stripes: int = STRIPES,
        *,
        postgres_url: str | None = None,
        wait_s: float = 30.0,
    ) -> None:
        self.stripes = stripes
        self._local = [threading.Lock() for _ in range(stripes)]
        self._fd: int | None = None
        if lock_file is not None:
            self._fd = os.open(lock_file, os.O_RDWR | os.O_CREAT, 0o600)
        self._pg_url = postgres_url
        self._pg_pool: Any = None
        self.wait_s = wait_s

    @classmethod
    def for_checkpointer(cls, checkpointer: Any) -> ThreadLocks:
        """Locks shared by every process using the same SQLite checkpoint file or PostgreSQL
        database (else in-process)."""
        url = postgres_checkpoint_url(checkpointer)
        if url is not None:
            return cls(postgres_url=url)
        path = sqlite_checkpoint_file(checkpointer)
        return cls(path.with_name(path.name + ".lock") if path is not None else None)

    def stripe(self, thread_id: str) -> int:
        """The stripe of a thread id (stable across processes)."""
        return int.from_bytes(hashlib.blake2b(thread_id.encode(), digest_size=8).digest(), "big") % self.stripes

    @contextmanager
    def hold(self, thread_id: str) -> Iterator[None]:
        """Hold the lock of ``thread_id`` (blocking) for the ``with`` body."""
        k = self.stripe(thread_id)
        with self._local[k]:
            if self._pg_url is not None:
                with self._hold_pg(thread_id):
                    yield
                return
            if self._fd is None:
                yield
                return
            fcntl.lockf(self._fd, fcntl.LOCK_EX, 1, k)
            try:
                yield
            finally:
                fcntl.lockf(self._fd, fcntl.LOCK_UN, 1, k)

    @contextmanager
    def _hold_pg(self, thread_id: str) -> Iterator[None]:
        import psycopg
        from psycopg_pool import ConnectionPool, PoolTimeout

        if self._pg_pool is None:
            self._pg_pool = ConnectionPool(
                self._pg_url or "",
                min_size=0,
                max_size=LOCK_POOL_SIZE,
                kwargs={"autocommit": True},
                reset=lambda conn: conn.execute("SELECT pg_advisory_unlock_all()"),
                open=True,
            )
        start, key = time.monotonic(), advisory_key(thread_id)
        try:
            with self._pg_pool.connection(timeout=self.wait_s) as conn:
                try:
                    conn.execute("SELECT set_config('lock_timeout', %s, false)", (_timeout_ms(self.wait_s),))
                    conn.execute("SELECT pg_advisory_lock(%s)", (key,))
                except psycopg.errors.LockNotAvailable as exc:
                    raise SessionBusyError(thread_id, time.monotonic() - start) from exc
                try:
                    yield
                finally:
                    conn.execute("SELECT pg_advisory_unlock(%s)", (key,))
        except PoolTimeout as exc:
            raise SessionBusyError(thread_id, time.monotonic() - start) from exc

    def close(self) -> None:
        """Release the lock file and the lock connections."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if self._pg_pool is not None:
            self._pg_pool.close()
            self._pg_pool = None


@dataclass
class AdvisoryLease:
    """A held thread lock of :class:`AsyncAdvisoryLocks` (give it back with ``release``)."""

    thread_id: str
    key: int
    conn: Any
    pool_cm: Any
    local: asyncio.Lock


class AsyncAdvisoryLocks:
    """Per-thread locks shared by every process on one PostgreSQL database (for servers).

    A request first queues behind the other requests of its process for the same thread (an
    ``asyncio.Lock``; no connection is taken while waiting there), then takes the thread's
    advisory lock on a pooled connection. Both waits together are bounded by ``wait_s``.

    Args:
        url: the ``postgresql://`` database (the checkpoint database serves).
        wait_s: the longest a request waits for a thread's lock.
        max_connections: pooled connections (each holds one thread's lock during a turn).
    """

    def __init__(self, url: str, wait_s: float = 30.0, max_connections: int = LOCK_POOL_SIZE) -> None:
        from psycopg_pool import AsyncConnectionPool

        async def _reset(conn: Any) -> None:  # a connection back in the pool holds no lock
            await conn.execute("SELECT pg_advisory_unlock_all()")

        self.wait_s = wait_s
        self._pool = AsyncConnectionPool(
            url.replace("postgresql+psycopg://", "postgresql://", 1),
            min_size=1,
            max_size=max_connections,
            kwargs={"autocommit": True},
            reset=_reset,
            open=False,
        )
        self._local: dict[str, asyncio.Lock] = {}
        self._users: dict[str, int] = {}

    async def open(self) -> None:
        """Open the pool (waits for a first connection; raises if the database is unreachable)."""
        await self._pool.open(wait=True, timeout=30)

    async def aclose(self) -> None:
        """Close the pool (locks still held are freed by PostgreSQL)."""
        await self._pool.close()

    def __len__(self) -> int:
        """Threads with a request running or waiting in this process."""
        return len(self._local)

    async def acquire(self, thread_id: str) -> AdvisoryLease:
        """Wait (at most ``wait_s``) for the thread's lock.

        Raises:
            SessionBusyError: the lock did not come free in time (or no connection did).
        """
        import psycopg
        from psycopg_pool import PoolTimeout

        start = time.monotonic()
        local = self._local.setdefault(thread_id, asyncio.Lock())
        self._users[thread_id] = self._users.get(thread_id, 0) + 1
        try:
            await asyncio.wait_for(local.acquire(), timeout=self.wait_s)
        except TimeoutError as exc:
            self._drop(thread_id)
            raise SessionBusyError(thread_id, time.monotonic() - start) from exc
        except BaseException:
            self._drop(thread_id)
            raise
        key, pool_cm = advisory_key(thread_id), None
        try:
            left = max(0.001, self.wait_s - (time.monotonic() - start))
            pool_cm = self._pool.connection(timeout=left)
            conn = await pool_cm.__aenter__()
            try:
                left = max(0.001, self.wait_s - (time.monotonic() - start))
                await conn.execute("SELECT set_config('lock_timeout', %s, false)", (_timeout_ms(left),))
                await conn.execute("SELECT pg_advisory_lock(%s)", (key,))
            except BaseException as exc:
                await pool_cm.__aexit__(type(exc), exc, exc.__traceback__)
                raise
        except (PoolTimeout, psycopg.errors.LockNotAvailable) as exc:
            self._release_local(thread_id, local)
            raise SessionBusyError(thread_id, time.monotonic() - start) from exc
        except BaseException:
            self._release_local(thread_id, local)
            raise
        return AdvisoryLease(thread_id, key, conn, pool_cm, local)

    async def release(self, lease: AdvisoryLease) -> None:
        """Give a lock back (a connection that cannot unlock is closed, which frees it too)."""
        try:
            await lease.conn.execute("SELECT pg_advisory_unlock(%s)", (lease.key,))
        except BaseException:
            await lease.conn.close()
            raise
        finally:
            try:
                await lease.pool_cm.__aexit__(None, None, None)
            finally:
                self._release_local(lease.thread_id, lease.local)

    @asynccontextmanager
    async def hold(self, thread_id: str) -> AsyncIterator[None]:
        """Hold the thread's lock for the ``with`` body.

        Raises:
            SessionBusyError: as :meth:`acquire`.
        """
        lease = await self.acquire(thread_id)
        try:
            yield
        finally:
            await self.release(lease)

    def _release_local(self, thread_id: str, local: asyncio.Lock) -> None:
        local.release()
        self._drop(thread_id)

    def _drop(self, thread_id: str) -> None:
        self._users[thread_id] -= 1
        if self._users[thread_id] == 0:
            del self._users[thread_id]
            del self._local[thread_id]
