"""Sessions: validated ids, their scope (the caller's API key) and per-session locks.

With API keys configured, the ids a client sends (``X-Session-Id``, ``user``) are names inside
the key's own namespace: the stored thread and profile are ``<key identity>/<id>``
(:func:`scoped`). Two keys that send the same id reach two different threads or profiles, and
no request can name another key's data. Without keys there is one namespace (the id itself).

Two requests on one session run one after the other (a checkpointed thread takes one turn at
a time); requests on different sessions, and stateless requests, never wait for each other.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

from crsagent.agent.server.errors import SESSION_ID_RULE, invalid_request

__all__ = ["SESSION_HEADER", "SESSION_ID_PATTERN", "resolve_session_id", "check_session_id", "scoped", "SessionLocks"]

SESSION_HEADER = "X-Session-Id"
SESSION_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:\-]{0,127}$")


def resolve_session_id(header: str | None, metadata: Mapping[str, str] | None) -> str | None:
    """The session a request resumes: the ``X-Session-Id`` header or ``metadata.session_id``.

    Args:
        header: the header value, or None.
        metadata: the request's ``metadata``, or None.

    Returns:
        The session id, or None for a stateless request.

    Raises:
        APIError: 400 when the id is malformed or the header and metadata disagree.
    """
    from_meta = (metadata or {}).get("session_id")
    if header is not None and from_meta is not None and header != from_meta:
        raise invalid_request(
            f"the {SESSION_HEADER} header and metadata.session_id name different sessions",
            param="metadata.session_id",
            code="session_mismatch",
        )
    sid = header if header is not None else from_meta
    if sid is None:
        return None
    return check_session_id(sid, "metadata.session_id" if header is None else SESSION_HEADER)


def check_session_id(sid: str, param: str) -> str:
    """``sid`` when it is a well-formed session id.

    Raises:
        APIError: 400 ``invalid_session_id`` naming ``param``.
    """
    if not SESSION_ID_PATTERN.match(sid):
        raise invalid_request(
            SESSION_ID_RULE,
            param=param,
            code="invalid_session_id",
        )
    return sid


def scoped(tenant: str | None, ident: str) -> str:
    """The stored name of a client's session or user id: ``<tenant>/<id>``, or the id without keys.

    Session ids never hold ``/``, and key identities are ``k`` + 16 hex digits, so a scoped
    name cannot be forged by choosing an id.
    """
    return ident if tenant is None else f"{tenant}/{ident}"


class SessionLocks:
    """One asyncio lock per active session, dropped when nobody holds or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}
        self._users: dict[str, int] = {}

    def __len__(self) -> int:
        """Sessions with a request running or waiting."""
        return len(self._locks)

    @asynccontextmanager
    async def hold(self, session_id: str) -> AsyncIterator[None]:
        """Hold the session's lock for the duration of the block."""
        lock = self._locks.setdefault(session_id, asyncio.Lock())
        self._users[session_id] = self._users.get(session_id, 0) + 1
        try:
            async with lock:
                yield
        finally:
            self._users[session_id] -= 1
            if self._users[session_id] == 0:
                del self._users[session_id]
                del self._locks[session_id]
