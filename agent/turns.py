"""The contract between the agent and its callers (CLI chat, HTTP API, evaluation harness).

:class:`~crsagent.graphs.runner.CRSAgent` implements :class:`AgentRunner`; callers depend on
this module only, so they can be tested against any runner that honours it.
"""

from __future__ import annotations

from typing import Any, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, Field

__all__ = [
    "VARIANTS",
    "FALLBACK_REASONS",
    "Variant",
    "ChatMessage",
    "Recommendation",
    "Usage",
    "TurnResult",
    "AgentRunner",
]

#: Collaboration variants, as graph-builder options and as model ids of the HTTP API.
#: ``agent`` is the product's loop (the LLM decides through tool calls); the other five are the
#: U-NEED collaboration variants kept for the evaluation.
VARIANTS: tuple[str, ...] = ("agent", "full", "llm-only", "crs-only", "llm-assists-crs", "crs-assists-llm")
Variant = Literal["agent", "full", "llm-only", "crs-only", "llm-assists-crs", "crs-assists-llm"]
#: Why a turn fell back to the deterministic policy's reply: no chat model; the request failed;
#: the LLM-call or tool-call budget ran out; a tool call that could not be parsed or validated
#: even after one repair; a call to a tool that was not offered; a reply the grounding guard
#: refused; (U-NEED variants) an LLM step that failed.
FALLBACK_REASONS: tuple[str, ...] = (
    "no_llm",
    "llm_error",
    "budget_exhausted",
    "invalid_tool_call",
    "tool_not_offered",
    "guard_rejected",
    "llm_step_failed",
)


class ChatMessage(BaseModel):
    """One message of a conversation history (OpenAI roles)."""

    role: Literal["system", "user", "assistant"]
    content: str


class Recommendation(BaseModel):
    """An item the agent recommended this turn, with its grounded explanation.

    Attributes:
        item_id: catalogue id.
        title: display title.
        score: the fused ranking score.
        explanation: a grounded explanation (every fact in it is in the item's record).
        signals: per-signal scores behind the fused score (vector, cf, intent, popularity).
    """

    item_id: str
    title: str
    score: float
    explanation: str = ""
    signals: dict[str, float] = Field(default_factory=dict)


class Usage(BaseModel):
    """LLM token usage of one turn."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    llm_calls: int = 0
    tool_calls: int = 0


class TurnResult(BaseModel):
    """What one turn produced.

    Attributes:
        reply: the assistant's text.
        action: what the policy decided (``elicit``, ``recommend``, ``answer``, ``explain``, ``chitchat``).
        recommendations: the items recommended in the reply (top few).
        ranking: the top of the catalogue ranking (for replay evaluation), best first: the
            fused candidates plus the items already mentioned, scored for re-mention
            (``signals["remention"]``; they are never among the recommendations).
        belief: the belief state after the turn, as plain data, plus ``dialogue_act`` (what the
            last user message did: ``elicit``, ``recommend``, ``reject``, ``ask_fact``,
            ``explain``, ``chitchat``), ``focus`` (the items a question was about), the
            ``question`` asked (when one was) and ``intent_label`` (the top latent intent, when
            the intent scorer ran).
        usage: LLM usage of the turn.
        degraded: True when the LLM failed and the turn fell back to the crs-only path.
        thread_id: the checkpointed thread, when one was used.
        notes: what the turn handled on the way (invalid LLM output repaired, a guard rewrite ...).
        fallback: True when the LLM's output could not carry the turn and the deterministic
            policy's reply was used instead (the ``agent`` variant; other LLM variants set it
            with ``degraded``).
        fallback_reason: why it fell back (one of ``FALLBACK_REASONS``), else None.
        trace: the turn's LLM tool-calling exchange, in order: one entry per LLM answer
            (``{"type": "llm", "content", "tool_calls": [{"name", "args", "id"}], "invalid": [...]}``)
            and per tool result (``{"type": "tool", "name", "status", "content"}``).
    """

    reply: str
    action: str = "recommend"
    recommendations: list[Recommendation] = Field(default_factory=list)
    ranking: list[Recommendation] = Field(default_factory=list)
    belief: dict[str, Any] = Field(default_factory=dict)
    usage: Usage = Field(default_factory=Usage)
    degraded: bool = False
    thread_id: str | None = None
    notes: list[str] = Field(default_factory=list)
    fallback: bool = False
    fallback_reason: str | None = None
    trace: list[dict[str, Any]] = Field(default_factory=list)


@runtime_checkable
class AgentRunner(Protocol):
    """What callers need from the agent."""

    variant: str

    async def aturn(self, text: str, *, thread_id: str, user_id: str | None = None) -> TurnResult:
        """One user turn on a checkpointed thread (only the new user message is given)."""
        ...

    async def arun_history(
        self, messages: list[ChatMessage], *, user_id: str | None = None, ranking_k: int = 50
    ) -> TurnResult:
        """A stateless turn: rebuild the belief from the whole history, answer the last user message."""
        ...

    def turn(self, text: str, *, thread_id: str, user_id: str | None = None) -> TurnResult:
        """Synchronous :meth:`aturn`."""
        ...

    def run_history(
        self, messages: list[ChatMessage], *, user_id: str | None = None, ranking_k: int = 50
    ) -> TurnResult:
        """Synchronous :meth:`arun_history`."""
        ...
