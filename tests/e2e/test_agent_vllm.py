"""The ``agent`` variant on the real vLLM server with the bundled (untuned) model: three turns.

The base model cannot be expected to carry a turn; what must hold is the loop's contract, read
from the trace: each turn either carries the LLM's own answers (the server's parsed tool calls
or its text), or records a fallback with a known reason, and no turn crashes or exceeds the
LLM-call budget. Quality is the tuning issue's business.
"""

from __future__ import annotations

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.store.memory import InMemoryStore

from crsagent.agent.llm.client import make_chat_model
from crsagent.agent.settings import Settings
from crsagent.agent.turns import FALLBACK_REASONS
from crsagent.graphs.runner import CRSAgent
from crsagent.tools.toolkit import Toolkit

pytestmark = pytest.mark.e2e


def test_agent_variant_three_turns_on_the_bundled_model(llm_settings: Settings, movies_home: Settings) -> None:
    toolkit = Toolkit.load(movies_home, "movies", eager=True)
    agent = CRSAgent.create(
        llm_settings,
        variant="agent",
        toolkit=toolkit,
        llm=make_chat_model(llm_settings),
        checkpointer=InMemorySaver(),
        store=InMemoryStore(),
    )
    script = [
        "Hi! I loved The Babadook, can you recommend a horror movie from after 2010?",
        "Not that one, I've seen it.",
        "Who directed it?",
    ]
    for text in script:
        r = agent.turn(text, thread_id="e2e-agent", user_id="e2e-agent-user")
        assert r.reply.strip()
        assert 1 <= r.usage.llm_calls <= 3  # the LLM was asked, within the default budget
        llm_entries = [e for e in r.trace if e["type"] == "llm"]
        assert llm_entries, "the agent node made no LLM request"
        if r.fallback:
            assert r.fallback_reason in FALLBACK_REASONS and r.degraded
            assert any("agent: fallback" in n for n in r.notes)
        else:
            # the LLM carried the turn: its answers are in the trace, the last one is the reply's source
            assert r.fallback_reason is None and not llm_entries[-1]["tool_calls"]
        for e in llm_entries:  # every call the server parsed was checked against the offered tools
            for call in e["tool_calls"]:
                assert isinstance(call["valid"], bool) and call["name"]
