"""A streamed ``agent`` turn over the real movie catalogue: a list line goes out at its title.

The catalogue's linker takes the year into a mention ("It Follows (2014)" is one span), unlike
the unit tests' fake linker; the first released text must still stop at the first title.
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
from crsagent.graphs.streaming import ReplyDelta, TurnDone
from crsagent.tools.toolkit import Toolkit


def _reply_from_results(request: FakeRequest) -> str:
    """A list reply over the titles ``recommend`` returned, as the tuned model writes them."""
    result = next(m for m in reversed(request.messages) if isinstance(m, ToolMessage))
    titles = [item["title"] for item in json.loads(result.text)["items"]][:2]
    return f"You might like:\n1. {titles[0]} — a great pick.\n2. {titles[1]} — another one."


def test_the_first_list_line_is_released_at_its_title(movies_home: Settings, movies_toolkit: Toolkit) -> None:
    script: list[Any] = [tool_call_message("recommend", {"k": 3}, call_id="r1"), _reply_from_results]
    agent = CRSAgent.create(
        movies_home,
        variant="agent",
        llm=ScriptedChatModel(script, token_latency_s=0.0),
        toolkit=movies_toolkit,
        checkpointer=InMemorySaver(),
        store=InMemoryStore(),
    )
    events = list(agent.stream_turn("I loved The Babadook (2014), something scary please", thread_id="t"))
    done = events[-1]
    assert isinstance(done, TurnDone) and done.result.fallback is False
    deltas = [e.text for e in events if isinstance(e, ReplyDelta)]
    first = done.result.recommendations[0].item_id
    title = movies_toolkit.title(first)
    assert title.endswith(")") and "(" in title  # the catalogue's titles carry the year
    assert deltas[0] == f"You might like:\n1. {title}"
    assert "".join(deltas) == done.result.reply
