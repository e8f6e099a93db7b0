"""The LLM's tool step: ``tool_agent`` (the LLM picks typed tools) and ``tools`` (LangGraph's ToolNode).

The LLM sees the turn's candidates and may call the toolkit's LangChain tools
(``search_products``, ``get_items``, ``vector_search``, ``recommend_cf``, ``score_intents``,
``explain_items``). Models whose profile says native tool choice is reliable choose freely
(``tool_choice="auto"``); for the others the step forces the one tool that fits the action
(constrained decoding of its arguments), or is skipped. ``ToolNode`` runs the calls, over the
offered tools only: a call to a tool the step did not offer (prompt injection, a confused model),
a bad argument or an unknown id comes back to the LLM as a ``ToolMessage`` with
``status="error"``; budgets bound the calls and the rounds.
"""

# No ``from __future__ import annotations`` here: ToolNode reads the error handler's
# annotation at run time to know which exceptions it handles.

import weakref
from collections.abc import Callable
from typing import Any

from langchain_core.messages import AIMessage, SystemMessage
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import BaseTool
from langgraph.prebuilt import ToolNode
from langgraph.runtime import Runtime

from crsagent.agent.domains import domain_spec
from crsagent.graphs.context import CRSContext
from crsagent.graphs.dialogue.belief import merge_belief
from crsagent.graphs.dialogue.explaining import evidence_from_runtime
from crsagent.graphs.dialogue.llm_step import chat_steps, model_profile
from crsagent.graphs.dialogue.prompting import belief_summary, dialogue, render
from crsagent.graphs.effects import Steps, steps_node
from crsagent.graphs.handoff import (
    result_item_ids,
    tool_error_message,
    tool_results,
)
from crsagent.graphs.state import CRSState
from crsagent.graphs.variants import VariantSpec

__all__ = [
    "FORCED_TOOL",
    "TOOL_ACTIONS",
    "tool_error_message",
    "tools_for",
    "offered_tools",
    "make_tool_agent",
    "make_tools_node",
    "tool_rounds",
    "tool_results",
    "result_item_ids",
]

#: Actions for which the LLM may use tools.
TOOL_ACTIONS: tuple[str, ...] = ("recommend", "answer", "explain")
#: The tool forced for an action when the model cannot be trusted to choose.
FORCED_TOOL: dict[str, tuple[str, ...]] = {
    "recommend": ("vector_search", "search_products"),
    "answer": ("get_items",),
    "explain": ("explain_items", "get_items"),
}


def tools_for(toolkit: Any) -> list[BaseTool]:
    """The toolkit's LangChain tools (the explainer reads its evidence from the graph state)."""
    return toolkit.tools(evidence_from_runtime)


def tool_rounds(state: CRSState) -> int:
    """How many tool-calling rounds this turn has had."""
    return sum(1 for m in state.get("scratch") or [] if isinstance(m, AIMessage) and m.tool_calls)


def _candidate_list(tk: Any, state: CRSState, n: int = 10) -> str:
    rows = [f"{c['item_id']}: {tk.title(c['item_id'])}" for c in (state.get("candidates") or [])[:n]]
    return "\n".join(rows) or "(none)"


def offered_tools(ctx: CRSContext, action: str) -> tuple[list[BaseTool], str]:
    """The tools one step offers the LLM, and the ``tool_choice``.

    Models with reliable native tool choice get every tool (``"auto"``); the others get only
    the tool forced for the action (a forced call needs only its own schema in the prompt, and
    small models have small contexts). The ``tools`` node runs only what was offered.
    """
    tools = tools_for(ctx.toolkit)
    if model_profile(ctx).native_tool_calls:
        return tools, "auto"
    names = [t.name for t in tools]
    forced = next((n for n in FORCED_TOOL.get(action, ()) if n in names), None)
    return ([t for t in tools if t.name == forced], forced) if forced else ([], "none")


