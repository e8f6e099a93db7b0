"""Streaming on the real vLLM server (bundled model): the token stream reaches the agent, and a
streamed API turn arrives in several content chunks, the first before the end, and the server's
prompt-lookup speculative decoding accepted some of its proposals.

The untuned model rarely carries a turn, so the reply is often the fallback's, sent when the
turn ends; the test checks what holds either way and records which path the turn took.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import openai
import pytest
from langchain_core.messages import HumanMessage

from crsagent.agent.llm.client import make_chat_model
from crsagent.agent.llm.stream_calls import stream_chat
from crsagent.agent.llm.usage import UsageMeter
from crsagent.agent.server import ServerConfig, create_app
from crsagent.agent.server.agent_runners import CRSAgentRunners
from crsagent.agent.server.loopback import serve_in_thread
from crsagent.agent.settings import Settings
from crsagent.evals.bench.vllm_metrics import read_cache_counters, speculation_delta

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def api(llm_settings: Settings, movies_home: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("e2e-stream")
    runners = CRSAgentRunners(llm_settings, "movies", checkpoint_url=f"sqlite://{folder}")
    with serve_in_thread(create_app(runners, ServerConfig(default_variant="agent"))) as url:
        yield f"{url}/v1"


def test_vllm_token_stream_reaches_the_agents_call(llm_settings: Settings) -> None:
    chunks: list[str] = []
    meter = UsageMeter()

    def on_chunk(c: Any) -> bool:
        chunks.append(c.text)
        return True

    answer = stream_chat(
        make_chat_model(llm_settings),
        [HumanMessage(content="Name three famous horror films.")],
        on_chunk=on_chunk,
        usage=meter,
    )
    assert len([c for c in chunks if c]) > 1 and "".join(chunks) == answer.text
    assert meter.as_dict()["completion_tokens"] > 0  # usage came with the stream


def test_a_streamed_turn_on_the_bundled_model(api: str, llm_settings: Settings) -> None:
    assert llm_settings.llm_base_url
    before = read_cache_counters(llm_settings.llm_base_url)
    client = openai.OpenAI(base_url=api, api_key="unused", max_retries=0, timeout=600)
    stream = client.chat.completions.create(
        model="crsagent",
        stream=True,
        stream_options={"include_usage": True},
        messages=[{"role": "user", "content": "Hi! I loved The Babadook. Can you recommend a horror movie?"}],
        extra_headers={"X-Session-Id": "e2e-stream-1"},
    )
    arrivals = [(time.monotonic(), c) for c in stream]
    content = [(at, c.choices[0].delta.content) for at, c in arrivals if c.choices and c.choices[0].delta.content]
    final = [(at, c) for at, c in arrivals if c.choices and c.choices[0].finish_reason]
    assert len(content) > 1 and len(final) == 1
    assert content[0][0] < final[0][0]  # the first words came before the end of the answer
    spec = speculation_delta(before, read_cache_counters(llm_settings.llm_base_url))
    assert spec is not None and spec["accepted_tokens"] > 0  # the CPU server speculates by prompt lookup, and it pays
    info = final[0][1].model_extra["crsagent"]
    assert info["variant"] == "agent" and "".join(t for _, t in content).strip()
    print(
        f"fallback={info['fallback']} reason={info['fallback_reason']} chunks={len(content)} "
        f"ttft_to_end_s={final[0][0] - content[0][0]:.2f}"
    )
