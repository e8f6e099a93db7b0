"""What API replicas share through PostgreSQL: the per-session turn lock.

With ``ServerConfig.shared_state_url`` (``crsagent serve`` sets it to the checkpoint database
when that is PostgreSQL), a session's turns are serialised by a PostgreSQL advisory lock
(:class:`~crsagent.agent.threadlock.AsyncAdvisoryLocks`) instead of a per-process lock, so two
requests for one session on two replicas run one after the other and neither turn is lost. A
request that waits longer than ``ServerConfig.session_wait_s`` gets **409** ``session_busy``
with ``Retry-After``: the session is busy, not the caller over a quota (that is 429), and the
OpenAI SDKs retry a 409 on their own. The rate limit's shared count is in
:mod:`~crsagent.agent.server.ratelimit`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from crsagent.agent.server.errors import APIError
from crsagent.agent.threadlock import AsyncAdvisoryLocks, SessionBusyError

__all__ = ["SharedSessionLocks", "SESSION_BUSY_RETRY_AFTER_S"]

#: ``Retry-After`` of a 409 ``session_busy`` (a turn usually ends within seconds).
SESSION_BUSY_RETRY_AFTER_S = 2


class SharedSessionLocks:
    """Session locks shared by the replicas on one PostgreSQL (``ChatService.locks``'s interface).

    Args:
        url: the ``postgresql://`` database.
        wait_s: the longest a request waits for its session.
    """

    def __init__(self, url: str, wait_s: float) -> None:
        self.locks = AsyncAdvisoryLocks(url, wait_s=wait_s)

    async def open(self) -> None:
        """Connect (fails when the database is unreachable)."""
        await self.locks.open()

    async def aclose(self) -> None:
        """Disconnect."""
        await self.locks.aclose()

    def __len__(self) -> int:
        """Sessions with a request running or waiting on this replica."""
        return len(self.locks)

    @asynccontextmanager
    async def hold(self, session_id: str) -> AsyncIterator[None]:
        """Hold the session's lock, across replicas, for the block.

        Raises:
            APIError: 409 ``session_busy`` with ``Retry-After`` when the lock stayed taken
                for ``wait_s``.
        """
        try:
            lease = await self.locks.acquire(session_id)
        except SessionBusyError as exc:
            raise APIError(
                409,
                f"another request on this session is still running (waited {exc.waited_s:.0f} s); "
                f"send the turn again once it has finished",
                type="conflict_error",
                code="session_busy",
                headers={"Retry-After": str(SESSION_BUSY_RETRY_AFTER_S)},
            ) from exc
        try:
            yield
        finally:
            await self.locks.release(lease)
