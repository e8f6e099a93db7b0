"""A ``limits`` storage in PostgreSQL, so every API replica counts against one window.

The ``limits`` library ships storages for memory, Redis, Memcached and MongoDB, none for SQL.
:class:`PostgresStorage` implements its storage interface (and the moving-window part) over
SQLAlchemy, so the library's own :class:`~limits.strategies.MovingWindowRateLimiter` runs
unchanged on top. Each hit is a row ``(key, at)`` of ``crsagent_rate_hits``; ``at`` is the
database's clock, so replicas whose clocks drift still share one window. A hit is decided in
one transaction that holds a transaction-level advisory lock on the key, so two replicas
cannot both take the last slot; rows older than the window are deleted as the key is hit, and
every ``SWEEP_EVERY``-th hit a process also deletes every key's expired rows (callers that
stopped coming leave nothing behind for long).
"""

from __future__ import annotations

import threading
from typing import Any

from limits.storage.base import MovingWindowSupport, Storage
from sqlalchemy import Column, Float, Index, MetaData, String, Table, create_engine, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

__all__ = ["PostgresStorage", "HITS_TABLE", "SWEEP_EVERY"]

SWEEP_EVERY = 1000

HITS_TABLE = "crsagent_rate_hits"
_metadata = MetaData()
hits = Table(
    HITS_TABLE,
    _metadata,
    Column("key", String(300), nullable=False),
    Column("at", Float, nullable=False),
    Index(f"{HITS_TABLE}_key_at", "key", "at"),
)
_NOW = "extract(epoch from clock_timestamp())::float8"
_SETUP_LOCK = 0x637273_6C696D  # one process creates the table at a time


def _sqlalchemy_url(url: str) -> str:
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    raise ValueError(f"not a PostgreSQL URL: {url!r}")


class PostgresStorage(Storage, MovingWindowSupport):
    """Rate-limit hits in a PostgreSQL table (moving window; fixed-window calls count the same rows).

    Args:
        uri: ``postgresql://...`` (``postgres://`` and ``postgresql+psycopg://`` work too).
        wrap_exceptions: wrap database errors in :class:`limits.errors.StorageError`.
        pool_size: connections kept per process.
    """

    STORAGE_SCHEME = ["crsagent+postgresql"]

    def __init__(self, uri: str, wrap_exceptions: bool = False, pool_size: int = 4, **_: Any) -> None:
        super().__init__(uri, wrap_exceptions=wrap_exceptions)
        uri = uri.replace("crsagent+postgresql://", "postgresql://", 1)
        self.engine: Engine = create_engine(
            _sqlalchemy_url(uri), pool_size=pool_size, max_overflow=pool_size * 2, pool_pre_ping=True
        )
        self._ready = False
        self._ready_lock = threading.Lock()
        self._hits = 0

    @property
    def base_exceptions(self) -> type[Exception]:
        return SQLAlchemyError

    def _setup(self) -> None:
        with self._ready_lock:
            if self._ready:
                return
            with self.engine.begin() as conn:
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _SETUP_LOCK})
                _metadata.create_all(conn, checkfirst=True)
            self._ready = True

    def _begin_key(self, conn: Connection, key: str, expiry: float) -> float:
        """Lock ``key`` for this transaction, drop its expired hits; the database's time now."""
        conn.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": key})
        now = float(conn.execute(text(f"SELECT {_NOW}")).scalar_one())
        conn.execute(hits.delete().where(hits.c.key == key, hits.c.at <= now - expiry))
        return now

    def _count(self, conn: Connection, key: str) -> int:
        return int(conn.execute(text(f"SELECT count(*) FROM {HITS_TABLE} WHERE key = :key"), {"key": key}).scalar_one())

    def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        """Record ``amount`` hits unless the last ``expiry`` seconds already hold ``limit - amount + 1``."""
        if amount > limit:
            return False
        self._setup()
        with self._ready_lock:
            self._hits += 1
            sweep = self._hits % SWEEP_EVERY == 0
        with self.engine.begin() as conn:
            now = self._begin_key(conn, key, expiry)
            if sweep:  # every key's expired hits (the store serves one window length)
                conn.execute(hits.delete().where(hits.c.at <= now - expiry))
            if self._count(conn, key) + amount > limit:
                return False
            conn.execute(hits.insert(), [{"key": key, "at": now}] * amount)
            return True

    def get_moving_window(self, key: str, limit: int, expiry: int) -> tuple[float, int]:
        """``(time of the oldest hit in the window, hits in the window)``; the window frees at the
        oldest hit + ``expiry``."""
        self._setup()
        with self.engine.connect() as conn:
            row = conn.execute(
                text(f"SELECT {_NOW}, min(at), count(*) FROM {HITS_TABLE} WHERE key = :key AND at > {_NOW} - :e"),
                {"key": key, "e": float(expiry)},
            ).one()
        now, oldest, count = float(row[0]), row[1], int(row[2])
        return (float(oldest) if oldest is not None else now), count

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        """Record ``amount`` hits without a limit; the hits in the last ``expiry`` seconds."""
        self._setup()
        with self.engine.begin() as conn:
            now = self._begin_key(conn, key, expiry)
            conn.execute(hits.insert(), [{"key": key, "at": now}] * amount)
            return self._count(conn, key)

    def get(self, key: str) -> int:
        """All recorded (unexpired at the key's last hit) hits of ``key``."""
        self._setup()
        with self.engine.connect() as conn:
            return self._count(conn, key)

    def get_expiry(self, key: str) -> float:
        """When the newest hit of ``key`` was recorded (fixed windows are not kept here)."""
        self._setup()
        with self.engine.connect() as conn:
            at = conn.execute(text(f"SELECT max(at) FROM {HITS_TABLE} WHERE key = :key"), {"key": key}).scalar()
            return float(at) if at is not None else float(conn.execute(text(f"SELECT {_NOW}")).scalar_one())

    def check(self) -> bool:
        """Whether the database answers."""
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return True
        except SQLAlchemyError:
            return False

    def reset(self) -> int | None:
        """Delete every hit; the number deleted."""
        self._setup()
        with self.engine.begin() as conn:
            return int(conn.execute(hits.delete()).rowcount)

    def clear(self, key: str) -> None:
        """Delete the hits of one key."""
        self._setup()
        with self.engine.begin() as conn:
            conn.execute(hits.delete().where(hits.c.key == key))

    def close(self) -> None:
        """Close the engine's connections."""
        self.engine.dispose()
