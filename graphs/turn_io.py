"""A turn's input and output: the user's message checked, a history as messages, the result read back.

:class:`~crsagent.graphs.runner.CRSAgent` builds each graph input here and turns the final
graph state into a :class:`~crsagent.agent.turns.TurnResult` with :func:`turn_result`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, SystemMessage

from crsagent.agent.errors import EmptyQueryError, ToolInputError
from crsagent.agent.turns import ChatMessage, Recommendation, TurnResult, Usage
from crsagent.graphs.dialogue.belief import belief_view, merge_belief
from crsagent.graphs.ranking import catalogue_ranking
from crsagent.graphs.trace import turn_trace
from crsagent.graphs.variants import VariantSpec

__all__ = ["MAX_MESSAGE_CHARS", "clean_message", "history_messages", "turn_result"]

#: The longest user message a turn takes.
MAX_MESSAGE_CHARS = 8000


def clean_message(text: str) -> str:
    """The user's message, stripped.

    Raises:
        EmptyQueryError: a blank message.
        ToolInputError: a message longer than :data:`MAX_MESSAGE_CHARS`.
    """
    if not isinstance(text, str) or not text.strip():
        raise EmptyQueryError("the user message is empty; say what you are looking for")
    if len(text) > MAX_MESSAGE_CHARS:
        raise ToolInputError(f"the user message is too long ({len(text)} characters; at most {MAX_MESSAGE_CHARS})")
    return text.strip()


def history_messages(messages: Sequence[ChatMessage | dict[str, Any]]) -> list[AnyMessage]:
    """A stateless turn's history as LangChain messages.

    Raises:
        ToolInputError: the history does not end with a user message, or that message is too long.
        EmptyQueryError: the last user message is blank.
    """
    msgs = [m if isinstance(m, ChatMessage) else ChatMessage.model_validate(m) for m in messages]
    if not msgs or msgs[-1].role != "user":
        raise ToolInputError("the history must end with a user message")
    clean_message(msgs[-1].content)
    out: list[AnyMessage] = []
    for m in msgs:
        if m.role == "user":
            out.append(HumanMessage(content=m.content))
        elif m.role == "assistant":
            out.append(AIMessage(content=m.content))
        else:
            out.append(SystemMessage(content=m.content))
    return out


def turn_result(
    state: dict[str, Any],
    *,
    spec: VariantSpec,
    title: Any,
    thread_id: str | None = None,
    ranking_k: int = 50,
) -> TurnResult:
    """A :class:`TurnResult` from a final graph state.

    Args:
        state: the graph's final state (:class:`~crsagent.graphs.state.CRSState`).
        spec: the variant that ran (the ``agent`` loop adds ``fallback`` and ``trace``).
        title: item id -> display title (``Toolkit.title``).
        thread_id: the checkpointed thread, when one was used.
        ranking_k: how much of the catalogue ranking to return.
    """
    messages: list[AnyMessage] = list(state.get("messages") or [])
    reply = next((m.text for m in reversed(messages) if isinstance(m, AIMessage) and not m.tool_calls), "")
    usage = state.get("usage") or {}
    ranking = [  # the graph's own candidates, of known types: built without validation (50 a turn)
        Recommendation.model_construct(
            item_id=c["item_id"], title=title(c["item_id"]), score=float(c["score"]), signals=dict(c["signals"])
        )
        for c in catalogue_ranking(state.get("candidates") or [], state.get("rementions") or [])[:ranking_k]
    ]
    belief = belief_view(merge_belief(state.get("belief"), {}))
    belief["dialogue_act"] = state.get("dialogue_act")
    belief["focus"] = list(state.get("focus") or [])
    if state.get("question"):
        belief["question"] = state["question"]
    if state.get("intent_label"):
        belief["intent_label"] = state["intent_label"]
    extra: dict[str, Any] = {"notes": list(usage.get("notes") or [])}
    if spec.agent_loop:
        reason = state.get("fallback_reason")
        extra.update(fallback=reason is not None, fallback_reason=reason, trace=turn_trace(state.get("scratch") or []))
    elif usage.get("degraded"):
        extra.update(fallback=True, fallback_reason="llm_step_failed")
    return TurnResult(
        reply=reply,
        action=state.get("action") or "recommend",
        recommendations=[Recommendation(**r) for r in state.get("recommendations") or []],
        ranking=ranking,
        belief=belief,
        usage=Usage(
            prompt_tokens=int(usage.get("prompt_tokens", 0)),
            completion_tokens=int(usage.get("completion_tokens", 0)),
            total_tokens=int(usage.get("total_tokens", 0)),
            llm_calls=int(usage.get("llm_calls", 0)),
            tool_calls=int(usage.get("tool_calls", 0)),
        ),
        degraded=bool(usage.get("degraded")),
        thread_id=thread_id,
        **extra,
    )
