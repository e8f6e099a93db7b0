"""``explain_items`` as a LangChain tool, run through LangGraph's ToolNode as the graph runs it."""

from __future__ import annotations

import json

from langchain_core.messages import AIMessage, ToolMessage
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode, ToolRuntime

from crsagent.tools.explain import Evidence, Explainer, ExplainItemsArgs, ExplainItemsResult, make_explain_tools

BABADOOK, SHINING = "tt2321549", "tt0081505"


class GenreState(MessagesState):
    genre: str


def _graph(tools):
    builder = StateGraph(GenreState)
    builder.add_node("tools", ToolNode(tools))
    builder.add_edge(START, "tools")
    builder.add_edge("tools", END)
    return builder.compile()


def _call(graph, args: dict, genre: str = "") -> ToolMessage:
    msg = AIMessage(content="", tool_calls=[{"name": "explain_items", "args": args, "id": "call-1"}])
    out = graph.invoke({"messages": [msg], "genre": genre})
    result = out["messages"][-1]
    assert isinstance(result, ToolMessage) and result.tool_call_id == "call-1"
    return result


def test_schema_hides_the_system_supplied_evidence(movie_catalog):
    (tool,) = make_explain_tools(Explainer(movie_catalog), lambda: Evidence())
    assert tool.name == "explain_items"
    props = tool.tool_call_schema.model_json_schema()["properties"]
    assert set(props) == {"item_ids", "kind"}
    assert tool.args_schema is ExplainItemsArgs


def test_explains_with_the_evidence_the_graph_state_gives(movie_catalog):
    seen: list[str] = []

    def provider(runtime: ToolRuntime | None) -> Evidence:
        assert runtime is not None  # ToolNode injected it
        seen.append(runtime.state["genre"])
        return Evidence(genres=[runtime.state["genre"]])

    node = _graph(make_explain_tools(Explainer(movie_catalog), provider))
    msg = _call(node, {"item_ids": [BABADOOK]}, genre="horror")
    assert msg.status == "success"
    result = msg.artifact
    assert isinstance(result, ExplainItemsResult)
    assert "a 2014 horror film" in result.explanations[0].text
    assert json.loads(msg.content)["explanations"][0]["item_id"] == BABADOOK
    msg = _call(node, {"item_ids": [BABADOOK]}, genre="drama")
    assert "a 2014 drama film" in msg.artifact.explanations[0].text
    assert seen == ["horror", "drama"]


def test_outside_a_tool_node_the_provider_gets_no_runtime(movie_catalog):
    got: list[object] = []
    (tool,) = make_explain_tools(Explainer(movie_catalog), lambda runtime: got.append(runtime) or Evidence())
    out = tool.invoke({"item_ids": [BABADOOK], "kind": "endorsement"})
    assert got == [None] and json.loads(out)["explanations"][0]["item_id"] == BABADOOK


def test_bad_arguments_come_back_as_tool_errors(movie_catalog):
    node = _graph(make_explain_tools(Explainer(movie_catalog), lambda: Evidence()))
    msg = _call(node, {"item_ids": [BABADOOK, "tt0000000"]})
    assert msg.status == "error" and "unknown item id(s): tt0000000" in msg.content
    msg = _call(node, {"item_ids": [], "kind": "endorsement"})
    assert msg.status == "error" and "give item_ids" in msg.content
    msg = _call(node, {"item_ids": [BABADOOK], "kind": "limerick"})
    assert msg.status == "error" and "kind" in msg.content
    msg = _call(node, {"item_ids": [BABADOOK] * 11})
    assert msg.status == "error"


def test_user_summary_needs_no_ids(movie_catalog):
    provider = lambda: Evidence(liked_ids=[SHINING], genres=["horror"])  # noqa: E731
    node = _graph(make_explain_tools(Explainer(movie_catalog), provider))
    msg = _call(node, {"kind": "user_summary"})
    assert msg.status == "success"
    (summary,) = msg.artifact.explanations
    assert summary.text.startswith("You liked The Shining (1980).")
