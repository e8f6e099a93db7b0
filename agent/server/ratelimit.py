"""A per-caller request rate limit: a moving one-minute window, answered with 429 and ``Retry-After``.

The window is the ``limits`` library's moving-window strategy over its in-memory storage. The
caller is the identity of its API key (:func:`crsagent.agent.server.auth.key_identity`) when
the server has keys, else the client's address: never the raw ``Authorization`` header, whose
spellings (``bearer k1``, ``Bearer  k1`` ...) would each get a fresh allowance.

Without a shared database the state is in memory, per API process. With one
(``storage_url``, a ``postgresql://`` URL: ``crsagent serve`` passes the checkpoint database)
the hits live in PostgreSQL (:class:`~crsagent.agent.server.limitstore.PostgresStorage`), so
the limit holds across every replica: R replicas still give a key N requests a minute, not R×N.
"""

from __future__ import annotations

import asyncio
import math
import time
from typing import Any

from limits import RateLimitItemPerMinute
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from crsagent.agent.server.errors import APIError

__all__ = ["RateLimiter"]

_NAMESPACE = "crsagent"


class RateLimiter:
    """At most ``per_minute`` requests per caller in any 60-second window.

    Args:
        per_minute: requests allowed per caller and minute; 0 turns the limit off.
        storage_url: a ``postgresql://`` database shared by the replicas; None counts in memory.
    """

    def __init__(self, per_minute: int, storage_url: str | None = None) -> None:
        self.per_minute = per_minute
        self.shared = storage_url is not None
        self._item = RateLimitItemPerMinute(per_minute, namespace=_NAMESPACE) if per_minute > 0 else None
        self._storage: Any = None
        self._limiter = None
        if self._item is not None:
            if storage_url is not None:
                from crsagent.agent.server.limitstore import PostgresStorage

                self._storage = PostgresStorage(storage_url)
            else:
                self._storage = MemoryStorage()
            self._limiter = MovingWindowRateLimiter(self._storage)

    async def acheck(self, caller: str) -> None:
        """:meth:`check` without blocking the event loop (the shared count runs in a worker thread).

        Raises:
            APIError: as :meth:`check`.
        """
        if self.shared and self._limiter is not None:
            await asyncio.to_thread(self.check, caller)
        else:
            self.check(caller)

    def close(self) -> None:
        """Close the shared store's connections (nothing to do in memory)."""
        close = getattr(self._storage, "close", None)
        if close is not None:
            close()

    def check(self, caller: str) -> None:
        """Count one request for ``caller`` (a key identity, or ``addr:<ip>``).

        Raises:
            APIError: 429 ``rate_limit_exceeded``, with ``Retry-After`` in whole seconds, when the
                caller already made ``per_minute`` requests in the last minute (the refused
                request does not count); 503 ``rate_limit_store_unavailable`` when the shared
                store cannot be reached.
        """
        if self._limiter is None or self._item is None:
            return
        try:
            if self._limiter.hit(self._item, caller):
                return
            reset_at = self._limiter.get_window_stats(self._item, caller).reset_time
        except Exception as exc:  # noqa: BLE001 - the shared store's driver errors (never MemoryStorage)
            if not self.shared:
                raise
            raise APIError(
                503,
                "the rate-limit store (PostgreSQL) is unavailable; retry later",
                code="rate_limit_store_unavailable",
                headers={"Retry-After": "5"},
            ) from exc
        wait = max(1, math.ceil(reset_at - time.time()))
        raise APIError(
            429,
            f"rate limit reached: {self.per_minute} requests per minute for this key; retry in {wait} s",
            code="rate_limit_exceeded",
            headers={"Retry-After": str(wait)},
        )
