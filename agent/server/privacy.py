"""What the API keeps about a caller, and how to read and erase it.

A session is a LangGraph thread in the checkpointer (every checkpoint of it and every pending
write); a profile is the items under the user's namespace in the store
(:func:`crsagent.agent.memory.profile_namespace`). Both are found through the runner of the
default variant (all variants share one checkpointer and one store): its ``checkpointer`` and
``store`` attributes. A runner without them keeps nothing, so there is nothing to find (404).

Ids are scoped like chat turns (:func:`crsagent.agent.server.sessions.scoped`): a key reads and
erases only its own sessions and profiles; another key's ids answer 404, exactly like ids that
were never used, so nothing tells them apart.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, Literal, TypeVar

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from pydantic import BaseModel, Field

from crsagent.agent.memory import PROFILE_KEY, Profile, profile_namespace
from crsagent.agent.server.errors import APIError

__all__ = ["SessionMessage", "SessionOut", "ProfileOut", "Deleted", "ConversationData", "not_found"]

T = TypeVar("T")


class SessionMessage(BaseModel):
    """One message of a stored conversation (the user's and the assistant's words only)."""

    role: Literal["system", "user", "assistant"]
    content: str


class SessionOut(BaseModel):
    """``GET /v1/sessions/{session_id}``: a stored conversation.

    Attributes:
        id: the session id, as the client named it.
        updated_at: when its last checkpoint was written (ISO 8601, UTC).
        messages: the conversation so far, oldest first.
    """

    id: str
    object: Literal["session"] = "session"
    updated_at: str | None = None
    messages: list[SessionMessage] = Field(default_factory=list)


class ProfileOut(BaseModel):
    """``GET /v1/users/{user_id}/profile``: a user's profile memory.

    Attributes:
        user: the user id, as the client sent it in ``user``.
        summary: the facts in one or two sentences.
        facts: liked and disliked items, genres, people ...
        threads: how many sessions have updated it.
    """

    user: str
    object: Literal["user.profile"] = "user.profile"
    summary: str = ""
    facts: dict[str, list[str]] = Field(default_factory=dict)
    threads: int = 0


class Deleted(BaseModel):
    """The answer of a ``DELETE``: what was erased (OpenAI's deletion object)."""

    id: str
    object: Literal["session.deleted", "user.profile.deleted"]
    deleted: bool = True


def not_found(what: str) -> APIError:
    """404 ``not_found`` for a session or profile this key does not have."""
    return APIError(404, f"no {what} with that id for this API key", code="not_found")


async def _either(async_call: Callable[[], Awaitable[T]], sync_call: Callable[[], T]) -> T:
    """Run a LangGraph async method; when the backend is synchronous only, the sync one in a thread."""
    try:
        return await async_call()
    except NotImplementedError:
        return await asyncio.to_thread(sync_call)


def _as_session_message(msg: BaseMessage) -> SessionMessage | None:
    if isinstance(msg, HumanMessage):
        return SessionMessage(role="user", content=msg.text)
    if isinstance(msg, AIMessage) and not msg.tool_calls and msg.text:
        return SessionMessage(role="assistant", content=msg.text)
    if isinstance(msg, SystemMessage):
        return SessionMessage(role="system", content=msg.text)
    return None  # the agent's own tool calls and tool results


class ConversationData:
    """Sessions and profiles over a LangGraph checkpointer and store (either may be None)."""

    def __init__(self, checkpointer: Any, store: Any) -> None:
        self.checkpointer = checkpointer
        self.store = store

    async def session(self, thread_id: str, session_id: str) -> SessionOut | None:
        """The stored conversation of a thread, or None when it has no checkpoint."""
        if self.checkpointer is None:
            return None
        config = {"configurable": {"thread_id": thread_id}}
        cp = self.checkpointer
        tup = await _either(lambda: cp.aget_tuple(config), lambda: cp.get_tuple(config))
        if tup is None:
            return None
        values = tup.checkpoint.get("channel_values") or {}
        messages = [m for m in map(_as_session_message, values.get("messages") or []) if m is not None]
        return SessionOut(id=session_id, updated_at=tup.checkpoint.get("ts"), messages=messages)

    async def exists(self, thread_id: str) -> bool | None:
        """Whether a thread has a checkpoint; None when there is no checkpointer to ask."""
        if self.checkpointer is None:
            return None
        config = {"configurable": {"thread_id": thread_id}}
        cp = self.checkpointer
        return await _either(lambda: cp.aget_tuple(config), lambda: cp.get_tuple(config)) is not None

    async def delete_session(self, thread_id: str) -> bool:
        """Delete every checkpoint and pending write of a thread; False when it had none."""
        if self.checkpointer is None:
            return False
        config = {"configurable": {"thread_id": thread_id}}
        cp = self.checkpointer
        if await _either(lambda: cp.aget_tuple(config), lambda: cp.get_tuple(config)) is None:
            return False
        await _either(lambda: cp.adelete_thread(thread_id), lambda: cp.delete_thread(thread_id))
        return True

    async def profile(self, user_key: str, user: str) -> ProfileOut | None:
        """A user's stored profile, or None."""
        if self.store is None:
            return None
        ns, st = profile_namespace(user_key), self.store
        item = await _either(lambda: st.aget(ns, PROFILE_KEY), lambda: st.get(ns, PROFILE_KEY))
        if item is None:
            return None
        p = Profile.model_validate(item.value)
        return ProfileOut(user=user, summary=p.summary, facts=p.facts.model_dump(), threads=p.threads)

    async def delete_profile(self, user_key: str) -> bool:
        """Delete every store item under the user's namespace; False when there was none."""
        if self.store is None:
            return False
        ns, st = profile_namespace(user_key), self.store
        found = False
        while True:
            items = await _either(lambda: st.asearch(ns, limit=100), lambda: st.search(ns, limit=100))
            if not items:
                return found
            found = True
            for item in items:
                key, space = item.key, tuple(item.namespace)
                # the lambdas run before the loop moves on
                await _either(lambda: st.adelete(space, key), lambda: st.delete(space, key))  # noqa: B023
