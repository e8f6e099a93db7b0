"""The LLM's tool step: forced or free tool choice, ToolNode errors back to the LLM, budgets."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.messages import HumanMessage, ToolMessage
from langgraph.checkpoint.memory import InMemorySaver

from crsagent.agent.llm.profiles import ModelProfile
from crsagent.agent.testing import ScriptedChatModel, tool_call_message
from crsagent.graphs.builder import build_crs_graph
from crsagent.graphs.context import Budgets, CRSContext
from crsagent.graphs.routers import (
    route_after_act,
    route_after_tool_agent,
    route_after_tools,
)

NATIVE = ModelProfile(name="native", pattern="native", native_tool_calls=True)


def _run(fakes: Any, variant: str, llm: Any, text: str, **ctx_kw: Any) -> dict[str, Any]:
    tk = fakes.make_toolkit()
    graph = build_crs_graph(variant).compile(checkpointer=InMemorySaver())
    ctx = CRSContext(toolkit=tk, llm=llm, **ctx_kw)
    return graph.invoke({"messages": [HumanMessage(content=text)]}, {"configurable": {"thread_id": "t"}}, context=ctx)


def test_unreliable_model_gets_a_forced_tool_and_the_guard_checks_the_reply(fakes: Any) -> None:
    understanding: dict[str, Any] = {
        "dialogue_act": "recommend",
        "liked_titles": [],
        "disliked_titles": [],
        "liked_genres": [],
        "disliked_genres": [],
        "people": [],
        "year_min": None,
        "year_max": None,
        "preferences": "",
    }
    llm = ScriptedChatModel(
        [understanding, {"query": "scary slow burn", "k": 3}, "You might like The Witch. Also Alien!"]
    )
    state = _run(fakes, "full", llm, "I loved The Babadook, something scary after 2010")
    llm.assert_exhausted()
    assert llm.requests[1].forced_tool == "vector_search"
    tool_msgs = [m for m in state["scratch"] if isinstance(m, ToolMessage)]
    assert len(tool_msgs) == 1 and tool_msgs[0].status != "error"
    assert "Results of the tools you called" in llm.requests[2].messages[0].content
    assert [r["item_id"] for r in state["recommendations"]] == [fakes.WITCH]
    assert "Alien" not in state["messages"][-1].content  # 1979: outside the candidates
    assert state["usage"]["llm_calls"] == 3 and state["usage"]["tool_calls"] == 1


def test_bad_argument_goes_back_to_the_llm_which_fixes_it(fakes: Any) -> None:
    llm = ScriptedChatModel(
        [
            tool_call_message("get_items", {"ids": []}, call_id="c1"),
            tool_call_message("get_items", {"ids": [fakes.GET_OUT]}, call_id="c2"),
            "Get Out was directed by Jordan Peele.",
        ]
    )
    state = _run(fakes, "crs-assists-llm", llm, "Who directed Get Out?", model_profile=NATIVE)
    llm.assert_exhausted()
    tool_msgs = [m for m in state["scratch"] if isinstance(m, ToolMessage)]
    assert [m.status for m in tool_msgs] == ["error", "success"]
    assert "ids" in tool_msgs[0].content  # the validation error names the argument
    second_round = llm.requests[1].messages
    assert any(isinstance(m, ToolMessage) and m.status == "error" for m in second_round)
    assert llm.requests[0].tool_choice == "auto"
    assert state["action"] == "answer" and "Jordan Peele" in state["messages"][-1].content
    assert state["usage"]["tool_calls"] == 2 and state["usage"]["llm_calls"] == 3


def test_unknown_tool_and_unknown_id_come_back_as_tool_errors(fakes: Any) -> None:
    llm = ScriptedChatModel(
        [
            {
                "content": "",
                "tool_calls": [
                    {"name": "launch_rockets", "args": {}, "id": "c1", "type": "tool_call"},
                    {"name": "get_items", "args": {"ids": ["tt9999999"]}, "id": "c2", "type": "tool_call"},
                ],
            },
            "Get Out is by Jordan Peele.",
        ]
    )
    state = _run(
        fakes, "crs-assists-llm", llm, "Who directed Get Out?", model_profile=NATIVE, budgets=Budgets(tool_rounds=1)
    )
    llm.assert_exhausted()
    errors = [m for m in state["scratch"] if isinstance(m, ToolMessage)]
    assert [m.status for m in errors] == ["error", "error"]
    assert "get_items" in errors[0].content and "vector_search" in errors[0].content  # lists valid tools
    assert "tt9999999" in errors[1].content
    assert not state["usage"]["degraded"]


def test_tool_calls_over_budget_are_dropped(fakes: Any) -> None:
    calls = [
        {"name": "get_items", "args": {"ids": [fakes.GET_OUT]}, "id": f"c{i}", "type": "tool_call"} for i in range(3)
    ]
    llm = ScriptedChatModel([{"content": "", "tool_calls": calls}, "Jordan Peele directed Get Out."])
    state = _run(
        fakes, "crs-assists-llm", llm, "Who directed Get Out?", model_profile=NATIVE, budgets=Budgets(tool_calls=1)
    )
    assert len([m for m in state["scratch"] if isinstance(m, ToolMessage)]) == 1
    assert state["usage"]["tool_calls"] == 1
    assert any("over budget" in n for n in state["usage"]["notes"])


def test_no_tool_step_when_it_would_not_leave_a_reply_call(fakes: Any) -> None:
    llm = ScriptedChatModel(["Jordan Peele directed it."])
    state = _run(
        fakes, "crs-assists-llm", llm, "Who directed Get Out?", model_profile=NATIVE, budgets=Budgets(llm_calls=1)
    )
    llm.assert_exhausted()
    assert state["usage"]["llm_calls"] == 1 and not state.get("scratch")


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ({"action": "elicit"}, "respond"),
        ({"action": "recommend"}, "tool_agent"),
        ({"action": "recommend", "usage": {"llm_calls": 2}}, "respond"),
    ],
)
def test_route_after_act(state: Any, expected: str, toolkit: Any) -> None:
    rt = type("R", (), {"context": CRSContext(toolkit=toolkit, llm=ScriptedChatModel([]))})()
    assert route_after_act(state, rt) == expected


def test_routers_after_tool_agent_and_tools(toolkit: Any) -> None:
    ask = tool_call_message("get_items", {"ids": ["x"]}, call_id="c")
    assert route_after_tool_agent({"scratch": [ask]}) == "tools"
    assert route_after_tool_agent({"scratch": []}) == "respond"
    rt = type("R", (), {"context": CRSContext(toolkit=toolkit, llm=ScriptedChatModel([]))})()
    err = ToolMessage(content="Error", tool_call_id="c", status="error")
    ok = ToolMessage(content="{}", tool_call_id="c")
    assert route_after_tools({"scratch": [ask, err], "usage": {"llm_calls": 1, "tool_calls": 1}}, rt) == "tool_agent"
    assert route_after_tools({"scratch": [ask, ok], "usage": {"llm_calls": 1, "tool_calls": 1}}, rt) == "respond"
    assert route_after_tools({"scratch": [ask, err], "usage": {"llm_calls": 2, "tool_calls": 1}}, rt) == "respond"
