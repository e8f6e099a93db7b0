"""The real runners: a :class:`~crsagent.graphs.runner.CRSAgent` per variant.

All variants share one toolkit (catalogue, indexes, models: loaded once), one chat model, and
one *asynchronous* checkpointer and store (``aopen_persistence``), opened on the serving event
loop, so turns run with ``ainvoke`` and no turn holds a database connection a thread at a time.
"""

from __future__ import annotations

import asyncio
from typing import Any

from crsagent.agent.settings import Settings
from crsagent.agent.turns import VARIANTS, AgentRunner

__all__ = ["CRSAgentRunners", "llm_free_variants"]


def llm_free_variants() -> tuple[str, ...]:
    """The variants that never call an LLM (served when no LLM server is configured)."""
    from crsagent.graphs.variants import get_variant

    return tuple(v for v in VARIANTS if not get_variant(v).uses_llm)


class CRSAgentRunners:
    """An async runner factory for :func:`crsagent.agent.server.create_app`.

    Args:
        settings: data home, LLM connection, checkpoint URL.
        domain: the catalogue to recommend from.
        llm: a chat model for every variant (None: the agent makes one from ``settings``).
        checkpoint_url: overrides ``settings.checkpoint_url`` (``memory`` for throw-away sessions).
    """

    def __init__(self, settings: Settings, domain: str = "movies", *, llm: Any = None,
                 checkpoint_url: str | None = None) -> None:
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
