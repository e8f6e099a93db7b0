"""Real token streaming through the API: the official ``openai`` client (sync and async), ``stream=True``.

The API runs the ``agent`` variant over the built movie catalogue, with a fake LLM that streams
one word per 40 ms (``tests/support/streaming_llm.py``): it calls ``recommend``, then names what
came back. The assertions are on order and content, never on durations.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import openai
import pytest

from crsagent.agent.server import ServerConfig, create_app
from crsagent.agent.server.agent_runners import CRSAgentRunners
from crsagent.agent.server.loopback import serve_in_thread
from crsagent.agent.settings import Settings
from crsagent.agent.testing import FunctionChatModel
from crsagent.tests.support.streaming_llm import INVENT, recommender_llm

ASK = "Hi! I loved The Babadook and It Follows. Any other horror films?"
MODEL = "crsagent:agent"


@pytest.fixture(scope="module")
def llm() -> FunctionChatModel:
    return recommender_llm(token_latency_s=0.04)


@pytest.fixture(scope="module")
def base_url(movies_home: Settings, llm: FunctionChatModel, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("streaming")
    runners = CRSAgentRunners(movies_home, "movies", llm=llm, checkpoint_url=f"sqlite://{folder}")
    with serve_in_thread(create_app(runners, ServerConfig())) as url:
        yield f"{url}/v1"


def _read(chunks: list) -> dict:
    """Content, progress, the final chunk and usage of a stream, with arrival times."""
    out: dict = {"content": [], "progress": [], "final": None, "usage": None, "first_content_at": None, "order": []}
    for at, chunk in chunks:
        if chunk.usage is not None and not chunk.choices:
            out["usage"] = chunk.usage
            out["order"].append("usage")
            continue
        choice = chunk.choices[0]
        if (chunk.model_extra or {}).get("progress"):
            out["progress"].append(chunk.model_extra["progress"])
            out["order"].append("progress")
        if choice.delta.content:
            out["content"].append(choice.delta.content)
            out["first_content_at"] = out["first_content_at"] or at
            out["order"].append("content")
        if choice.finish_reason:
            out["final"] = chunk
            out["order"].append("final")
    return out


def _check_stream(seen: dict, plain: openai.types.chat.ChatCompletion, ends: list[float]) -> None:
    text = "".join(seen["content"])
    assert len(seen["content"]) > 1
    assert text == plain.choices[0].message.content and text.strip()
    assert seen["progress"] and seen["progress"][0] == {"type": "tool", "name": "recommend"}
    assert seen["order"].index("progress") < seen["order"].index("content") < seen["order"].index("final")
    recs = seen["final"].choices[0].delta.model_extra["recommendations"]
    assert [r["item_id"] for r in recs] == [
        r["item_id"] for r in plain.choices[0].message.model_extra["recommendations"]
    ]
    assert seen["final"].model_extra["crsagent"]["fallback"] is False
    assert seen["usage"] is not None and seen["usage"].total_tokens > 0
    # the first words reached the client while the LLM was still generating the reply
    assert len(ends) == 2 and seen["first_content_at"] < ends[-1]  # the recommend call, then the reply


def test_sync_client_streams_tokens_before_the_llm_finishes(base_url: str, llm: FunctionChatModel) -> None:
    client = openai.OpenAI(base_url=base_url, api_key="unused", max_retries=0, timeout=120)
    before = len(llm.stream_ends)
    stream = client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": ASK}],
        stream=True,
        stream_options={"include_usage": True},
        extra_headers={"X-Session-Id": "stream-sync-1"},
    )
    chunks = [(time.monotonic(), c) for c in stream]
    ends = llm.stream_ends[before:]
    plain = client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": ASK}], extra_headers={"X-Session-Id": "stream-sync-2"}
    )
    _check_stream(_read(chunks), plain, ends)


def test_async_client_streams_tokens_before_the_llm_finishes(base_url: str, llm: FunctionChatModel) -> None:
    async def run() -> tuple[list, list[float], openai.types.chat.ChatCompletion]:
        client = openai.AsyncOpenAI(base_url=base_url, api_key="unused", max_retries=0, timeout=120)
        before = len(llm.stream_ends)
        stream = await client.chat.completions.create(
            model=MODEL,
            messages=[{"role": "user", "content": ASK}],
            stream=True,
            stream_options={"include_usage": True},
        )
        chunks = [(time.monotonic(), c) async for c in stream]
        ends = llm.stream_ends[before:]
        plain = await client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": ASK}])
        await client.close()
        return chunks, ends, plain

    chunks, ends, plain = asyncio.run(run())
    _check_stream(_read(chunks), plain, ends)


def test_a_sentence_the_guard_refuses_is_in_no_chunk(base_url: str) -> None:
    client = openai.OpenAI(base_url=base_url, api_key="unused", max_retries=0, timeout=120)
    ask = f"{ASK} ({INVENT})"
    chunks = list(client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": ask}], stream=True))
    deltas = [c.choices[0].delta.content or "" for c in chunks if c.choices]
    assert deltas and not any("Zorblax" in d or "Returns" in d for d in deltas)
    plain = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": ask}])
    text = "".join(deltas)
    assert text == plain.choices[0].message.content and "Zorblax" not in text
    assert text.startswith("You might enjoy") and "another good pick" not in text  # the reply ends before it
    final = next(c for c in chunks if c.choices and c.choices[0].finish_reason)
    assert final.model_extra["crsagent"]["fallback"] is False
