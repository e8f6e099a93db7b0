"""The ``agent`` variant's loop: the LLM decides each turn through tool calls.

::

    understand -> agent <-> agent_tools          (the LLM calls tools, round after round)
                  agent -> remember              (its reply passed the guard)
                  agent | agent_tools -> fallback -> decide -> act -> respond -> remember

``agent`` sends the dialogue, a compact belief and profile summary and every offered tool
(``tool_choice="auto"``) to the LLM, within the turn's LLM-call budget. Its answer either calls
tools (run by ``agent_tools``, LangGraph's ToolNode over the offered tools), or is the reply,
which the grounding guard checks (:mod:`crsagent.graphs.dialogue.agent_reply`). When the LLM's output
cannot carry the turn, the node records ``fallback_reason`` and the deterministic policy answers
(:data:`~crsagent.agent.turns.FALLBACK_REASONS`): an invalid tool call after one repair, a call
to a tool that was not offered, a blown budget, a reply that fails the guard, a failed request.
"""

# No ``from __future__ import annotations``: ToolNode reads the error handler's annotation.

import weakref
from collections.abc import Callable, Sequence
from typing import Any, Literal

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import BaseTool
from langgraph.prebuilt import ToolNode
from langgraph.runtime import Runtime
from pydantic import BaseModel, ValidationError

from crsagent.agent.domains import domain_spec
from crsagent.graphs.context import CRSContext
from crsagent.graphs.dialogue.agent_reply import RAW_TOOL_CALL, AgentReply, ReplyRules, accept_reply
from crsagent.graphs.dialogue.agent_tools import AGENT_TOOL_NAMES, make_graph_tools
from crsagent.graphs.dialogue.belief import merge_belief
from crsagent.graphs.dialogue.explaining import evidence_from_runtime
from crsagent.graphs.dialogue.llm_step import chat_steps, llm_calls_left, model_profile
from crsagent.graphs.dialogue.prompting import belief_summary, dialogue, render
from crsagent.graphs.dialogue.reply_gate import STREAM_KEY, ReplyStreamer, gate_text
from crsagent.graphs.dialogue.tool_schemas import compact_tool_schema
from crsagent.graphs.effects import Steps, steps_node
from crsagent.graphs.handoff import tool_error_message
from crsagent.graphs.state import CRSState
from crsagent.graphs.trace import CHECK_KEY
from crsagent.graphs.variants import VariantSpec

__all__ = [
    "CHECK_KEY",
    "NOT_AGENT_TOOLS",
    "agent_tools",
    "agent_prompt",
    "tool_listing",
    "make_agent",
    "make_agent_tools_node",
    "route_after_agent",
    "route_after_agent_tools",
    "check_calls",
]

#: Toolkit tools the agent is not offered (``recommend`` already fuses CF with every signal).
NOT_AGENT_TOOLS: frozenset[str] = frozenset({"recommend_cf"})
#: Text that shows the model tried to call a tool in a format the server's parser did not read.
_RAW_CALL = RAW_TOOL_CALL
_TOOLS_CACHE: "weakref.WeakKeyDictionary[Any, dict[Any, list[Any]]]" = weakref.WeakKeyDictionary()


def agent_tools(toolkit: Any, omit: tuple[str, ...] = ()) -> list[BaseTool]:
    """The tools the agent offers the LLM: ``recommend`` and ``suggest_question`` over the
    graph, and the toolkit's tools (custom ones included), in :data:`AGENT_TOOL_NAMES` order.

    Args:
        toolkit: the domain's toolkit.
        omit: built-in tools not to offer (a model profile's ``omit_agent_tools``); custom
            tools are always offered.
    """
    cache = _TOOLS_CACHE.setdefault(toolkit, {})
    hit = cache.get(omit)
    if hit is not None:
        return hit
    pool = {t.name: t for t in toolkit.tools(evidence_from_runtime) if t.name not in NOT_AGENT_TOOLS}
    pool.update({t.name: t for t in make_graph_tools(toolkit)})
    order = [n for n in AGENT_TOOL_NAMES if n in pool and n not in omit] + [
        n for n in pool if n not in AGENT_TOOL_NAMES
    ]
    tools = [pool[n] for n in order]
    cache[omit] = tools
    return tools


