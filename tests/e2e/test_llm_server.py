"""The seam against the real vLLM server serving the bundled SmolLM2-135M-Instruct."""

from __future__ import annotations

import asyncio
import time

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage

from crsagent.agent.errors import LLMUnavailableError
from crsagent.agent.llm.calls import invoke_chat
from crsagent.agent.llm.client import make_chat_model
from crsagent.agent.llm.probe import MovieNeeds, SearchCatalog
from crsagent.agent.llm.structured import ainvoke_structured, invoke_structured
from crsagent.agent.llm.usage import UsageMeter

pytestmark = pytest.mark.e2e

PROMPTS = [
    "I loved Alien and The Thing. Something scary and sci-fi, from after 1990 please.",
    "Any good romantic comedies? I liked Notting Hill.",
    "hello there, how are you?",
]


def _chat(llm_settings, **kw):
    return make_chat_model(llm_settings, forbid_default=False, **kw)


def test_server_serves_the_bundled_model(vllm_server):
    from crsagent.agent.llm.lora import TUNED_MODEL_NAME, bundled_adapter_dir

    base_url, model = vllm_server
    assert base_url.startswith("http://127.0.0.1:") and base_url.endswith("/v1")
    shipped = (bundled_adapter_dir() / "adapter_config.json").is_file()
    assert model == (TUNED_MODEL_NAME if shipped else "smollm2-135m-instruct")  # the tuned model is the default


@pytest.mark.parametrize("prompt", PROMPTS)
def test_json_schema_output_is_valid(llm_settings, prompt):
    # The base model, served beside the tuned one: the tuned adapter is trained for the agent loop
    # only, and its guided JSON needed one repair on one of these prompts (docs/tuning.md).
    from dataclasses import replace

    from crsagent.agent.llm.weights import BUNDLED_MODEL_NAME

    base = replace(llm_settings, llm_model=BUNDLED_MODEL_NAME)
    meter = UsageMeter()
    out = invoke_structured(_chat(base), [SystemMessage("Extract the user's needs."), HumanMessage(prompt)],
                            MovieNeeds, usage=meter)  # fmt: skip
    assert isinstance(out, MovieNeeds) and out.dialogue_act in ("recommend", "ask", "chitchat")
    assert meter.invalid_outputs == 0  # guided decoding: valid the first time
    assert meter.prompt_tokens > 20 and meter.completion_tokens > 0


def test_forced_named_tool_call_is_valid_without_repair(llm_settings):
    chat = _chat(llm_settings).bind_tools([SearchCatalog], tool_choice="SearchCatalog")
    for prompt in PROMPTS:
        msg = invoke_chat(chat, [HumanMessage(prompt)])
        assert msg.invalid_tool_calls == []
        assert [c["name"] for c in msg.tool_calls] == ["SearchCatalog"]
        args = SearchCatalog.model_validate(msg.tool_calls[0]["args"])  # arguments follow the schema
        assert 1 <= len(args.query) <= 80 and 1 <= args.k <= 50


def test_structured_output_through_the_tool_call_method(llm_settings):
    out = invoke_structured(_chat(llm_settings), [HumanMessage(PROMPTS[0])], SearchCatalog, method="tool_call")
    assert isinstance(out, SearchCatalog)


def test_auto_tool_choice_is_enabled_and_tool_results_render(llm_settings):
    chat = _chat(llm_settings, max_tokens=48)
    auto = invoke_chat(chat.bind_tools([SearchCatalog], tool_choice="auto"), [HumanMessage("Find me space movies.")])
    assert isinstance(auto, AIMessage) and (auto.content or auto.tool_calls)
    # a conversation with an assistant tool call (content null) and its result renders and answers
    call = AIMessage(
        content="", tool_calls=[{"name": "SearchCatalog", "args": {"query": "space", "k": 3}, "id": "call_1"}]
    )
    history = [
        HumanMessage("Find me space movies."),
        call,
        ToolMessage("Interstellar (2014); Gravity (2013)", tool_call_id="call_1"),
    ]
    reply = invoke_chat(chat.bind_tools([SearchCatalog]), history)
    assert isinstance(reply, AIMessage) and (reply.text.strip() or reply.tool_calls)


def test_concurrent_async_structured_requests(llm_settings):
    chat = _chat(llm_settings)

    async def run() -> list[MovieNeeds]:
        return await asyncio.gather(*(ainvoke_structured(chat, [HumanMessage(p)], MovieNeeds) for p in PROMPTS))

    results = asyncio.run(run())
    assert [type(r) for r in results] == [MovieNeeds] * len(PROMPTS)


def test_streaming_yields_chunks_and_usage(llm_settings):
    chunks = list(_chat(llm_settings, max_tokens=12).stream([HumanMessage("Count from one to ten.")]))
    assert len(chunks) > 2
    total = chunks[0]
    for chunk in chunks[1:]:
        total = total + chunk
    assert total.usage_metadata and total.usage_metadata["output_tokens"] > 0


def test_tiny_timeout_fails_fast_with_bounded_retries(llm_settings):
    chat = _chat(llm_settings, timeout_s=0.05, max_retries=1, max_tokens=200)
    started = time.monotonic()
    with pytest.raises(LLMUnavailableError, match="timed out"):
        invoke_chat(chat, [HumanMessage("Write a long story about a dragon.")])
    assert time.monotonic() - started < 3.0
