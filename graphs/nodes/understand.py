"""``understand``: read the new messages into a belief update, a dialogue act and the items in focus.

Every message after the state's ``cursor`` is read in order: user messages by the
deterministic reader (linker + lexicon + cues), assistant messages for the items they
named (the agent's own replies carry them in ``additional_kwargs["crsagent"]``; replayed
histories are linked). In LLM-understanding variants the last user message also gets ONE
structured LLM call whose grounded values are added. On a thread's first turn the user's
profile memory seeds the belief. This node also starts the turn's usage record.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.messages import (
    AIMessage,
    AnyMessage,
    HumanMessage,
    RemoveMessage,
    SystemMessage,
)
from langgraph.graph.message import REMOVE_ALL_MESSAGES
from langgraph.runtime import Runtime

from crsagent.agent.domains import domain_spec
from crsagent.graphs.context import CRSContext
from crsagent.graphs.dialogue.belief import Belief, merge_belief
from crsagent.graphs.dialogue.llm_step import structured_steps
from crsagent.graphs.dialogue.prompting import belief_summary, render
from crsagent.graphs.dialogue.understanding import (
    NeedsExtraction,
    Reading,
    llm_update,
    profile_seed,
    read_assistant_message,
    read_user_message,
)
from crsagent.graphs.effects import ProfileRead, Steps, steps_node
from crsagent.graphs.handoff import AGENT_KEY
from crsagent.graphs.state import CRSState
from crsagent.graphs.variants import VariantSpec

__all__ = ["make_understand", "AGENT_KEY", "agent_meta", "last_recommended"]


def agent_meta(message: AnyMessage) -> dict[str, Any] | None:
    """The agent's record on one of its own replies, or None."""
    meta = getattr(message, "additional_kwargs", None) or {}
    got = meta.get(AGENT_KEY)
    return got if isinstance(got, dict) else None


def last_recommended(messages: Sequence[AnyMessage]) -> list[str]:
    """What the agent's most recent recommending reply recommended."""
    for m in reversed(messages):
        meta = agent_meta(m)
        if meta and meta.get("recommended"):
            return list(meta["recommended"])
    return []


def _noun(domain: str) -> str:
    return domain_spec(domain).long_noun


def make_understand(spec: VariantSpec) -> Callable[[CRSState, Runtime[CRSContext]], dict[str, Any]]:
    """The ``understand`` node of a variant (sync; ``.anode`` is its async version)."""

    def understand(state: CRSState, runtime: Runtime[CRSContext]) -> Steps[dict[str, Any]]:
        ctx = runtime.context
        tk = ctx.toolkit
        messages = list(state.get("messages") or [])
        cursor = int(state.get("cursor") or 0)
        if cursor > len(messages):  # the history was replaced: read it all again
            cursor = 0
        out: dict[str, Any] = {"usage": {"reset": True}, "scratch": [RemoveMessage(id=REMOVE_ALL_MESSAGES)]}
        update: Belief = {}
        profile = state.get("profile")
        if not state.get("turn") and ctx.user_id and runtime.store is not None:
            stored = yield ProfileRead(runtime.store, ctx.user_id)
            if stored is not None:
                profile = stored.model_dump(mode="json")
                out["profile"] = profile
                update = merge_belief(update, profile_seed(profile))
        last_recs = last_recommended(messages[:cursor])
        last_focus = list(state.get("focus") or []) if cursor else []
        reading: Reading | None = None
        last_user = ""
        for m in messages[cursor:]:
            if isinstance(m, HumanMessage):
                last_user = m.text
                known = merge_belief(state.get("belief"), update)
                reading = read_user_message(tk, m.text, last_recs, last_focus=last_focus, known=known)
                update = merge_belief(update, reading.update)
                last_focus = reading.focus or last_focus
            elif isinstance(m, AIMessage) and not m.tool_calls:
                meta = agent_meta(m)
                named = list(meta.get("recommended") or []) if meta else read_assistant_message(tk, m.text)
                update = merge_belief(update, {"mentioned": named})
                last_recs = named or last_recs
                last_focus = [] if named else last_focus
            elif isinstance(m, SystemMessage):
                continue
        act = reading.dialogue_act if reading else "chitchat"
        focus = reading.focus if reading else []
        if spec.llm_understanding and reading is not None and last_user.strip():
            prior = merge_belief(state.get("belief"), update)
            prompt = [
                SystemMessage(
                    content=render(
                        "understand",
                        noun=_noun(tk.domain),
                        people=domain_spec(tk.domain).people_words,
                        belief=belief_summary(tk, prior),
                        last_reply=_last_ai_text(messages),
                    )
                ),
                HumanMessage(content=last_user),
            ]
            ex, used = yield from structured_steps(
                ctx, {}, prompt, NeedsExtraction, step="understand", reserve=1 if spec.llm_reply else 0
            )
            out["usage"] = {**used, "reset": True}
            if ex is not None:
                update = merge_belief(update, llm_update(tk, last_user, ex, reading.update))
                if not reading.cue and ex.dialogue_act != "elicit" and (ex.dialogue_act != "reject" or last_recs):
                    act = ex.dialogue_act
                    if act == "reject":  # the LLM heard a rejection the cues missed
                        update = merge_belief(update, {"rejected": last_recs})
        out.update(
            belief=update,
            dialogue_act=act,
            focus=focus,
            cursor=len(messages),
            turn=int(state.get("turn") or 0) + 1,
        )
        return out

    return steps_node(understand)


def _last_ai_text(messages: Sequence[AnyMessage]) -> str:
    for m in reversed(messages):
        if isinstance(m, AIMessage) and not m.tool_calls and m.text.strip():
            return m.text[:300]
    return "(none)"
