"""The real runners: a :class:`~crsagent.graphs.runner.CRSAgent` per variant.

All variants share one toolkit (catalogue, indexes, models: loaded once), one chat model, and
one *asynchronous* checkpointer and store (``aopen_persistence``), opened on the serving event
loop, so turns run with ``ainvoke`` and no turn holds a database connection a thread at a time.
"""

from __future__ import annotations

import asyncio
from typing import Any

from crsagent.agent.settings import Settings
from crsagent.agent.turns import VARIANTS, AgentRunner, ChatMessage, TurnResult

__all__ = ["CRSAgentRunners", "llm_free_variants", "aseed_thread"]


def llm_free_variants() -> tuple[str, ...]:
    """The variants that never call an LLM (served when no LLM server is configured)."""
    from crsagent.graphs.variants import get_variant

    return tuple(v for v in VARIANTS if not get_variant(v).uses_llm)


async def aseed_thread(
    runner: AgentRunner, messages: list[ChatMessage], *, thread_id: str, user_id: str | None
) -> TurnResult | None:
    """Start a new checkpointed thread from a whole history and answer its last user message.

    The history goes into the thread as the first turn's input, so the graph reads every
    message (as a stateless turn does) and the belief holds what was said before: "I loved
    Alien" then "something from the 90s" keeps Alien. A runner may offer its own
    ``aseed_thread(messages, *, thread_id, user_id)``; a :class:`~crsagent.graphs.runner.CRSAgent`
    is seeded through its checkpointed graph.

    Returns:
        The turn's result, or None when the runner cannot seed a thread (the caller then sends
        only the last message).
    """
    own = getattr(runner, "aseed_thread", None)
    if own is not None:
        return await own(messages, thread_id=thread_id, user_id=user_id)
    from crsagent.graphs.runner import CRSAgent
    from crsagent.graphs.turn_io import history_messages

    if not isinstance(runner, CRSAgent):
        return None
    inp = {"messages": history_messages(messages)}
    state = await runner._ainvoke(runner.graph, inp, runner.context(user_id), thread_id)
    return runner.result(state, thread_id=thread_id)


class CRSAgentRunners:
    """An async runner factory for :func:`crsagent.agent.server.create_app`.

    Args:
        settings: data home, LLM connection, checkpoint URL.
        domain: the catalogue to recommend from.
        llm: a chat model for every variant (None: the agent makes one from ``settings``).
        checkpoint_url: overrides ``settings.checkpoint_url`` (``memory`` for throw-away sessions).
    """

    def __init__(
        self, settings: Settings, domain: str = "movies", *, llm: Any = None, checkpoint_url: str | None = None
    ) -> None:
        self.settings = settings
        self.domain = domain
        self.llm = llm
        self.checkpoint_url = checkpoint_url
        self._persistence: Any = None
        self._lock: asyncio.Lock | None = None

    async def _open(self) -> Any:
        from crsagent.agent.persistence import aopen_persistence

        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if self._persistence is None:
                self._persistence = await aopen_persistence(self.settings, self.checkpoint_url)
        return self._persistence

    async def __call__(self, variant: str) -> AgentRunner:
        """The runner of ``variant`` (the toolkit loads in a worker thread)."""
        from crsagent.graphs.runner import CRSAgent

        pers = await self._open()
        return await asyncio.to_thread(
            CRSAgent.create,
            self.settings,
            domain=self.domain,
            variant=variant,
            llm=self.llm,
            checkpointer=pers.checkpointer,
            store=pers.store,
        )

    async def aclose(self) -> None:
        """Close the checkpointer and store connections."""
        if self._persistence is not None:
            pers, self._persistence = self._persistence, None
            await pers.aclose()