def tool_listing(ctx: CRSContext) -> tuple[list[BaseTool], list[Any]]:
    """The tools offered under the context's model profile, and what is bound to the LLM for them
    (the tools themselves, or their compact listings when the profile asks for them)."""
    profile = model_profile(ctx)
    offered = agent_tools(ctx.toolkit, tuple(profile.omit_agent_tools))
    if not profile.compact_tools:
        return offered, offered
    key = ("compact", tuple(profile.omit_agent_tools))
    cache = _TOOLS_CACHE.setdefault(ctx.toolkit, {})
    listing = cache.get(key)
    if listing is None:
        listing = cache[key] = [compact_tool_schema(t) for t in offered]
    return offered, listing


def agent_prompt(state: CRSState, ctx: CRSContext) -> list[AnyMessage]:
    """The messages the ``agent`` node sends: system prompt, dialogue, this turn's tool traffic."""
    tk = ctx.toolkit
    belief = merge_belief(state.get("belief"), {})
    profile = (state.get("profile") or {}).get("summary") or "None yet."
    system = render(
        "agent",
        noun=domain_spec(tk.domain).long_noun,
        belief=belief_summary(tk, belief),
        profile=profile,
    )
    scratch = [m for m in state.get("scratch") or [] if not isinstance(m, SystemMessage)]
    return [SystemMessage(content=system), *dialogue(state.get("messages") or [], ctx.history_window), *scratch]


def _schema_error(tool: BaseTool, args: dict[str, Any]) -> str | None:
    schema = tool.args_schema
    if not (isinstance(schema, type) and issubclass(schema, BaseModel)):
        return None
    try:
        schema.model_validate(args)
    except ValidationError as exc:
        return "; ".join(f"{'.'.join(map(str, e['loc'])) or 'arguments'}: {e['msg']}" for e in exc.errors())
    return None


def check_calls(ai: AIMessage, offered: list[BaseTool]) -> dict[str, Any]:
    """Classify an LLM answer's tool calls.

    Returns:
        ``{"valid": [ids], "refused": [{"id", "name", "error"}], "unparsed": [{"name", "error"}],
        "not_offered": [names]}``: calls the schema accepts; parsed calls whose arguments the
        schema refuses; calls the server did not parse (``invalid_tool_calls``, or a tool call
        left in the text); calls to tools that were not offered.
    """
    by_name = {t.name: t for t in offered}
    out: dict[str, Any] = {"valid": [], "refused": [], "unparsed": [], "not_offered": []}
    for call in ai.tool_calls:
        tool = by_name.get(call["name"])
        if tool is None:
            out["not_offered"].append(call["name"])
            continue
        err = _schema_error(tool, dict(call.get("args") or {}))
        if err:
            out["refused"].append({"id": call.get("id"), "name": call["name"], "error": err})
        else:
            out["valid"].append(call.get("id"))
    for bad in getattr(ai, "invalid_tool_calls", None) or []:
        out["unparsed"].append({"name": bad.get("name") or "", "error": bad.get("error") or "unparsable arguments"})
    text = ai.text if isinstance(ai.text, str) else ""
    if not ai.tool_calls and not out["unparsed"] and _RAW_CALL.search(text):
        out["unparsed"].append({"name": "", "error": "a tool call in the text that the server did not parse"})
    return out


def _repairs(state: CRSState) -> int:
    return sum(1 for m in state.get("scratch") or [] if isinstance(m, HumanMessage)) + sum(
        1 for m in state.get("scratch") or [] if isinstance(m, ToolMessage) and m.status == "error"
    )


