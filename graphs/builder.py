"""``build_crs_graph``: the CRS graph of a collaboration variant, as a LangGraph StateGraph builder.

::

    START -> understand -> decide -> act -> respond -> remember -> END
                                       \\-> tool_agent <-> tools -/     (variants with an LLM tool step)

The builder is returned uncompiled, so callers choose the checkpointer and store
(``build_crs_graph("full").compile(checkpointer=..., store=...)``), or compose it into a
larger graph. Run it with ``context=CRSContext(toolkit=..., llm=...)``.
"""

from __future__ import annotations

from typing import Any

from crsagent.graphs.context import CRSContext
from crsagent.graphs.nodes import (
    make_act,
    make_decide,
    make_respond,
    make_tool_agent,
    make_tools_node,
    make_understand,
    remember,
)
from crsagent.graphs.routers import (
    route_after_act,
    route_after_tool_agent,
    route_after_tools,
)
from crsagent.graphs.state import CRSState
from crsagent.graphs.variants import VariantSpec, get_variant
from langgraph.graph import END, START, StateGraph

__all__ = ["build_crs_graph", "compile_crs_graph"]


def build_crs_graph(variant: str | VariantSpec = "full") -> StateGraph:
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
    g = StateGraph(CRSState, context_schema=CRSContext)
    g.add_node("understand", make_understand(spec))
    g.add_node("decide", make_decide(spec))
    g.add_node("act", make_act(spec))
    g.add_node("respond", make_respond(spec))
    g.add_node("remember", remember)
    g.add_edge(START, "understand")
    g.add_edge("understand", "decide")
    g.add_edge("decide", "act")
    if spec.llm_tools:
        g.add_node("tool_agent", make_tool_agent(spec))
        g.add_node("tools", make_tools_node())
        g.add_conditional_edges("act", route_after_act)
        g.add_conditional_edges("tool_agent", route_after_tool_agent)
        g.add_conditional_edges("tools", route_after_tools)
    else:
        g.add_edge("act", "respond")
    g.add_edge("respond", "remember")
    g.add_edge("remember", END)
    return g


def compile_crs_graph(variant: str | VariantSpec = "full", *, checkpointer: Any = None, store: Any = None) -> Any:
    """``build_crs_graph(variant).compile(checkpointer=..., store=...)``."""
    return build_crs_graph(variant).compile(checkpointer=checkpointer, store=store)
