"""Which conversation a response id belongs to (``previous_response_id`` -> a session).

Every stored response of ``POST /v1/responses`` is one turn of a conversation, and a
conversation is a session: a checkpointed LangGraph thread, as ``X-Session-Id`` names one on
chat completions. The first response of a conversation names the session after itself (its
``resp_...`` id); each later response records the session it continued. The records live in the
runner's LangGraph store (the same database as the sessions and profiles, so they survive
restarts and are shared by replicas), under ``("crsagent_responses", <key identity>)``: a key
finds only its own responses, and another key's ids answer 404 like ids never issued.

A conversation is linear: a response can be continued only while it is the latest of its
conversation (its *head*); continuing an earlier one (a fork) is refused, since the session
holds one history.
"""

from __future__ import annotations

import asyncio
from typing import Any

from langgraph.store.memory import InMemoryStore

__all__ = ["NAMESPACE", "ResponseIds"]

NAMESPACE = "crsagent_responses"
_OPEN = "open"  # the namespace label when the server has no API keys


class ResponseIds:
    """The response-id records of a server, in a LangGraph store.

    Args:
        store: the runner's store; None keeps the records in this process (a runner without
            a store keeps no sessions across restarts either).
    """

    def __init__(self, store: Any | None) -> None:
        self.store = store if store is not None else InMemoryStore()

    @staticmethod
    def _ns(tenant: str | None) -> tuple[str, str]:
        return (NAMESPACE, tenant or _OPEN)

    async def _get(self, ns: tuple[str, str], key: str) -> dict[str, Any] | None:
        try:
            item = await self.store.aget(ns, key)
        except NotImplementedError:  # a synchronous-only store
            item = await asyncio.to_thread(self.store.get, ns, key)
        return None if item is None else dict(item.value)

    async def _put(self, ns: tuple[str, str], key: str, value: dict[str, Any] | None) -> None:
        try:
            if value is None:
                await self.store.adelete(ns, key)
            else:
                await self.store.aput(ns, key, value, index=False)
        except NotImplementedError:
            if value is None:
                await asyncio.to_thread(self.store.delete, ns, key)
            else:
                await asyncio.to_thread(self.store.put, ns, key, value, index=False)

    async def session_of(self, tenant: str | None, response_id: str) -> str | None:
        """The session (unscoped id) a response of this key belongs to; None when unknown."""
        found = await self._get(self._ns(tenant), f"response:{response_id}")
        return None if found is None else str(found["session"])

    async def head(self, tenant: str | None, session_id: str) -> str | None:
        """The latest response of a conversation."""
        found = await self._get(self._ns(tenant), f"head:{session_id}")
        return None if found is None else str(found["response"])

    async def record(self, tenant: str | None, response_id: str, session_id: str) -> None:
        """Record a response as the latest turn of its conversation."""
        ns = self._ns(tenant)
        await self._put(ns, f"response:{response_id}", {"session": session_id})
        await self._put(ns, f"head:{session_id}", {"response": response_id})

    async def forget(self, tenant: str | None, response_id: str, session_id: str, head: str | None) -> None:
        """Undo :meth:`record` for a response whose turn failed; ``head`` becomes the latest again."""
        ns = self._ns(tenant)
        await self._put(ns, f"response:{response_id}", None)
        await self._put(ns, f"head:{session_id}", None if head is None else {"response": head})
