"""Routers of the CRS graph. Each returns a ``Literal`` so the graph can be drawn."""

from __future__ import annotations

from typing import Literal

from langchain_core.messages import AIMessage, ToolMessage
from langgraph.runtime import Runtime

from crsagent.graphs.context import CRSContext
from crsagent.graphs.dialogue.llm_step import llm_calls_left
from crsagent.graphs.nodes.tools import TOOL_ACTIONS, tool_rounds
from crsagent.graphs.state import CRSState

__all__ = ["route_after_act", "route_after_tool_agent", "route_after_tools"]


def route_after_act(state: CRSState, runtime: Runtime[CRSContext]) -> Literal["tool_agent", "respond"]:
    """Give the LLM a tool step when the action needs data and the budget keeps a reply call."""
    ctx = runtime.context
    if state.get("action") not in TOOL_ACTIONS or ctx.llm is None:
        return "respond"
    if ctx.budgets.tool_calls < 1 or ctx.budgets.tool_rounds < 1:
        return "respond"
    return "tool_agent" if llm_calls_left(ctx, state.get("usage")) >= 2 else "respond"


def route_after_tool_agent(state: CRSState) -> Literal["tools", "respond"]:
    """Run the tools when the LLM's latest answer called some."""
    scratch = state.get("scratch") or []
    last = scratch[-1] if scratch else None
    return "tools" if isinstance(last, AIMessage) and last.tool_calls else "respond"


def route_after_tools(state: CRSState, runtime: Runtime[CRSContext]) -> Literal["tool_agent", "respond"]:
    """Let the LLM fix a failed call while rounds, tool calls and LLM calls remain."""
    ctx = runtime.context
    scratch = state.get("scratch") or []
    latest: list[ToolMessage] = []
    for m in reversed(scratch):
        if not isinstance(m, ToolMessage):
            break
        latest.append(m)
    failed = any(m.status == "error" for m in latest)
    usage = state.get("usage") or {}
    if (
        failed
        and tool_rounds(state) < ctx.budgets.tool_rounds
        and int(usage.get("tool_calls", 0)) < ctx.budgets.tool_calls
        and llm_calls_left(ctx, usage) >= 2
    ):
        return "tool_agent"
    return "respond"
