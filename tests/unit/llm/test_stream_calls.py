"""Streamed chat calls: chunks as they arrive, an early stop, typed failures, usage."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import openai
import pytest
from langchain_core.messages import HumanMessage

from crsagent.agent.errors import LLMUnavailableError
from crsagent.agent.llm.stream_calls import astream_chat, stream_chat
from crsagent.agent.llm.usage import UsageMeter
from crsagent.agent.testing import FunctionChatModel, ScriptedChatModel, tool_call_message

ASK = [HumanMessage(content="hi")]


def test_chunks_arrive_one_word_at_a_time_and_merge_into_the_answer() -> None:
    seen: list[str] = []
    meter = UsageMeter()

    def on_chunk(c: Any) -> bool:
        seen.append(c.text)
        return True

    answer = stream_chat(ScriptedChatModel(["One two three."]), ASK, on_chunk=on_chunk, usage=meter)
    assert [s for s in seen if s] == ["One ", "two ", "three."] and answer.text == "One two three."
    assert meter.as_dict()["calls"] == 1 and meter.as_dict()["total_tokens"] == 15


def test_an_early_stop_returns_what_came_and_closes_the_stream() -> None:
    llm = ScriptedChatModel(["One two three four."])
    answer = stream_chat(llm, ASK, on_chunk=lambda c: "two" not in c.text)
    assert answer.text == "One two " and llm.stream_ends == []  # the fake never produced its last chunk


def test_tool_calls_stream_whole() -> None:
    answer = asyncio.run(
        astream_chat(
            ScriptedChatModel([tool_call_message("recommend", {"k": 2}, call_id="c1")]), ASK, on_chunk=lambda c: True
        )
    )
    assert answer.tool_calls == [{"name": "recommend", "args": {"k": 2}, "id": "c1", "type": "tool_call"}]


def test_a_connection_failure_is_a_typed_error() -> None:
    def down(_request):
        raise openai.APIConnectionError(request=httpx.Request("POST", "http://127.0.0.1:1/v1/chat/completions"))

    meter = UsageMeter()
    with pytest.raises(LLMUnavailableError, match="cannot reach"):
        stream_chat(FunctionChatModel(down), ASK, on_chunk=lambda c: True, usage=meter)
    assert meter.as_dict()["failed_calls"] == 1
