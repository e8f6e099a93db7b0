"""A custom tool in the CRS graph: offered to the ``agent`` variant's LLM beside the built-in tools.

``where_to_watch`` stands in for your own service (availability, prices, stock). Its JSON result
carries items under ``item_id`` keys: that is what lets the reply name them (the guard allows
only items from this turn's tool results). The chat model is a scripted fake; with a real one
(``CRSAgent.create(..., variant="agent")`` and an LLM server) nothing else changes.
Run: ``python examples/custom_tool.py``.
"""

from __future__ import annotations

import json
import zlib

from langchain_core.tools import tool
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.store.memory import InMemoryStore

from crsagent.agent.settings import Settings
from crsagent.agent.testing import ScriptedChatModel, tool_call_message
from crsagent.graphs.runner import CRSAgent
from crsagent.tools.catalog.schema import ItemFilter
from crsagent.tools.toolkit import Toolkit

__all__ = ["make_where_to_watch", "main"]
SERVICES = ("Netflix", "Prime Video", "Mubi", "the public library")


def make_where_to_watch(toolkit: Toolkit):
    """The custom tool, bound to the domain's catalogue."""

    @tool
    def where_to_watch(title: str) -> str:
        """Where a movie can be watched now. Give its title; returns the item and its services."""
        found = toolkit.db.filter(ItemFilter(text_contains=title), limit=1, order_by="popularity")
        items = [
            {
                "item_id": it.item_id,
                "title": it.display_title,
                "services": [SERVICES[zlib.crc32(it.item_id.encode()) % len(SERVICES)]],
            }
            for it in found
        ]
        return json.dumps({"items": items})

    return where_to_watch


def main() -> dict:
    """One ``agent`` turn in which the LLM calls the custom tool and answers from its result."""
    toolkit = Toolkit.load(Settings.from_env(), "movies")
    toolkit = toolkit.with_tools(make_where_to_watch(toolkit))  # a copy: the shared toolkit stays as it was

    def answer(request) -> str:
        item = json.loads(request.messages[-1].content)["items"][0]
        return f"{item['title']} is on {item['services'][0]} right now."

    llm = ScriptedChatModel([tool_call_message("where_to_watch", {"title": "The Babadook"}), answer])
    memory = {"checkpointer": InMemorySaver(), "store": InMemoryStore()}  # default: SQLite under the data home
    agent = CRSAgent.create(Settings.from_env(), "movies", "agent", llm=llm, toolkit=toolkit, **memory)
    result = agent.turn("I loved The Babadook. Where can I watch it?", thread_id="t1")
    print(result.reply)
    offered = llm.requests[0].tool_names  # what the LLM was offered: built-in tools and yours
    return {
        "reply": result.reply,
        "fallback": result.fallback,
        "fallback_reason": result.fallback_reason,
        "offered": offered,
        "called": [c["name"] for e in result.trace for c in e.get("tool_calls", [])],
    }


if __name__ == "__main__":
    print(json.dumps(main()))
