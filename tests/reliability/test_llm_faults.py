"""LLM faults injected into a real process: the agent keeps answering, never hangs, retries a bounded number of times.

The LLM is the stub server in its own process on loopback (``stub_llm``), reached through the
real seam (``make_chat_model``: openai client, timeout, retries). Each fault is switched on in
the running stub; the agent (``full`` variant, every LLM step in play) must answer with the
deterministic crs-only path, flagged ``degraded``, within a bound computed from the configured
timeout and retries, and the stub must have seen no more requests than the budget allows.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.store.memory import InMemoryStore

from crsagent.agent.llm.client import PENDING_MODEL, make_chat_model
from crsagent.agent.server.loopback import free_port
from crsagent.agent.settings import Settings
from crsagent.graphs.context import Budgets
from crsagent.graphs.runner import CRSAgent
from crsagent.tests.reliability.helpers import OPENER, llm_settings
from crsagent.tests.reliability.procs import StubLLMProcess
from crsagent.tools.toolkit import Toolkit

pytestmark = pytest.mark.usefixtures("real_llm_ok")

TIMEOUT_S = 1.0
RETRIES = 1
BUDGET = Budgets()
#: Room for everything but waiting on the LLM (ranking, guard, a busy CI machine).
OVERHEAD_S = 20.0
#: openai's backoff before retry k (0-based) is at most 0.5 * 2**k seconds.
BACKOFF_S = sum(0.5 * 2**k for k in range(RETRIES))
PER_CALL_S = (RETRIES + 1) * TIMEOUT_S + BACKOFF_S
TURN_BOUND_S = BUDGET.llm_calls * PER_CALL_S + OVERHEAD_S


def make_agent(home: Settings, toolkit: Toolkit, base_url: str, *, model: str | None = "stub-model") -> CRSAgent:
    """The ``full`` agent against ``base_url``, with the test's timeout and retries."""
    settings = llm_settings(home, base_url, llm_model=model, llm_timeout_s=TIMEOUT_S, llm_max_retries=RETRIES)
    llm = make_chat_model(settings, forbid_default=False)
    return CRSAgent.create(
        settings,
        variant="full",
        llm=llm,
        toolkit=toolkit,
        checkpointer=InMemorySaver(),
        store=InMemoryStore(),
        budgets=BUDGET,
    )


def timed_turn(agent: CRSAgent, text: str, thread: str) -> tuple[Any, float]:
    t0 = time.monotonic()
    result = agent.turn(text, thread_id=thread, user_id="fault-user")
    return result, time.monotonic() - t0


def assert_crs_answer(result: Any, toolkit: Toolkit) -> None:
    """A usable answer: text, and recommendations that are catalogue items."""
    assert result.reply.strip()
    assert result.recommendations, result.reply
    assert all(toolkit.has(r.item_id) for r in result.recommendations)


def test_healthy_stub_is_not_degraded(movies_home, movies_toolkit, stub):
    """The control: with the stub answering well, the same turn uses the LLM and is not degraded."""
    result, wall = timed_turn(make_agent(movies_home, movies_toolkit, stub.base_url), OPENER, "ok-1")
    assert result.degraded is False, result
    assert result.usage.llm_calls >= 2 and stub.requests == result.usage.llm_calls
    assert_crs_answer(result, movies_toolkit)
    assert wall < TURN_BOUND_S


#: (mode, attempts per LLM call: the openai client retries timeouts, 5xx and dropped connections only)
FAULTS = [
    ("slow", RETRIES + 1),
    ("error_500", RETRIES + 1),
    ("drop", RETRIES + 1),
    ("malformed_json", 1),
    ("malformed_tool_calls", 1),
    ("empty", 1),
]


@pytest.mark.parametrize("mode,attempts", FAULTS, ids=[f[0] for f in FAULTS])
def test_fault_gives_a_degraded_answer_in_bounded_time_and_requests(movies_home, movies_toolkit, stub, mode, attempts):
    stub.control(mode, delay_s=60.0)  # slow: far past the 1 s timeout
    agent = make_agent(movies_home, movies_toolkit, stub.base_url)
    result, wall = timed_turn(agent, OPENER, f"{mode}-1")
    assert result.degraded is True, result.reply
    assert_crs_answer(result, movies_toolkit)
    assert 1 <= result.usage.llm_calls <= BUDGET.llm_calls
    assert stub.requests == result.usage.llm_calls * attempts  # retries bounded and counted
    assert wall < TURN_BOUND_S, f"{mode}: {wall:.1f} s"
    # the conversation goes on: a second turn on the same thread is answered the same way
    again, wall2 = timed_turn(agent, "Something from after 2010 please.", f"{mode}-1")
    assert again.degraded is True and again.reply.strip() and wall2 < TURN_BOUND_S
    state = agent.graph.get_state({"configurable": {"thread_id": f"{mode}-1"}}).values
    assert sum(m.type == "human" for m in state["messages"]) == 2


def test_stub_killed_between_turns_then_back(movies_home, movies_toolkit, stub):
    """SIGKILL the LLM server mid-conversation: degraded turns, history kept; it comes back: not degraded."""
    agent = make_agent(movies_home, movies_toolkit, stub.base_url)
    first, _ = timed_turn(agent, OPENER, "kill-1")
    assert first.degraded is False
    port = stub.port
    stub.kill()
    second, wall = timed_turn(agent, "Something from after 2010 please.", "kill-1")
    assert second.degraded is True and wall < TURN_BOUND_S
    assert_crs_answer(second, movies_toolkit)
    assert second.belief["constraints"].get("year_min") == 2011  # understood without the LLM
    with StubLLMProcess(port=port) as revived:
        third, _ = timed_turn(agent, "Great, anything else like that?", "kill-1")
        assert third.degraded is False and revived.requests == third.usage.llm_calls
    state = agent.graph.get_state({"configurable": {"thread_id": "kill-1"}}).values
    assert [m.text for m in state["messages"] if m.type == "human"] == [
        OPENER,
        "Something from after 2010 please.",
        "Great, anything else like that?",
    ]
    assert {x["item_id"] for x in third.belief["liked"]} >= {x["item_id"] for x in first.belief["liked"]}


def test_llm_down_at_start_without_a_model_name(movies_home, movies_toolkit):
    """Nothing listening when the agent is made (no model name to skip discovery): it is made,
    answers degraded, and uses the LLM once a server comes up on that port."""
    port = free_port()
    agent = make_agent(movies_home, movies_toolkit, f"http://127.0.0.1:{port}/v1", model=None)
    assert agent.llm.model_name == PENDING_MODEL
    down, wall = timed_turn(agent, OPENER, "start-1")
    assert down.degraded is True and wall < TURN_BOUND_S
    assert_crs_answer(down, movies_toolkit)
    with StubLLMProcess(port=port) as late:
        up, _ = timed_turn(agent, "Something from after 2010 please.", "start-1")
        assert up.degraded is False and late.requests == up.usage.llm_calls
    assert agent.llm.model_name == "stub-model"
