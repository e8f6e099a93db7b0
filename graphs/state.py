"""The graph state: a TypedDict whose channels carry reducers.

Nodes return partial updates and never mutate the state they receive. Channels:

* ``messages`` — the conversation (``add_messages``);
* ``scratch`` — this turn's tool-calling exchange (``add_messages``; cleared at turn start);
* ``belief`` — :class:`~crsagent.graphs.dialogue.belief.Belief`, merged by
  :func:`~crsagent.graphs.dialogue.belief.merge_belief`;
* ``usage`` — this turn's LLM/tool calls, tokens, ``degraded`` flag and notes, summed by
  :func:`add_usage` (an update with ``reset`` starts a new turn);
* the rest hold the last value written: the ``dialogue_act`` of the last user message (what it
  does: ``elicit``, ``recommend``, ``reject``, ``ask_fact``, ``explain`` or ``chitchat``; not
  the latent intent), the policy's ``action``, the ``question`` asked, ``candidates`` (the
  fused ranking with per-signal scores), ``rementions`` (already mentioned items scored for
  re-mention; they join ``TurnResult.ranking``, never the recommendations),
  ``intent_label`` (the top latent intent), ``recommendations``, ``focus``
  (items a question is about), ``facts``, ``profile`` (the user's profile memory) and
  ``cursor`` (how many messages understanding has read);
* the ``agent`` variant's loop: ``agent_step`` (where its last step leads: ``tools``,
  ``agent``, ``final`` or ``fallback``) and ``fallback_reason`` (why the deterministic policy
  answered this turn, else None).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from langchain_core.messages import AnyMessage
from langgraph.graph.message import add_messages
from typing_extensions import TypedDict  # pydantic (LangGraph Studio's schemas) needs it on Python < 3.12

from crsagent.graphs.dialogue.belief import Belief, merge_belief

__all__ = [
    "CRSState",
    "Candidate",
    "TurnUsage",
    "USAGE_COUNTERS",
    "add_usage",
    "empty_usage",
]

USAGE_COUNTERS: tuple[str, ...] = (
    "llm_calls",
    "tool_calls",
    "prompt_tokens",
    "completion_tokens",
    "total_tokens",
)


class TurnUsage(TypedDict, total=False):
    """What one turn spent, and whether it had to fall back.

    Attributes:
        llm_calls, tool_calls, prompt_tokens, completion_tokens, total_tokens: counters.
        degraded: an LLM step failed or ran out of budget and the deterministic path answered.
        notes: short reasons, for logs and evaluation.
        reset: on an update only: start from zero (the first node of a turn sets it).
    """

    llm_calls: int
    tool_calls: int
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    degraded: bool
    notes: list[str]
    reset: bool


def empty_usage() -> TurnUsage:
    """A zeroed usage record."""
    return {**{k: 0 for k in USAGE_COUNTERS}, "degraded": False, "notes": []}  # type: ignore[typeddict-item]


def add_usage(old: Mapping[str, Any] | None, new: Mapping[str, Any] | None) -> TurnUsage:
    """The ``usage`` channel's reducer: add counters, OR ``degraded``, append notes.

    An update carrying ``reset=True`` discards the old record first (a new turn).
    """
    base: Mapping[str, Any] = empty_usage() if (not old or (new or {}).get("reset")) else {**empty_usage(), **old}
    new = new or {}
    out: dict[str, Any] = {k: int(base.get(k, 0)) + int(new.get(k, 0) or 0) for k in USAGE_COUNTERS}
    out["degraded"] = bool(base.get("degraded")) or bool(new.get("degraded"))
    out["notes"] = list(base.get("notes") or []) + list(new.get("notes") or [])
    return out  # type: ignore[return-value]


class Candidate(TypedDict):
    """One ranked item with its fused score and the per-signal scores behind it."""

    item_id: str
    score: float
    signals: dict[str, float]


class CRSState(TypedDict, total=False):
    """The CRS graph's state (see the module docstring for each channel)."""

    messages: Annotated[list[AnyMessage], add_messages]
    scratch: Annotated[list[AnyMessage], add_messages]
    belief: Annotated[Belief, merge_belief]
    usage: Annotated[TurnUsage, add_usage]
    cursor: int
    turn: int
    dialogue_act: str
    intent_label: str | None
    action: str
    question: dict[str, Any]
    candidates: list[Candidate]
    rementions: list[Candidate]
    recommendations: list[dict[str, Any]]
    focus: list[str]
    facts: list[dict[str, Any]]
    profile: dict[str, Any]
    agent_step: str
    fallback_reason: str | None