def make_tool_agent(spec: VariantSpec) -> Callable[[CRSState, Runtime[CRSContext]], dict[str, Any]]:
    """The ``tool_agent`` node: one LLM request that may call tools (sync; ``.anode`` is its
    async version)."""
    # binding converts every tool's schema: done once per model, tool set and choice. Keyed by
    # ids, with the model and the tools kept in the entry so no id is reused while cached (chat
    # models are not hashable). A few models at most per process (the LLM, test fakes): capped.
    bound_models: dict[tuple[int, tuple[int, ...], str], tuple[Any, list[BaseTool], Any]] = {}

    def bind(llm: Any, offered: list[BaseTool], choice: str) -> Any:
        key = (id(llm), tuple(map(id, offered)), choice)
        hit = bound_models.get(key)
        if hit is not None and hit[0] is llm:
            return hit[2]
        bound = llm.bind_tools(offered, tool_choice=choice)
        if len(bound_models) >= 64:
            try:  # sync runs bind from worker threads: losing an eviction race only keeps an entry
                bound_models.pop(next(iter(bound_models)), None)
            except (RuntimeError, StopIteration):
                pass
        bound_models[key] = (llm, list(offered), bound)
        return bound

    def tool_agent(state: CRSState, runtime: Runtime[CRSContext]) -> Steps[dict[str, Any]]:
        ctx = runtime.context
        tk = ctx.toolkit
        action = state.get("action") or "recommend"
        if ctx.llm is None:
            return {"usage": {"notes": ["tools: no LLM; step skipped"]}}
        offered, choice = offered_tools(ctx, action)
        if not offered:
            return {"usage": {"notes": [f"tools: no tool to offer for '{action}'; step skipped"]}}
        belief = merge_belief(state.get("belief"), {})
        focus = ", ".join(f"{i}: {tk.title(i)}" for i in state.get("focus") or []) or "(none)"
        system = render(
            "tool_agent",
            noun=domain_spec(tk.domain).long_noun,
            action=action,
            belief=belief_summary(tk, belief),
            focus=focus,
            candidates=_candidate_list(tk, state),
        )
        prompt = [SystemMessage(content=system), *dialogue(state.get("messages") or [], ctx.history_window)]
        prompt += list(state.get("scratch") or [])
        bound = bind(ctx.llm, offered, choice)
        ai, used = yield from chat_steps(
            ctx, state.get("usage"), prompt, step="tools", reserve=1 if spec.llm_reply else 0, model=bound
        )
        if ai is None or not ai.tool_calls:
            return {"usage": used}
        left = ctx.budgets.tool_calls - int((state.get("usage") or {}).get("tool_calls", 0))
        calls = ai.tool_calls[: max(left, 0)]
        notes = (
            []
            if len(calls) == len(ai.tool_calls)
            else [f"tools: {len(ai.tool_calls) - len(calls)} call(s) over budget dropped"]
        )
        if not calls:
            return {"usage": {**used, "notes": notes}}
        msg = AIMessage(content=ai.content, tool_calls=calls, id=ai.id)
        return {"scratch": [msg], "usage": {**used, "notes": notes}}

    return steps_node(tool_agent)


def make_tools_node() -> Callable[..., dict[str, Any]]:
    """The ``tools`` node: LangGraph's ToolNode over the toolkit's tools, with the evidence in config."""
    nodes: weakref.WeakKeyDictionary[Any, dict[tuple[str, ...], ToolNode]] = weakref.WeakKeyDictionary()

    def tools(state: CRSState, runtime: Runtime[CRSContext], config: RunnableConfig) -> dict[str, Any]:
        ctx = runtime.context
        tk = ctx.toolkit
        offered, _ = offered_tools(ctx, state.get("action") or "recommend")
        key = tuple(t.name for t in offered)
        if not offered:
            return {}
        node = nodes.setdefault(tk, {}).get(key)
        if node is None:  # a call to a tool not offered comes back as an error naming the offered ones
            node = ToolNode(offered, handle_tool_errors=tool_error_message, messages_key="scratch")
            nodes[tk][key] = node
        scratch = list(state.get("scratch") or [])
        last = scratch[-1] if scratch else None
        if not isinstance(last, AIMessage) or not last.tool_calls:
            return {}
        result = node.invoke({**state, "scratch": scratch}, config)  # the explainer reads the state (ToolRuntime)
        out = list(result.get("scratch", []) if isinstance(result, dict) else result)
        return {"scratch": out, "usage": {"tool_calls": len(last.tool_calls)}}

    return tools
