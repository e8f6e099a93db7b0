"""The tuned bundled model drives the ``agent`` loop on the real vLLM server (issue 15).

A scripted 4-turn conversation at temperature 0, read from each turn's trace:

* every turn's first LLM answer is a ``recommend`` call that vLLM's parser returned and the
  schema accepted (the untuned model never calls a tool);
* at least three of the four turns are carried by the LLM (no fallback), and their
  recommendations are items that call returned;
* an item the user turned down is never recommended again.
"""

from __future__ import annotations

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.store.memory import InMemoryStore

from crsagent.agent.llm.client import make_chat_model
from crsagent.agent.llm.lora import TUNED_MODEL_NAME
from crsagent.agent.settings import Settings
from crsagent.graphs.runner import CRSAgent
from crsagent.tools.toolkit import Toolkit

pytestmark = pytest.mark.e2e

SCRIPT = [
    "Hi! I loved The Conjuring. Can you recommend a horror movie?",
    "Not the first one, I've seen it. Something else?",
    "I also like science fiction. Any ideas?",
    "Great, thanks! One more suggestion please.",
]


def test_the_tuned_model_drives_the_turns_through_tool_calls(llm_settings: Settings, movies_home: Settings) -> None:
    assert llm_settings.llm_model == TUNED_MODEL_NAME, "the bundled server should default to the tuned model"
    toolkit = Toolkit.load(movies_home, "movies", eager=True)
    llm = make_chat_model(llm_settings)  # the tuned profile samples at temperature 0, no repetition penalty
    agent = CRSAgent.create(
        llm_settings, variant="agent", toolkit=toolkit, llm=llm, checkpointer=InMemorySaver(), store=InMemoryStore()
    )
    results = [agent.turn(text, thread_id="e2e-tuned", user_id="e2e-tuned-user") for text in SCRIPT]

    for r in results:
        first = next(e for e in r.trace if e["type"] == "llm")
        assert [c["name"] for c in first["tool_calls"]] == ["recommend"], first  # parsed by vLLM's hermes parser
        assert all(c["valid"] for c in first["tool_calls"]) and not first["unparsed"], first
        assert any(e["type"] == "tool" and e["name"] == "recommend" and e["status"] != "error" for e in r.trace)

    carried = [r for r in results if not r.fallback]
    assert len(carried) >= 3, [(r.fallback_reason, r.notes[-1:], r.reply) for r in results]
    for r in carried:
        shown = " ".join(e["content"] for e in r.trace if e["type"] == "tool" and e["name"] == "recommend")
        assert r.recommendations and all(rec.item_id in shown for rec in r.recommendations)

    rejected = results[1].belief.get("rejected") or []
    assert rejected, results[1].belief  # "not the first one" turned an item down
    for r in results[1:]:
        assert not set(rejected) & {rec.item_id for rec in r.recommendations}
