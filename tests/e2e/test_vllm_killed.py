"""A real vLLM server SIGKILLed mid-conversation: the agent keeps answering, degraded, in bounded time.

The test starts its own vLLM (the bundled SmolLM2 on the CPU build, like the session's
``vllm_server``, which other tests keep using) because it kills it: the whole process group,
engine workers included, with SIGKILL. The first turn is answered with the real LLM; the turns
after the kill come from the deterministic crs-only path, flagged ``degraded``, within the time
the timeout and retries allow, and the thread keeps every turn.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from dataclasses import replace

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.store.memory import InMemoryStore

from crsagent.agent.llm.client import make_chat_model
from crsagent.agent.llm.server import LLMServer, LLMServerConfig
from crsagent.agent.settings import Settings
from crsagent.graphs.runner import CRSAgent
from crsagent.tools.toolkit import Toolkit

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

OPENER = "Hi! I loved The Babadook and It Follows. Any other horror films?"
TIMEOUT_S, RETRIES = 300.0, 1


def test_vllm_killed_mid_conversation(movies_home: Settings) -> None:
    toolkit = Toolkit.load(movies_home, "movies", eager=True)

    def say(msg: str) -> None:
        print(f"[vllm-killed] {msg}", file=sys.stderr, flush=True)

    with LLMServer(movies_home.home, LLMServerConfig(port=0), ready_timeout_s=900, log=say) as server:
        llm_settings = replace(
            movies_home,
            llm_base_url=server.base_url,
            llm_model=server.model_name,
            llm_timeout_s=TIMEOUT_S,
            llm_max_retries=RETRIES,
        )
        agent = CRSAgent.create(
            llm_settings,
            variant="full",
            llm=make_chat_model(llm_settings, forbid_default=False),
            toolkit=toolkit,
            checkpointer=InMemorySaver(),
            store=InMemoryStore(),
        )
        live = agent.turn(OPENER, thread_id="vk", user_id="vk-user")
        assert live.usage.llm_calls >= 1 and live.usage.completion_tokens > 0  # vLLM answered
        assert live.reply.strip()
        os.killpg(server.process.pid, signal.SIGKILL)  # the server and its engine workers
        server.process.wait(timeout=60)
        for text in ("Something from after 2010 please.", "Great, anything else like that?"):
            t0 = time.monotonic()
            dead = agent.turn(text, thread_id="vk", user_id="vk-user")
            wall = time.monotonic() - t0
            assert dead.degraded is True and dead.usage.total_tokens == 0
            assert dead.reply.strip() and dead.recommendations
            assert all(toolkit.has(r.item_id) for r in dead.recommendations)
            assert wall < 60.0  # connection refused: no timeout to wait out, retries bounded
    state = agent.graph.get_state({"configurable": {"thread_id": "vk"}}).values
    assert sum(m.type == "human" for m in state["messages"]) == 3
