"""Structured output: validation, one bounded repair, typed errors, usage; over fakes and HTTP."""

from __future__ import annotations

import asyncio
import json
from typing import Literal

import pytest
from langchain_core.messages import HumanMessage, SystemMessage, ToolMessage
from pydantic import BaseModel, Field

from crsagent.agent.errors import LLMOutputError, LLMUnavailableError
from crsagent.agent.llm.client import make_chat_model
from crsagent.agent.llm.profiles import profile_for
from crsagent.agent.llm.real_llm_switch import allow_real_llm
from crsagent.agent.llm.structured import ainvoke_structured, invoke_structured, response_format_for
from crsagent.agent.llm.usage import UsageMeter
from crsagent.agent.settings import Settings
from crsagent.agent.testing import ScriptedChatModel, tool_call_message


class Needs(BaseModel):
    """The user's needs."""

    genres: list[str] = Field(default_factory=list, max_length=3)
    dialogue_act: Literal["recommend", "ask"]


MSGS = [SystemMessage("extract"), HumanMessage("a scary film please")]


def test_response_format_carries_the_schema_and_description():
    fmt = response_format_for(Needs)
    assert fmt["type"] == "json_schema"
    spec = fmt["json_schema"]
    assert spec["name"] == "Needs" and spec["description"] == "The user's needs."
    assert spec["schema"]["properties"]["dialogue_act"]["enum"] == ["recommend", "ask"]
    assert spec["schema"]["required"] == ["dialogue_act"]


def test_valid_answer_first_time():
    model = ScriptedChatModel(['{"genres": ["Horror"], "dialogue_act": "recommend"}'])
    meter = UsageMeter()
    out = invoke_structured(model, MSGS, Needs, usage=meter)
    assert out == Needs(genres=["Horror"], dialogue_act="recommend")
    assert meter.calls == 1 and meter.invalid_outputs == 0 and meter.total_tokens == 15
    assert model.requests[0].response_format == response_format_for(Needs)
    model.assert_exhausted()


def test_invalid_then_repaired_shows_the_model_its_error():
    model = ScriptedChatModel(['{"genres": ["Horror"], "dialogue_act": "maybe"}', '{"dialogue_act": "ask"}'])
    meter = UsageMeter()
    out = invoke_structured(model, MSGS, Needs, usage=meter)
    assert out.dialogue_act == "ask"
    repair = model.requests[1].messages
    assert repair[: len(MSGS)] == MSGS
    assert '"maybe"' in repair[-2].content  # its own bad answer
    assert "dialogue_act" in repair[-1].content and "invalid" in repair[-1].content
    assert meter.calls == 2 and meter.invalid_outputs == 1


def test_two_invalid_answers_raise_output_error_after_one_repair():
    model = ScriptedChatModel(["not json at all", '{"genres": "Horror"}', '{"dialogue_act": "ask"}'])
    with pytest.raises(LLMOutputError, match="after 1 repair"):
        invoke_structured(model, MSGS, Needs)
    assert model.remaining == 1  # bounded: the third answer was never asked for


def test_empty_answer_is_an_output_error():
    model = ScriptedChatModel(["", "  "])
    with pytest.raises(LLMOutputError, match="empty"):
        invoke_structured(model, MSGS, Needs)


def test_server_failure_is_not_retried_as_a_repair():
    model = ScriptedChatModel([LLMUnavailableError("down"), '{"dialogue_act": "ask"}'])
    with pytest.raises(LLMUnavailableError):
        invoke_structured(model, MSGS, Needs)
    assert model.remaining == 1


def test_tool_call_method_forces_the_schema_tool_and_repairs_with_a_tool_error():
    model = ScriptedChatModel([{"genres": ["x", "y", "z", "w"], "dialogue_act": "ask"}, {"dialogue_act": "recommend"}])
    out = invoke_structured(model, MSGS, Needs, method="tool_call")
    assert out.dialogue_act == "recommend"
    first = model.requests[0]
    assert first.forced_tool == "Needs" and first.response_format is None
    follow = model.requests[1].messages
    assert isinstance(follow[-1], ToolMessage) and follow[-1].status == "error"
    assert follow[-1].tool_call_id == follow[-2].tool_calls[0]["id"]


