"""How a runner invokes its compiled graphs: sync or async persistence, one turn per thread.

Persistence may be synchronous (SQLite, the default, or Postgres) or asynchronous
(``aopen_persistence``). :func:`persistence_mode` tells which from the checkpointer and store;
:class:`GraphInvoker` then picks ``invoke`` or ``ainvoke`` to match, running a synchronous graph
in a worker thread when called from async code and an asynchronous one on a private event loop
when called from sync code (:func:`run_coroutine`). A turn on a thread holds that thread's lock
and writes one checkpoint, at exit.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from contextlib import nullcontext
from typing import Any, TypeVar

from langgraph.store.base import BaseStore

from crsagent.agent.errors import ConfigError
from crsagent.agent.threadlock import ThreadLocks
from crsagent.graphs.context import Budgets, CRSContext

__all__ = ["GraphInvoker", "persistence_mode", "run_coroutine"]

T = TypeVar("T")
_SYNC_ONLY = ("SqliteSaver", "PostgresSaver", "ShallowPostgresSaver", "SqliteStore", "PostgresStore")
_ASYNC_ONLY = (
    "AsyncSqliteSaver",
    "AsyncPostgresSaver",
    "AsyncShallowPostgresSaver",
    "AsyncSqliteStore",
    "AsyncPostgresStore",
)


def persistence_mode(*parts: Any) -> str:
    """``sync``, ``async`` or ``both`` (in-memory): the kind of the given checkpointer and store.

    Raises:
        ConfigError: synchronous and asynchronous persistence mixed.
    """
    names = {type(p).__name__ for p in parts if p is not None}
    sync, asyn = bool(names & set(_SYNC_ONLY)), bool(names & set(_ASYNC_ONLY))
    if sync and asyn:
        raise ConfigError(f"mixing synchronous and asynchronous persistence ({sorted(names)}); use one kind")
    return "sync" if sync else ("async" if asyn else "both")


def run_coroutine(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` to completion from sync code (in a thread of its own under a running loop)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = asyncio.run(coro)
        except BaseException as exc:  # re-raised in the caller's thread
            box["error"] = exc

    t = threading.Thread(target=target, name="crsagent-sync-turn")
    t.start()
    t.join()
    if "error" in box:
        raise box["error"]
    return box["value"]


class GraphInvoker:
    """Invokes ``graph`` (checkpointed) and ``stateless_graph`` the way the persistence needs.

    Attributes (set by the runner): ``graph``, ``stateless_graph``, ``store``, ``budgets``,
    ``mode`` (:func:`persistence_mode` of the checkpointer and store) and ``_locks`` (one turn
    at a time per thread).
    """

    graph: Any
    stateless_graph: Any
    store: BaseStore
    budgets: Budgets
    mode: str
    _locks: ThreadLocks

    def _config(self, thread_id: str | None) -> dict[str, Any]:
        cfg: dict[str, Any] = {"recursion_limit": self.budgets.recursion_limit}
        if thread_id is not None:
            cfg["configurable"] = {"thread_id": thread_id}
        return cfg

    def _kwargs(self, graph: Any, ctx: CRSContext) -> dict[str, Any]:
        # one checkpoint write per turn (at exit); a turn that fails leaves the thread as it was
        return {"context": ctx, "durability": "exit"} if graph is self.graph else {"context": ctx}

    def _graph_mode(self, graph: Any) -> str:
        return self.mode if graph is self.graph else persistence_mode(self.store)

    async def _ainvoke(self, graph: Any, inp: dict[str, Any], ctx: CRSContext, thread_id: str | None) -> dict[str, Any]:
        cfg, kw = self._config(thread_id), self._kwargs(graph, ctx)
        if self._graph_mode(graph) == "sync":
            return await asyncio.to_thread(self._invoke, graph, inp, ctx, thread_id)
        return await graph.ainvoke(inp, cfg, **kw)

    def _invoke(self, graph: Any, inp: dict[str, Any], ctx: CRSContext, thread_id: str | None) -> dict[str, Any]:
        cfg, kw = self._config(thread_id), self._kwargs(graph, ctx)
        with self._locks.hold(thread_id) if thread_id is not None and graph is self.graph else nullcontext():
            if self._graph_mode(graph) == "async":
                return run_coroutine(graph.ainvoke(inp, cfg, **kw))
            return graph.invoke(inp, cfg, **kw)
