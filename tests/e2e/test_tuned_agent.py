"""The tuned bundled model drives the ``agent`` loop on the real vLLM server (issue 15).

A scripted 4-turn conversation at temperature 0. Read from each turn's trace: at least three
turns are the LLM's own (no fallback); at least one turn's recommendations come from a
``recommend`` call that the LLM emitted and vLLM's tool parser returned; an item the user turned
down is never recommended again.
"""

from __future__ import annotations

import pytest
from crsagent.agent.llm.client import make_chat_model
from crsagent.agent.llm.lora import TUNED_MODEL_NAME
from crsagent.agent.settings import Settings
from crsagent.graphs.runner import CRSAgent
from crsagent.tools.toolkit import Toolkit
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.store.memory import InMemoryStore

pytestmark = pytest.mark.e2e

SCRIPT = [
    "Hi! I loved The Conjuring. Can you recommend a horror movie?",
    "Not the first one, I've seen it. Something else?",
    "I also like science fiction. Any ideas?",
    "Great, thanks! One more suggestion please.",
]


def test_the_tuned_model_carries_a_conversation_through_tool_calls(llm_settings: Settings, movies_home: Settings) -> None:
    assert llm_settings.llm_model == TUNED_MODEL_NAME, "the bundled server should default to the tuned model"
    toolkit = Toolkit.load(movies_home, "movies", eager=True)
    llm = make_chat_model(llm_settings)  # the smollm profile samples at temperature 0
    agent = CRSAgent.create(llm_settings, variant="agent", toolkit=toolkit, llm=llm,
                            checkpointer=InMemorySaver(), store=InMemoryStore())
    results = [agent.turn(text, thread_id="e2e-tuned", user_id="e2e-tuned-user") for text in SCRIPT]
    carried = [r for r in results if not r.fallback]
    assert len(carried) >= 3, [(r.fallback_reason, r.reply[:120]) for r in results]

    from_llm_calls = 0
    for r in carried:
        calls = [c for e in r.trace if e["type"] == "llm" for c in e.get("tool_calls") or []]
        returned = [e for e in r.trace if e["type"] == "tool" and e["name"] == "recommend" and e["status"] != "error"]
        if r.recommendations and any(c["name"] == "recommend" for c in calls) and returned:
            shown = " ".join(e["content"] for e in returned)
            assert all(rec.item_id in shown for rec in r.recommendations)  # named items came from the tool's result
            from_llm_calls += 1
    assert from_llm_calls >= 1, [r.trace for r in results]

    rejected = results[1].belief.get("rejected") or []
    assert rejected, results[1].belief  # "not the first one" turned an item down
    for r in results[1:]:
        assert not set(rejected) & {rec.item_id for rec in r.recommendations}