def test_tool_call_method_without_a_call_is_an_output_error():
    model = ScriptedChatModel(["I would search for horror", tool_call_message("Other", {"a": 1})])
    with pytest.raises(LLMOutputError, match="expected a call of tool 'Needs'"):
        invoke_structured(model, MSGS, Needs, method="tool_call")


def test_profile_decides_the_method():
    prof = profile_for("SmolLM2-135M-Instruct").model_copy(update={"structured_method": "tool_call"})
    model = ScriptedChatModel([{"dialogue_act": "ask"}])
    assert invoke_structured(model, MSGS, Needs, prof).dialogue_act == "ask"
    assert model.requests[0].forced_tool == "Needs"


def test_async_path_repairs_too():
    model = ScriptedChatModel(["{", '{"dialogue_act": "ask"}'])
    out = asyncio.run(ainvoke_structured(model, MSGS, Needs))
    assert out.dialogue_act == "ask" and len(model.requests) == 2


def _schema_reply(stub, content, finish="stop"):
    return ("json", stub.completion(content, finish=finish))


def test_over_http_sends_json_schema_and_repairs(stub_llm):
    stub_llm.replies = [
        _schema_reply(stub_llm, '{"dialogue_act": "nope"}'),
        _schema_reply(stub_llm, '{"dialogue_act": "ask"}'),
    ]
    meter = UsageMeter()
    with allow_real_llm():
        model = make_chat_model(Settings(llm_base_url=stub_llm.base_url, llm_model="SmolLM2-135M-Instruct"))
        out = invoke_structured(model, MSGS, Needs, usage=meter)
    assert out.dialogue_act == "ask"
    sent = stub_llm.requests[0]
    assert sent["response_format"]["type"] == "json_schema"
    assert sent["response_format"]["json_schema"]["schema"]["required"] == ["dialogue_act"]
    assert sent["max_completion_tokens"] == 256 and sent["temperature"] == 0.0  # SmolLM2 profile
    assert sent["repetition_penalty"] == 1.2  # the profile's extra_body reaches the server
    assert stub_llm.requests[1]["messages"][-1]["role"] == "user"
    assert meter.as_dict() == {"calls": 2, "failed_calls": 0, "prompt_tokens": 22, "completion_tokens": 14,
                               "total_tokens": 36, "invalid_outputs": 1, "tool_calls": 0}  # fmt: skip


def test_over_http_cut_off_answers_end_in_output_error(stub_llm):
    stub_llm.default = _schema_reply(stub_llm, '{"genres": ["Hor', finish="length")
    with allow_real_llm():
        model = make_chat_model(Settings(llm_base_url=stub_llm.base_url, llm_model="m", llm_max_retries=0))
        with pytest.raises(LLMOutputError):
            invoke_structured(model, MSGS, Needs)
    assert len(stub_llm.requests) == 2  # the answer and one repair, nothing more


def test_over_http_forced_tool_call(stub_llm):
    stub_llm.default = (
        "json",
        stub_llm.completion(None, tool_calls=[{"name": "Needs", "args": {"dialogue_act": "ask"}}]),
    )
    with allow_real_llm():
        model = make_chat_model(Settings(llm_base_url=stub_llm.base_url, llm_model="m"))
        out = invoke_structured(model, MSGS, Needs, method="tool_call")
    assert out.dialogue_act == "ask"
    sent = stub_llm.requests[0]
    assert sent["tool_choice"] == {"type": "function", "function": {"name": "Needs"}}
    assert sent["tools"][0]["function"]["name"] == "Needs"
    assert json.dumps(sent["tools"][0]["function"]["parameters"]).count("dialogue_act") >= 1
