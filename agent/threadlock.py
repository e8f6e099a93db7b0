"""One turn at a time per conversation thread, across threads and processes.

A turn reads a thread's latest checkpoint, runs the graph and writes the next one. Two turns on
the same thread at once would both build on the same checkpoint and one of them would be lost.
:class:`ThreadLocks` serialises turns per thread id: a ``threading.Lock`` inside the process
and, when the checkpoints live in a SQLite file, a POSIX byte-range lock (``fcntl.lockf``) on a
lock file next to it, which other processes sharing the file honour. Thread ids are hashed
onto a fixed number of stripes, so the lock file stays one file of no size.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = ["ThreadLocks", "sqlite_checkpoint_file"]

STRIPES = 4096


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
    """

    def __init__(self, lock_file: Path | None = None, stripes: int = STRIPES) -> None:
        self.stripes = stripes
        self._local = [threading.Lock() for _ in range(stripes)]
        self._fd: int | None = None
        if lock_file is not None:
            self._fd = os.open(lock_file, os.O_RDWR | os.O_CREAT, 0o600)

    @classmethod
    def for_checkpointer(cls, checkpointer: Any) -> "ThreadLocks":
        """Locks shared by every process using the same SQLite checkpoint file (else in-process)."""
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
            if self._fd is None:
                yield
                return
            fcntl.lockf(self._fd, fcntl.LOCK_EX, 1, k)
            try:
                yield
            finally:
                fcntl.lockf(self._fd, fcntl.LOCK_UN, 1, k)

    def close(self) -> None:
        """Release the lock file."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
