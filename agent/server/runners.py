"""The runners behind the API: one :class:`AgentRunner` per graph variant, made on first use.

The server depends on :class:`~crsagent.agent.turns.AgentRunner` only; what makes the
runners is injected (a ``RunnerFactory``), so HTTP logic can be tested with a fake runner and
the real server uses :class:`~crsagent.graphs.runner.CRSAgent`.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from typing import Any, cast

from crsagent.agent.turns import AgentRunner

__all__ = ["RunnerFactory", "RunnerPool"]

#: ``(variant) -> AgentRunner``; a coroutine function is awaited, a plain function runs in a thread.
RunnerFactory = Callable[[str], AgentRunner | Awaitable[AgentRunner]]


def _is_async(fn: object) -> bool:
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(type(fn).__call__ if callable(fn) else None)


class RunnerPool:
    """Makes each variant's runner once (concurrent first requests wait for one build)."""

    def __init__(self, factory: RunnerFactory) -> None:
        """Args:
        factory: makes the runner of a variant.
        """
        self._factory = factory
        self._runners: dict[str, AgentRunner] = {}
        self._building: dict[str, asyncio.Lock] = {}

    @property
    def ready(self) -> tuple[str, ...]:
        """Variants whose runner has been made."""
        return tuple(self._runners)

    async def get(self, variant: str) -> AgentRunner:
        """The runner of ``variant``, made on first use.

        A plain factory runs in a worker thread (loading indexes and models must not stall the
        event loop); a coroutine function runs on the loop.
        """
        runner = self._runners.get(variant)
        if runner is not None:
            return runner
        lock = self._building.setdefault(variant, asyncio.Lock())
        async with lock:
            runner = self._runners.get(variant)
            if runner is None:
                made: Any
                if _is_async(self._factory):
                    made = await cast("Awaitable[AgentRunner]", self._factory(variant))
                else:
                    made = await asyncio.to_thread(self._factory, variant)
                    if inspect.isawaitable(made):
                        made = await made
                runner = made
                self._runners[variant] = runner
        return runner

    async def aclose(self) -> None:
        """Close the runners, then the factory (each when it has ``aclose`` or ``close``)."""
        runners, self._runners = list(self._runners.values()), {}
        for obj in [*runners, self._factory]:
            closer = getattr(obj, "aclose", None) or getattr(obj, "close", None)
            if closer is None:
                continue
            result = closer()
            if inspect.isawaitable(result):
                await result
