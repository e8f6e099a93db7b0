"""Inline nodes: sync work that an async run calls on the event loop, not in a worker thread."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from langgraph.graph import END, START, StateGraph
from typing_extensions import TypedDict

from crsagent.graphs.builder import build_crs_graph, inline


class _S(TypedDict, total=False):
    n: int
    thread: int


def _bump(state: _S) -> dict[str, Any]:
    return {"n": state.get("n", 0) + 1, "thread": threading.get_ident()}


def _graph(node: Any) -> Any:
    g = StateGraph(_S)
    g.add_node("bump", node)
    g.add_edge(START, "bump")
    g.add_edge("bump", END)
    return g.compile()


def test_an_inline_node_runs_on_the_loop_thread_and_a_plain_one_does_not() -> None:
    async def run(node: Any) -> tuple[dict[str, Any], int]:
        return await _graph(node).ainvoke({"n": 1}), threading.get_ident()

    out, loop_thread = asyncio.run(run(inline(_bump)))
    assert out["n"] == 2 and out["thread"] == loop_thread
    out, loop_thread = asyncio.run(run(_bump))
    assert out["n"] == 2 and out["thread"] != loop_thread


def test_an_inline_node_still_runs_in_a_sync_graph() -> None:
    out = _graph(inline(_bump)).invoke({"n": 41})
    assert out["n"] == 42 and out["thread"] == threading.get_ident()


def test_the_crs_graph_keeps_its_drawable_edges() -> None:
    """Inline routers are given their destinations, so the graph still draws every branch."""
    edges = {(e.source, e.target) for e in build_crs_graph("full").compile().get_graph().edges}
    for edge in (
        ("act", "tool_agent"),
        ("act", "respond"),
        ("tool_agent", "tools"),
        ("tools", "tool_agent"),
        ("tools", "respond"),
        ("understand", "decide"),
        ("decide", "act"),
    ):
        assert edge in edges, edge
