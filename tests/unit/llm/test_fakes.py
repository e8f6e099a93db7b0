"""The fake chat models shipped in crsagent.agent.testing."""

from __future__ import annotations

import asyncio
from typing import Literal

import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.tools import tool
from pydantic import BaseModel, Field

from crsagent.agent.errors import LLMUnavailableError
from crsagent.agent.testing import (
    FunctionChatModel,
    InstantChatModel,
    LeftoverResponsesError,
    ScriptedChatModel,
    UnexpectedCallError,
    minimal_instance,
    tool_call_message,
)


class Filter(BaseModel):
    year_min: int | None = Field(default=None, ge=1900)
    genres: list[str] = Field(min_length=1)


class Plan(BaseModel):
    """A plan."""

    action: Literal["elicit", "recommend"]
    k: int = Field(ge=3, le=10)
    filter: Filter
    note: str = Field(min_length=4)
    score: float = Field(gt=0.5)


@tool
def search_items(query: str, k: int = 10) -> str:
    """Search the catalogue."""
    return query


def test_scripted_answers_in_order_and_records_requests():
    model = ScriptedChatModel(["one", AIMessage("two")])
    assert model.invoke([HumanMessage("a")]).content == "one"
    assert asyncio.run(model.ainvoke("b")).content == "two"
    assert [r.last_user_text for r in model.requests] == ["a", "b"]
    model.assert_exhausted()


def test_scripted_extra_call_raises_clearly():
    model = ScriptedChatModel(["only"])
    model.invoke("x")
    with pytest.raises(UnexpectedCallError, match="call #2 .* 1 answer"):
        model.invoke("again")


def test_scripted_leftovers_fail_assert_exhausted():
    model = ScriptedChatModel(["a", "b", "c"])
    model.invoke("x")
    with pytest.raises(LeftoverResponsesError, match="2 scripted"):
        model.assert_exhausted()


def test_scripted_structured_output_returns_the_schema_instance():
    model = ScriptedChatModel([{"genres": ["Drama"]}])
    out = model.with_structured_output(Filter, method="json_schema").invoke("x")
    assert out == Filter(genres=["Drama"])
    assert model.requests[0].json_schema == Filter.model_json_schema()


def test_structured_output_include_raw_reports_parsing_errors():
    model = ScriptedChatModel(["{oops"])
    result = model.with_structured_output(Filter, method="json_schema", include_raw=True).invoke("x")
    assert result["parsed"] is None and result["parsing_error"] is not None
    assert result["raw"].content == "{oops"


def test_bind_tools_with_forced_choice_turns_dicts_into_tool_calls():
    model = ScriptedChatModel(
        [{"query": "alien"}, tool_call_message("search_items", {"query": "x", "k": 3}, call_id="c9")]
    )
    bound = model.bind_tools([search_items], tool_choice="search_items")
    first = bound.invoke("find alien")
    assert first.tool_calls[0]["name"] == "search_items" and first.tool_calls[0]["args"] == {"query": "alien"}
    second = bound.invoke("again")
    assert second.tool_calls[0]["id"] == "c9"
    req = model.requests[0]
    assert req.tool_names == ["search_items"] and req.forced_tool == "search_items"
    assert req.tool_schema("search_items")["required"] == ["query"]


def test_function_calling_structured_output():
    model = ScriptedChatModel([{"genres": ["Comedy"], "year_min": 1990}])
    out = model.with_structured_output(Filter, method="function_calling").invoke("x")
    assert out == Filter(genres=["Comedy"], year_min=1990)


def test_scripted_exceptions_are_raised_and_callables_see_the_request():
    model = ScriptedChatModel([LLMUnavailableError("down"), lambda req: f"echo {req.last_user_text}"])
    with pytest.raises(LLMUnavailableError):
        model.invoke("x")
    assert model.invoke("hello").content == "echo hello"


def test_function_model_decides_from_messages_and_tools():
    def reply(req):
        if req.messages and isinstance(req.messages[-1], ToolMessage):
            return f"found {req.messages[-1].content}"
        return {"query": req.last_user_text.upper()}

    model = FunctionChatModel(reply)
    bound = model.bind_tools([search_items], tool_choice="required")
    call = bound.invoke([HumanMessage("alien")])
    assert call.tool_calls[0]["args"] == {"query": "ALIEN"}
    done = bound.invoke(
        [HumanMessage("alien"), call, ToolMessage("Alien (1979)", tool_call_id=call.tool_calls[0]["id"])]
    )
    assert done.content == "found Alien (1979)"


def test_instant_model_returns_minimal_valid_instances():
    model = InstantChatModel()
    plan = model.with_structured_output(Plan, method="json_schema").invoke("x")
    assert isinstance(plan, Plan)
    assert plan.k == 3 and plan.filter.genres == ["x"] and len(plan.note) == 4
    assert asyncio.run(model.with_structured_output(Plan).ainvoke("x")) == plan
    assert model.invoke("hi").content == "OK."
    usage = model.invoke("hi").usage_metadata
    assert usage["input_tokens"] == 10 and usage["output_tokens"] == 5


def test_instant_model_forced_and_automatic_tool_calls():
    forced = InstantChatModel().bind_tools([search_items], tool_choice="search_items").invoke("x")
    assert forced.tool_calls[0]["args"] == {"query": "x"}
    auto = InstantChatModel(call_tools=True).bind_tools([search_items, Filter])
    calls = auto.invoke("x").tool_calls
    assert [c["name"] for c in calls] == ["search_items", "Filter"]
    after = auto.invoke(
        [HumanMessage("x"), AIMessage("", tool_calls=calls), ToolMessage("r", tool_call_id=calls[0]["id"])]
    )
    assert after.tool_calls == [] and after.content == "OK."


def test_minimal_instance_handles_refs_unions_enums_and_bounds():
    schema = Plan.model_json_schema()
    value = minimal_instance(schema)
    Plan.model_validate(value)
    assert minimal_instance({"type": "integer", "exclusiveMinimum": 4}) == 5
    assert minimal_instance({"type": ["string", "null"]}) is None
    assert minimal_instance({"type": "array", "items": {"type": "boolean"}, "minItems": 2}) == [False, False]
