"""``build_crs_graph``: the CRS graph of a collaboration variant, as a LangGraph StateGraph builder.

::

    START -> understand -> decide -> act -> respond -> remember -> END
                                       \\-> tool_agent <-> tools -/     (variants with an LLM tool step)

    START -> understand -> agent <-> agent_tools                       (the ``agent`` variant)
                          agent -> remember -> END                     (the LLM's reply passed the guard)
                          agent | agent_tools -> fallback -> decide -> act -> respond -> remember

The builder is returned uncompiled, so callers choose the checkpointer and store
(``build_crs_graph("full").compile(checkpointer=..., store=...)``), or compose it into a
larger graph. Run it with ``context=CRSContext(toolkit=..., llm=...)``.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from langchain_core.runnables import RunnableConfig, RunnableLambda
from langgraph.graph import END, START, StateGraph
from langgraph.runtime import get_runtime

from crsagent.graphs.context import CRSContext
from crsagent.graphs.effects import async_version
from crsagent.graphs.nodes import (
    make_act,
    make_decide,
    make_respond,
    make_tool_agent,
    make_tools_node,
    make_understand,
    remember,
)
from crsagent.graphs.nodes.agent import (
    make_agent,
    make_agent_tools_node,
    route_after_agent,
    route_after_agent_tools,
)
from crsagent.graphs.nodes.remember import aremember
from crsagent.graphs.routers import (
    route_after_act,
    route_after_tool_agent,
    route_after_tools,
)
from crsagent.graphs.state import CRSState
from crsagent.graphs.variants import VARIANT_SPECS, VariantSpec, get_variant

__all__ = ["build_crs_graph", "compile_crs_graph", "inline"]


def inline(fn: Callable[..., Any], name: str | None = None, afunc: Callable[..., Awaitable[Any]] | None = None) -> Any:
    """A node or router that an async run calls on the event loop itself.

    LangGraph hands every sync function of an async run to a worker thread. For work that
    neither blocks on I/O nor calls the LLM (the routers), or that has an async version
    (``remember``; the LLM nodes, see :func:`_steps`), the hop to the thread and back costs
    more than the work: with 32 concurrent sessions the turns queue for the GIL behind the
    hops. ``decide`` (a SQLite query for its question pool), ``act`` (the recommender models)
    and ``tools`` (LangGraph's ToolNode) run in the thread pool. Sync runs call ``fn`` as before.

    The result is a public ``RunnableLambda`` with both versions; the ``runtime`` and
    ``config`` arguments LangGraph would inject into a plain function are passed the same way
    (``langgraph.runtime.get_runtime()`` and the run's config).

    Args:
        fn: the sync function (node or router), ``fn(state)``, optionally with ``runtime``
            and/or ``config`` keyword parameters.
        name: the runnable's name (default ``fn.__name__``).
        afunc: the async version for async runs (default: ``fn`` called on the loop).
    """
    wants = {p for p in ("runtime", "config") if p in inspect.signature(fn).parameters}

    def injected(state: Any, config: RunnableConfig) -> dict[str, Any]:
        kw: dict[str, Any] = {}
        if "runtime" in wants:
            kw["runtime"] = get_runtime()
        if "config" in wants:
            kw["config"] = config
        return kw

    def sync(state: Any, config: RunnableConfig) -> Any:
        return fn(state, **injected(state, config))

    async def on_loop(state: Any, config: RunnableConfig) -> Any:
        kw = injected(state, config)
        return await afunc(state, **kw) if afunc is not None else fn(state, **kw)

    return RunnableLambda(sync, afunc=on_loop, name=name or fn.__name__)


def _steps(node: Callable[..., Any], name: str) -> Any:
    """A node written as steps (:mod:`crsagent.graphs.effects`): async runs await its LLM
    requests and store reads on the event loop instead of blocking a worker thread."""
    anode = async_version(node)
    if anode is None:
        raise TypeError(f"node {name} has no async version (make it with effects.steps_node)")
    return inline(node, name, anode)


def build_crs_graph(variant: str | VariantSpec = "full") -> StateGraph[Any, Any, Any, Any]:
    """The CRS graph builder of a variant.

    Args:
        variant: ``full`` (default), ``llm-only``, ``crs-only``, ``llm-assists-crs`` or
            ``crs-assists-llm`` (see :mod:`crsagent.graphs.variants`), or a custom spec.

    Returns:
        An uncompiled ``StateGraph`` over :class:`~crsagent.graphs.state.CRSState` with
        context schema :class:`~crsagent.graphs.context.CRSContext`.

    Raises:
        ConfigError: unknown variant.
    """
    spec = get_variant(variant)
    if spec.agent_loop:
        return _agent_graph(spec)
    g: StateGraph[Any, Any, Any, Any] = StateGraph(CRSState, context_schema=CRSContext)
    g.add_node("understand", _steps(make_understand(spec), "understand"))
    _add_policy(g, spec)
    g.add_edge(START, "understand")
    g.add_edge("understand", "decide")
    if spec.llm_tools:
        g.add_node("tool_agent", _steps(make_tool_agent(spec), "tool_agent"))
        g.add_node("tools", make_tools_node())
        g.add_conditional_edges("act", inline(route_after_act), ["tool_agent", "respond"])
        g.add_conditional_edges("tool_agent", inline(route_after_tool_agent), ["tools", "respond"])
        g.add_conditional_edges("tools", inline(route_after_tools), ["tool_agent", "respond"])
    else:
        g.add_edge("act", "respond")
    return g


def _add_policy(g: StateGraph[Any, Any, Any, Any], spec: VariantSpec) -> None:
    """The deterministic policy's nodes (decide -> act, respond -> remember -> END) of a spec."""
    # (the Callable types of decide and act do not say that runtime is passed by keyword)
    g.add_node("decide", make_decide(spec))  # type: ignore[arg-type]  # a worker thread: SQLite question pool
    g.add_node("act", make_act(spec))  # type: ignore[arg-type]
    g.add_node("respond", _steps(make_respond(spec), "respond"))
    g.add_node("remember", inline(remember, "remember", aremember))
    g.add_edge("decide", "act")
    g.add_edge("respond", "remember")
    g.add_edge("remember", END)


def _fallback_start(state: CRSState) -> dict[str, Any]:
    """The ``fallback`` node: marks where the deterministic policy takes over (the reason is in
    the state already)."""
    return {"agent_step": "fallback"}


def _agent_graph(spec: VariantSpec) -> StateGraph[Any, Any, Any, Any]:
    """The ``agent`` variant: the LLM decides; the crs-only pipeline is the fallback."""
    crs = VARIANT_SPECS["crs-only"]
    g: StateGraph[Any, Any, Any, Any] = StateGraph(CRSState, context_schema=CRSContext)
    g.add_node("understand", _steps(make_understand(spec), "understand"))
    g.add_node("agent", _steps(make_agent(spec), "agent"))
    g.add_node("agent_tools", make_agent_tools_node())
    g.add_node("fallback", inline(_fallback_start, "fallback"))
    _add_policy(g, crs)
    g.add_edge(START, "understand")
    g.add_edge("understand", "agent")
    g.add_conditional_edges("agent", inline(route_after_agent), ["agent", "agent_tools", "remember", "fallback"])
    g.add_conditional_edges("agent_tools", inline(route_after_agent_tools), ["agent", "fallback"])
    g.add_edge("fallback", "decide")
    g.add_edge("act", "respond")
    return g


def compile_crs_graph(variant: str | VariantSpec = "full", *, checkpointer: Any = None, store: Any = None) -> Any:
    """``build_crs_graph(variant).compile(checkpointer=..., store=...)``."""
    return build_crs_graph(variant).compile(checkpointer=checkpointer, store=store)