def _fallback(
    reason: str, note: str, used: dict[str, Any] | None = None, extra: dict[str, Any] | None = None
) -> dict[str, Any]:
    usage = dict(used or {})
    usage["degraded"] = True
    usage["notes"] = list(usage.get("notes") or []) + [f"agent: fallback ({reason}): {note}"]
    return {**(extra or {}), "fallback_reason": reason, "agent_step": "fallback", "usage": usage}


def _final(
    final: AgentReply, used: dict[str, Any], record: dict[str, Any], extra: Sequence[str] = ()
) -> dict[str, Any]:
    """The state update of a reply: accepted (the guard released it), or the fallback."""
    if final.reason is not None:
        return _fallback(final.reason, final.note, used, record)
    notes = list(used.get("notes") or []) + list(final.update.pop("usage", {}).get("notes") or []) + list(extra)
    return {**record, **final.update, "agent_step": "final", "usage": {**used, "notes": notes}}


def make_agent(spec: VariantSpec) -> Callable[[CRSState, Runtime[CRSContext]], dict[str, Any]]:
    """The ``agent`` node (sync; ``.anode`` is its async version)."""
    del spec  # one loop for every agent spec; the spec is the builder's concern
    bound: dict[tuple[int, int, int], tuple[Any, Any]] = {}

    def bind(llm: Any, tools: list[Any], extra_body: dict[str, Any] | None) -> Any:
        key = (id(llm), id(tools), id(extra_body))
        hit = bound.get(key)
        if hit is None or hit[0] is not llm:
            if len(bound) > 32:
                bound.clear()
            extra = {} if extra_body is None else {"extra_body": extra_body}  # the profile's agent sampling
            hit = (llm, llm.bind_tools(tools, tool_choice="auto", **extra))
            bound[key] = hit
        return hit[1]

    def agent(state: CRSState, runtime: Runtime[CRSContext], config: RunnableConfig) -> Steps[dict[str, Any]]:
        ctx = runtime.context
        first = not state.get("scratch")
        reset: dict[str, Any] = {"fallback_reason": None} if first else {}
        if ctx.llm is None:
            return _fallback("no_llm", "no chat model configured", extra=reset)
        if llm_calls_left(ctx, state.get("usage")) < 1:
            return _fallback("budget_exhausted", f"{ctx.budgets.llm_calls} LLM call(s) spent", extra=reset)
        offered, listing = tool_listing(ctx)
        rules = ReplyRules(state, ctx)
        streamer = (
            ReplyStreamer(rules.gate(), runtime.stream_writer)
            if (config.get("configurable") or {}).get(STREAM_KEY)
            else None
        )
        ai, usage = yield from chat_steps(
            ctx,
            state.get("usage"),
            agent_prompt(state, ctx),
            step="agent",
            model=bind(ctx.llm, listing, model_profile(ctx).agent_extra_body),
            on_chunk=streamer and streamer.on_chunk,
        )
        used: dict[str, Any] = dict(usage)
        if ai is None:
            note = "; ".join(used.get("notes") or []) or "no answer"
            reason = "budget_exhausted" if "llm_calls" in note else "llm_error"
            return _fallback(reason, note, {**used, "notes": []}, reset)
        if streamer is not None:
            streamer.end()
            gate = streamer.gate
        else:
            gate = gate_text(
                rules.judge,
                ai.text if isinstance(ai.text, str) else "",
                tool_calls=bool(ai.tool_calls),
                head=rules.head,
            )
        dropped = bool(gate.released and (ai.tool_calls or ai.invalid_tool_calls))
        if gate.released or gate.refused_at is not None:  # the answer as read: up to a refused sentence, no tool call
            ai = AIMessage(
                content=gate.text[: gate.refused_at],
                id=ai.id,
                response_metadata=ai.response_metadata,
                usage_metadata=ai.usage_metadata,
            )
        check = check_calls(ai, offered)
        msg = AIMessage(
            content=ai.content,
            tool_calls=ai.tool_calls,
            id=ai.id,
            additional_kwargs={CHECK_KEY: check},
            response_metadata=ai.response_metadata,
        )
        record = {**reset, "scratch": [msg]}
        if gate.released:  # the reply went out (or would have): tool calls after it are not run
            return _final(
                accept_reply(state, ctx, ai.text, rules=rules, gate=gate),
                used,
                record,
                ["agent: the tool calls written after the reply were not run"] * dropped,
            )
        if check["not_offered"]:
            return _fallback("tool_not_offered", f"called {check['not_offered']}", used, record)
        if check["unparsed"] and not ai.tool_calls:
            if (
                _repairs(state) >= 1
                or llm_calls_left(
                    ctx,
                    {"llm_calls": int((state.get("usage") or {}).get("llm_calls", 0)) + int(used.get("llm_calls", 0))},
                )
                < 1
            ):
                return _fallback(
                    "invalid_tool_call", "the tool call could not be parsed, after one repair", used, record
                )
            fix = HumanMessage(
                content="Your tool call could not be read. Call one tool with JSON arguments that "
                "follow its schema, or answer the user in plain text."
            )
            return {**record, "scratch": [msg, fix], "agent_step": "agent", "usage": used}
        if ai.tool_calls:
            left = ctx.budgets.tool_calls - int((state.get("usage") or {}).get("tool_calls", 0))
            if left < len(ai.tool_calls):
                return _fallback(
                    "budget_exhausted", f"{len(ai.tool_calls)} tool call(s), {max(left, 0)} left", used, record
                )
            return {**record, "agent_step": "tools", "usage": used}
        return _final(accept_reply(state, ctx, ai.text, rules=rules, gate=gate), used, record)

    return steps_node(agent)


