"""Each variant's wiring (mermaid snapshots) and which steps call the LLM."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import HumanMessage
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.memory import InMemorySaver

from crsagent.agent.errors import ConfigError, LLMUnavailableError
from crsagent.agent.testing import (
    FunctionChatModel,
    InstantChatModel,
    ScriptedChatModel,
)
from crsagent.agent.turns import VARIANTS
from crsagent.graphs.builder import build_crs_graph
from crsagent.graphs.context import CRSContext
from crsagent.graphs.variants import VARIANT_SPECS, get_variant

SNAPSHOTS = Path(__file__).parent / "snapshots"


@pytest.mark.parametrize("variant", VARIANTS)
def test_mermaid_snapshot(variant: str) -> None:
    drawing = build_crs_graph(variant).compile().get_graph().draw_mermaid()
    path = SNAPSHOTS / f"{variant}.mmd"
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        path.write_text(drawing)
    assert path.exists(), f"no snapshot for {variant}; run with UPDATE_SNAPSHOTS=1"
    assert drawing == path.read_text(), f"graph wiring of {variant} changed; review, then UPDATE_SNAPSHOTS=1"


def test_variant_names_match_the_contract() -> None:
    assert tuple(VARIANT_SPECS) == VARIANTS
    with pytest.raises(ConfigError):
        get_variant("crs-only-please")
    assert {"tool_agent", "tools"} <= set(build_crs_graph("full").nodes)
    assert "tool_agent" not in build_crs_graph("llm-assists-crs").nodes


def _turns(fakes: Any, variant: str, llm: Any, texts: list[str]) -> list[dict[str, Any]]:
    graph = build_crs_graph(variant).compile(checkpointer=InMemorySaver())
    ctx = CRSContext(toolkit=fakes.make_toolkit(), llm=llm)
    cfg: RunnableConfig = {"configurable": {"thread_id": "t"}}
    return [graph.invoke({"messages": [HumanMessage(content=t)]}, cfg, context=ctx) for t in texts]


DIALOGUE = [
    "Hi!",
    "I loved The Babadook, something after 2010",
    "Not that one, I've seen it.",
    "Why would I like the first one?",
]


def test_crs_only_never_calls_an_llm(fakes: Any) -> None:
    llm = ScriptedChatModel([])  # raises on any call
    states = _turns(fakes, "crs-only", llm, DIALOGUE)
    assert not llm.requests
    assert [s["action"] for s in states] == ["elicit", "recommend", "recommend", "explain"]
    assert all(s["usage"]["llm_calls"] == 0 for s in states)


@pytest.mark.parametrize(
    ("variant", "calls"),
    # turn 1 elicits (no tool step); the explain turn's forced get_items gets minimal (bad) ids from the
    # instant model, so crs-assists-llm, which has a call to spare, lets the LLM retry once
    [
        ("llm-assists-crs", [1, 1, 1, 1]),
        ("crs-assists-llm", [1, 2, 2, 3]),
        ("full", [2, 3, 3, 3]),
        ("llm-only", [1, 1, 1, 1]),
    ],
)
def test_llm_calls_per_turn(fakes: Any, variant: str, calls: list[int]) -> None:
    llm = InstantChatModel()
    states = _turns(fakes, variant, llm, DIALOGUE)
    assert [s["usage"]["llm_calls"] for s in states] == calls
    assert all(s["usage"]["llm_calls"] <= 3 for s in states)
    assert all(s["messages"][-1].content.strip() for s in states)


def test_llm_only_recommends_linked_titles_from_its_own_knowledge(fakes: Any) -> None:
    def fn(req: Any) -> str:
        return "1. Hereditary (2018) - creepy.\n2. The Shining (1980) - a classic.\n3. Some Unknown Film (2020)."

    states = _turns(fakes, "llm-only", FunctionChatModel(fn), ["I loved The Babadook, give me something after 2010"])
    recs = [r["item_id"] for r in states[0]["recommendations"]]
    assert recs == [fakes.HEREDITARY]  # The Shining breaks the year constraint; the unknown film does not link
    assert [c["item_id"] for c in states[0]["candidates"]] == [fakes.HEREDITARY]


def test_a_failing_llm_never_crashes_a_turn(fakes: Any) -> None:
    for variant in ("full", "llm-only", "crs-assists-llm", "llm-assists-crs"):
        llm = FunctionChatModel(lambda req: LLMUnavailableError("server down"))
        states = _turns(fakes, variant, llm, DIALOGUE[1:3])
        for s in states:
            assert s["usage"]["degraded"], variant
            assert s["messages"][-1].content.strip()
            assert s["recommendations"], variant  # the deterministic path recommended


def test_empty_or_garbage_llm_output_falls_back(fakes: Any) -> None:
    llm = FunctionChatModel(lambda req: "" if req.json_schema is None else "{not json")
    s = _turns(fakes, "full", llm, ["I loved The Babadook"])[0]
    assert s["usage"]["degraded"] and s["recommendations"]
    assert s["messages"][-1].content.startswith("Here are some suggestions")
