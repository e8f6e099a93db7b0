"""The Python API: a checkpointed conversation with a rejection and a "why" (no LLM needed).

Run: ``python examples/python_api.py`` (after ``crsagent build --domain movies``).
The last line printed is a JSON summary (the tests read it).
"""

from __future__ import annotations

import json

from langgraph.checkpoint.memory import InMemorySaver
from langgraph.store.memory import InMemoryStore

from crsagent.agent.settings import Settings
from crsagent.graphs.runner import CRSAgent

__all__ = ["main"]


def main() -> dict:
    """Three turns on one thread: ask, turn the first item down, ask why about the new first."""
    agent = CRSAgent.create(
        Settings.from_env(), domain="movies", variant="crs-only", checkpointer=InMemorySaver(), store=InMemoryStore()
    )
    first = agent.turn("I loved The Babadook, something after 2010?", thread_id="t1", user_id="u1")
    print(first.reply, "\n")
    rejected = first.recommendations[0]
    second = agent.turn(f"I've already seen {rejected.title}, something else?", thread_id="t1", user_id="u1")
    print(second.reply, "\n")
    target = second.recommendations[0]
    why = agent.turn(f"Why {target.title}?", thread_id="t1", user_id="u1")
    print(why.reply, "\n")
    return {
        "first": [r.item_id for r in first.recommendations],
        "rejected": rejected.item_id,
        "second": [r.item_id for r in second.recommendations],
        "why_action": why.action,
        "why_item": target.item_id,
        "why_text": why.reply,
        "liked": [x["item_id"] for x in why.belief.get("liked", [])],
        "belief_rejected": list(why.belief.get("rejected", [])),
    }


if __name__ == "__main__":
    print(json.dumps(main()))
