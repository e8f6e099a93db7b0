"""``explain_items`` inside the ``agent`` graph reads the user's evidence from the graph state.

The tool gets it through LangGraph's ``ToolRuntime`` injection (no ``configurable`` key): a reason
for an item names the movie the user said they loved in the same turn.
"""

from __future__ import annotations

import json
from typing import Any

from langchain_core.messages import ToolMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.store.memory import InMemoryStore

from crsagent.agent.settings import Settings
from crsagent.agent.testing import FakeRequest, ScriptedChatModel, tool_call_message
from crsagent.graphs.runner import CRSAgent
from crsagent.tools.toolkit import Toolkit

IT_FOLLOWS = "tt3235888"


def test_the_explainer_sees_the_belief_of_this_turn(movies_home: Settings, movies_toolkit: Toolkit) -> None:
    seen: list[dict[str, Any]] = []

    def reply(request: FakeRequest) -> str:
        result = next(m for m in reversed(request.messages) if isinstance(m, ToolMessage))
        assert result.name == "explain_items" and result.status == "success"
        seen.extend(json.loads(result.text)["explanations"])
        return "It Follows (2014) is a fine pick."

    script: list[Any] = [
        tool_call_message("explain_items", {"item_ids": [IT_FOLLOWS], "kind": "purchase_reason"}, call_id="e1"),
        reply,
    ]
    agent = CRSAgent.create(
        movies_home,
        variant="agent",
        llm=ScriptedChatModel(script),
        toolkit=movies_toolkit,
        checkpointer=InMemorySaver(),
        store=InMemoryStore(),
    )
    agent.turn("I loved The Babadook (2014). Why would I like It Follows?", thread_id="t")
    (why,) = seen
    assert why["item_id"] == IT_FOLLOWS
    assert "Babadook" in why["text"]  # the liked movie came from the state's belief
