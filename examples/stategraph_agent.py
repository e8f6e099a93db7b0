"""The same agent as ``react_agent.py``, written as a StateGraph with LangGraph's ToolNode.

``agent`` calls the chat model with the tools bound; ``tools_condition`` routes a tool call to
the ToolNode (a bad argument comes back to the model as a ToolMessage with status "error") and
a plain answer to the end. Run: ``python examples/stategraph_agent.py``.
"""

from __future__ import annotations

import json

from langchain_core.messages import ToolMessage
from langgraph.graph import START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode, tools_condition
from react_agent import answer_from_tool_result

from crsagent.agent.settings import Settings
from crsagent.agent.testing import ScriptedChatModel, tool_call_message
from crsagent.tools.toolkit import Toolkit

__all__ = ["build", "main"]


def build(llm, tools) -> StateGraph:
    """The two-node agent graph over any tool-calling chat model and tools."""
    model = llm.bind_tools(tools)

    def agent(state: MessagesState) -> dict:
        return {"messages": [model.invoke(state["messages"])]}

    g = StateGraph(MessagesState)
    g.add_node("agent", agent)
    g.add_node("tools", ToolNode(tools))
    g.add_edge(START, "agent")
    g.add_conditional_edges("agent", tools_condition)  # -> "tools" or END
    g.add_edge("tools", "agent")
    return g


def main() -> dict:
    """A bad call (limit 500), the tool error, the fixed call, the answer."""
    tools = Toolkit.load(Settings.from_env(), "movies").tools()
    llm = ScriptedChatModel(
        [
            tool_call_message("search_products", {"filter": {"genres_any": ["Horror"]}, "limit": 500}, call_id="bad"),
            tool_call_message("search_products", {"filter": {"genres_any": ["Horror"], "year_min": 2010}, "limit": 3}),
            answer_from_tool_result,
        ]
    )
    state = build(llm, tools).compile().invoke({"messages": [("user", "A horror film from after 2010?")]})
    llm.assert_exhausted()
    results = [m for m in state["messages"] if isinstance(m, ToolMessage)]
    print(state["messages"][-1].text)
    return {
        "statuses": [m.status for m in results],
        "error": results[0].content,
        "items": [i["item_id"] for i in json.loads(results[-1].content)["items"]],
        "reply": state["messages"][-1].text,
    }


if __name__ == "__main__":
    print(json.dumps(main()))
