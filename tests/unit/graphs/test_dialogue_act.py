"""The dialogue act (what a user message does) is its own word, apart from the latent intent."""

from __future__ import annotations

from typing import Any

from langchain_core.messages import HumanMessage
from langgraph.checkpoint.memory import InMemorySaver

from crsagent.agent.settings import Settings
from crsagent.graphs.builder import build_crs_graph
from crsagent.graphs.context import CRSContext
from crsagent.graphs.dialogue.cues import DIALOGUE_ACTS, detect_act
from crsagent.graphs.runner import CRSAgent
from crsagent.graphs.state import CRSState


def test_the_state_and_the_turn_result_call_it_dialogue_act(tmp_path: Any, fakes: Any) -> None:
    assert "dialogue_act" in CRSState.__annotations__ and "intent" not in CRSState.__annotations__
    assert detect_act("not that one", has_recent_recs=True) == ("reject", True)
    agent = CRSAgent.create(Settings(home=tmp_path / "home"), variant="crs-only", toolkit=fakes.make_toolkit())
    try:
        r1 = agent.turn("I loved The Babadook, something after 2010", thread_id="t")
        r2 = agent.turn("Not that one, I've seen it.", thread_id="t")
    finally:
        agent.close()
    assert r1.belief["dialogue_act"] in DIALOGUE_ACTS and r2.belief["dialogue_act"] == "reject"
    assert "intent" not in r2.belief


def test_a_checkpoint_written_with_the_old_intent_channel_still_loads(fakes: Any) -> None:
    saver = InMemorySaver()
    graph = build_crs_graph("crs-only").compile(checkpointer=saver)
    cfg: Any = {"configurable": {"thread_id": "old"}}
    ctx = CRSContext(toolkit=fakes.make_toolkit())
    graph.invoke({"messages": [HumanMessage(content="I loved The Babadook, something after 2010")]}, cfg, context=ctx)
    # rewrite the latest checkpoint as an older release wrote it: the act under "intent"
    saved = saver.get_tuple(cfg)
    assert saved is not None
    checkpoint = saved.checkpoint
    values, versions = checkpoint["channel_values"], checkpoint["channel_versions"]
    values["intent"] = values.pop("dialogue_act")
    versions["intent"] = versions.pop("dialogue_act")
    saver.put(saved.config, checkpoint, saved.metadata, dict(versions))
    loaded = graph.get_state(cfg).values
    assert "dialogue_act" not in loaded and "intent" not in loaded and loaded["messages"]
    out = graph.invoke({"messages": [HumanMessage(content="Not that one, I've seen it.")]}, cfg, context=ctx)
    assert out["dialogue_act"] == "reject" and out["belief"]["rejected"]
