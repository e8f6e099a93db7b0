"""The privacy routes: ``GET`` / ``DELETE`` ``/v1/sessions/{session_id}`` and ``/v1/users/{user_id}/profile``.

Each is scoped to the caller's API key (see :mod:`crsagent.agent.server.privacy`); ids of
another key, and ids never used, answer 404 ``not_found`` alike.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path

from crsagent.agent.server.errors import invalid_request
from crsagent.agent.server.privacy import ConversationData, Deleted, ProfileOut, SessionOut, not_found
from crsagent.agent.server.sessions import check_session_id, scoped

__all__ = ["add_privacy_routes"]

_SessionId = Annotated[str, Path(min_length=1, max_length=128, description="the session id (X-Session-Id)")]
_UserId = Annotated[str, Path(min_length=1, max_length=256, description="the user id sent as `user`")]


def add_privacy_routes(api: APIRouter, service: Any, caller: Callable[..., Any]) -> None:
    """Add the privacy routes to ``api``.

    Args:
        api: the authenticated ``/v1`` router.
        service: the app's :class:`~crsagent.agent.server.serving.ChatService`.
        caller: the dependency that authenticates a request and returns its key identity.
    """
    key = Depends(caller)  # a default value, not an annotation: ``caller`` is not a module global

    async def data() -> ConversationData:
        runner = await service.pool.get(service.config.default_variant)
        return ConversationData(getattr(runner, "checkpointer", None), getattr(runner, "store", None))

    @api.get("/sessions/{session_id}", response_model=SessionOut, tags=["privacy"])
    async def get_session(session_id: _SessionId, tenant: str | None = key) -> SessionOut:
        """A stored conversation of this API key: its messages and when it last changed."""
        thread = scoped(tenant, check_session_id(session_id, "session_id"))
        found = await (await data()).session(thread, session_id)
        if found is None:
            raise not_found("session")
        return found

    @api.delete("/sessions/{session_id}", response_model=Deleted, tags=["privacy"])
    async def delete_session(session_id: _SessionId, tenant: str | None = key) -> Deleted:
        """Erase a conversation of this API key: every checkpoint and pending write of its thread."""
        thread = scoped(tenant, check_session_id(session_id, "session_id"))
        async with service.locks.hold(thread):  # never in the middle of a turn
            if not await (await data()).delete_session(thread):
                raise not_found("session")
        return Deleted(id=session_id, object="session.deleted")

    @api.get("/users/{user_id}/profile", response_model=ProfileOut, tags=["privacy"])
    async def get_profile(user_id: _UserId, tenant: str | None = key) -> ProfileOut:
        """The profile memory this API key keeps for ``user_id``."""
        found = await (await data()).profile(scoped(tenant, _check_user(user_id)), user_id)
        if found is None:
            raise not_found("profile")
        return found

    @api.delete("/users/{user_id}/profile", response_model=Deleted, tags=["privacy"])
    async def delete_profile(user_id: _UserId, tenant: str | None = key) -> Deleted:
        """Erase the profile memory this API key keeps for ``user_id`` (every store item of it)."""
        if not await (await data()).delete_profile(scoped(tenant, _check_user(user_id))):
            raise not_found("profile")
        return Deleted(id=user_id, object="user.profile.deleted")


def _check_user(user_id: str) -> str:
    if not user_id.strip():
        raise invalid_request("user_id must not be blank", param="user_id")
    try:
        user_id.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise invalid_request("user_id is not valid Unicode", param="user_id", code="invalid_encoding") from exc
    return user_id