def make_agent_tools_node() -> Callable[..., dict[str, Any]]:
    """The ``agent_tools`` node: LangGraph's ToolNode over the offered tools, run with the whole
    graph state (``recommend`` and ``suggest_question`` read it through ``ToolRuntime``)."""
    nodes: weakref.WeakKeyDictionary[Any, ToolNode] = weakref.WeakKeyDictionary()

    def agent_tools_node(state: CRSState, runtime: Runtime[CRSContext], config: RunnableConfig) -> dict[str, Any]:
        ctx = runtime.context
        node = nodes.get(ctx.toolkit)
        if node is None:
            node = ToolNode(agent_tools(ctx.toolkit), handle_tool_errors=tool_error_message, messages_key="scratch")
            nodes[ctx.toolkit] = node
        scratch = list(state.get("scratch") or [])
        last = scratch[-1] if scratch else None
        if not isinstance(last, AIMessage) or not last.tool_calls:
            return {"agent_step": "agent"}
        for call in last.tool_calls:  # progress for a streamed turn (a no-op otherwise)
            runtime.stream_writer({"type": "tool", "name": call["name"]})
        result = node.invoke({**state, "scratch": scratch}, config)  # the tools read the state (ToolRuntime)
        out = list(result.get("scratch", []) if isinstance(result, dict) else result)
        spent = {"tool_calls": len(last.tool_calls)}
        failed = [m for m in out if isinstance(m, ToolMessage) and m.status == "error"]
        if failed and _repairs(state) >= 1:
            return {
                "scratch": out,
                **_fallback("invalid_tool_call", f"{failed[0].name}: {failed[0].text[:160]}", spent),
            }
        if llm_calls_left(ctx, state.get("usage")) < 1:
            return {
                "scratch": out,
                **_fallback("budget_exhausted", "no LLM call left to answer after the tools", spent),
            }
        return {"scratch": out, "usage": spent, "agent_step": "agent"}

    return agent_tools_node


def route_after_agent(state: CRSState) -> Literal["agent", "agent_tools", "remember", "fallback"]:
    """Where the ``agent`` node's answer leads."""
    step = state.get("agent_step")
    if step == "tools":
        return "agent_tools"
    if step == "agent":
        return "agent"
    return "remember" if step == "final" else "fallback"


def route_after_agent_tools(state: CRSState) -> Literal["agent", "fallback"]:
    """Back to the LLM with the tool results, or to the fallback."""
    return "agent" if state.get("agent_step") == "agent" else "fallback"
