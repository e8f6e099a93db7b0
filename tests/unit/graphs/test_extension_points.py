"""Extension points (issue 17): extra toolkit tools, ``CRSAgent.from_graph``, the public ``inline``."""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

import pytest
from langchain_core.tools import tool
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.store.memory import InMemoryStore
from typing_extensions import TypedDict

from crsagent.agent.errors import ConfigError
from crsagent.agent.settings import Settings
from crsagent.graphs.builder import build_crs_graph, inline
from crsagent.graphs.nodes.agent import agent_tools
from crsagent.graphs.runner import CRSAgent


@tool
def staff_picks(k: int = 2) -> str:
    """The shop's staff picks."""
    return json.dumps({"items": [{"item_id": "x1", "title": "Pick"}][:k]})


def test_extra_tools_join_the_built_in_ones_everywhere(fakes: Any) -> None:
    shared = fakes.make_toolkit()
    built_in = [t.name for t in shared.tools()]
    mine = shared.with_tools(staff_picks)
    assert [t.name for t in mine.tools()] == built_in + ["staff_picks"]
    assert [t.name for t in shared.tools()] == built_in  # the copy left the shared toolkit alone
    assert "staff_picks" in [t.name for t in agent_tools(mine)]  # the agent variant offers it
    own = fakes.make_toolkit(extra_tools=[staff_picks])
    assert own.tools()[-1] is staff_picks and own.add_tools() is own
    with pytest.raises(TypeError, match="not LangChain tools"):
        own.add_tools(lambda: None)


def test_a_custom_tool_of_a_built_in_name_replaces_it(fakes: Any) -> None:
    @tool("get_items")
    def my_get_items(ids: list[str]) -> str:
        """Mine."""
        return "{}"

    tk = fakes.make_toolkit(extra_tools=[my_get_items])
    names = [t.name for t in tk.tools()]
    assert names.count("get_items") == 1 and tk.tools()[names.index("get_items")] is my_get_items


def test_from_graph_keeps_turn_results_threads_and_the_contract(tmp_path: Any, fakes: Any) -> None:
    builder = build_crs_graph("crs-only")
    builder.add_node("audit", lambda state: {"focus": ["audited"]})
    builder.add_edge("remember", "audit")  # edges only add: remember -> END stays
    builder.add_edge("audit", END)
    agent = CRSAgent.from_graph(
        builder,
        Settings(home=tmp_path),
        name="audited",
        toolkit=fakes.make_toolkit(),
        checkpointer=InMemorySaver(),
        store=InMemoryStore(),
    )
    r1 = agent.turn("I loved The Babadook, something after 2010", thread_id="t1")
    assert agent.variant == "audited" and r1.recommendations and r1.belief["focus"] == ["audited"]
    r2 = agent.turn("Not that one, I've seen it.", thread_id="t1")
    assert r1.recommendations[0].item_id in r2.belief["rejected"]  # the thread was checkpointed
    assert agent.run_history([{"role": "user", "content": "something scary"}]).ranking


def test_from_graph_refuses_a_compiled_graph_or_a_foreign_context(tmp_path: Any, fakes: Any) -> None:
    tk = fakes.make_toolkit()
    with pytest.raises(ConfigError, match="uncompiled"):
        CRSAgent.from_graph(build_crs_graph("crs-only").compile(), Settings(home=tmp_path), toolkit=tk)

    class Other:
        pass

    g = build_crs_graph("crs-only")
    g.context_schema = Other
    with pytest.raises(ConfigError, match="CRSContext"):
        CRSAgent.from_graph(g, Settings(home=tmp_path), toolkit=tk)


class _S(TypedDict, total=False):
    seen: Any
    thread: int


def test_inline_injects_runtime_and_config_and_runs_on_the_loop() -> None:
    def node(state: _S, runtime: Any, config: Any) -> dict[str, Any]:
        return {"seen": (runtime.context, config["configurable"]["k"]), "thread": threading.get_ident()}

    g = StateGraph(_S, context_schema=str)  # type: ignore[type-var]  # any class can be the context
    g.add_node("n", inline(node))
    g.add_edge(START, "n")
    g.add_edge("n", END)
    graph = g.compile()
    out = graph.invoke({}, {"configurable": {"k": 1}}, context="ctx")
    assert out["seen"] == ("ctx", 1) and out["thread"] == threading.get_ident()

    async def run() -> tuple[dict[str, Any], int]:
        return await graph.ainvoke({}, {"configurable": {"k": 2}}, context="actx"), threading.get_ident()

    out, loop_thread = asyncio.run(run())
    assert out["seen"] == ("actx", 2) and out["thread"] == loop_thread
