"""Your own agent over crsagent's tools: LangGraph's prebuilt ``create_react_agent``.

The chat model here is a scripted fake that ships with crsagent (``crsagent.agent.testing``),
so the example runs without an LLM; put any LangChain chat model with tool calling in its place
(``ChatOpenAI(base_url=<your vLLM>/v1, ...)``). Run: ``python examples/react_agent.py``.
"""

from __future__ import annotations

import json

from langchain_core.messages import ToolMessage
from langgraph.prebuilt import create_react_agent

from crsagent.agent.settings import Settings
from crsagent.agent.testing import FakeRequest, ScriptedChatModel, tool_call_message
from crsagent.tools.toolkit import Toolkit

__all__ = ["main", "answer_from_tool_result"]


def answer_from_tool_result(request: FakeRequest) -> str:
    """The fake's second answer: name the items the tool returned (what a real LLM would do)."""
    result = json.loads(next(m for m in reversed(request.messages) if isinstance(m, ToolMessage)).content)
    return "You could try " + ", ".join(item["title"] for item in result["items"]) + "."


def main() -> dict:
    """One question through a ReAct agent that calls ``search_products``."""
    toolkit = Toolkit.load(Settings.from_env(), "movies")
    tools = toolkit.tools()  # search_products, get_items, vector_search, recommend_cf, score_intents
    llm = ScriptedChatModel(
        [
            tool_call_message("search_products", {"filter": {"genres_any": ["Horror"], "year_min": 2010}, "limit": 3}),
            answer_from_tool_result,
        ]
    )
    agent = create_react_agent(llm, tools)
    state = agent.invoke({"messages": [("user", "A horror film from after 2010?")]})
    llm.assert_exhausted()
    tool_msg = next(m for m in state["messages"] if isinstance(m, ToolMessage))
    print(state["messages"][-1].text)
    return {
        "tools": [t.name for t in tools],
        "called": tool_msg.name,
        "items": [i["item_id"] for i in json.loads(tool_msg.content)["items"]],
        "reply": state["messages"][-1].text,
    }


if __name__ == "__main__":
    print(json.dumps(main()))
