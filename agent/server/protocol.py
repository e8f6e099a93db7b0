"""Wire models of the OpenAI-compatible API (pydantic).

The request models live in :mod:`crsagent.agent.server.requests` (strict, unknown fields
refused) and are re-exported here. Response models follow OpenAI's ChatCompletion and
ChatCompletionChunk, with two extensions: ``recommendations`` on the assistant message (and
on the final chunk's delta), and a ``crsagent`` object with the turn's metadata.
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import BaseModel, Field, field_validator

from crsagent.agent.server.requests import (
    AssistantMessage,
    ChatCompletionRequest,
    DeveloperMessage,
    RequestMessage,
    StreamOptions,
    SystemMessage,
    TextPart,
    ToolMessage,
    UserMessage,
    message_text,
)
from crsagent.agent.turns import Recommendation

__all__ = [
    "TextPart",
    "SystemMessage",
    "DeveloperMessage",
    "UserMessage",
    "AssistantMessage",
    "ToolMessage",
    "RequestMessage",
    "StreamOptions",
    "ChatCompletionRequest",
    "RecommendationOut",
    "ResponseMessage",
    "Choice",
    "UsageOut",
    "TurnInfo",
    "ChatCompletion",
    "DeltaMessage",
    "ChunkChoice",
    "ChatCompletionChunk",
    "ModelCard",
    "ModelList",
    "ErrorDetail",
    "ErrorResponse",
    "Health",
    "message_text",
]


class RecommendationOut(BaseModel):
    """One recommended item, as the extension field ``recommendations`` carries it.

    Attributes:
        item_id: the catalogue id.
        title: the display title.
        score: the fused ranking score: the weighted sum of ``signals`` (docs/api.md, "Scores");
            it orders the items of one turn and is not a probability.
        explanation: a grounded explanation.
        signals: each ranking signal's score behind ``score``, normalised to 0-1 over the
            turn's candidates (``attr`` may be negative); empty for an item no ranking scored.
    """

    item_id: str
    title: str
    score: float
    explanation: str = ""
    signals: dict[str, float] = Field(default_factory=dict)

    @field_validator("score")
    @classmethod
    def _finite(cls, v: float) -> float:
        return v if math.isfinite(v) else 0.0  # JSON has no NaN or infinity

    @field_validator("signals")
    @classmethod
    def _finite_signals(cls, v: dict[str, float]) -> dict[str, float]:
        return {k: (x if math.isfinite(x) else 0.0) for k, x in v.items()}

    @classmethod
    def of(cls, rec: Recommendation) -> RecommendationOut:
        """The wire form of an agent's :class:`~crsagent.agent.turns.Recommendation`."""
        return cls(
            item_id=rec.item_id,
            title=rec.title,
            score=rec.score,
            explanation=rec.explanation,
            signals=dict(rec.signals),
        )


class ResponseMessage(BaseModel):
    """The assistant message of a choice."""

    role: Literal["assistant"] = "assistant"
    content: str
    refusal: str | None = None
    recommendations: list[RecommendationOut] = Field(default_factory=list)


class Choice(BaseModel):
    """One choice of a ChatCompletion (there is always exactly one)."""

    index: int = 0
    message: ResponseMessage
    finish_reason: Literal["stop", "length"] = "stop"
    logprobs: None = None


class UsageOut(BaseModel):
    """Token usage of the LLM calls the turn made."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0


class TurnInfo(BaseModel):
    """Extension object ``crsagent``: what the turn did.

    Attributes:
        variant: the graph variant that answered.
        session_id: the checkpointed session, or None for a stateless request.
        action: the policy's decision (``elicit``, ``recommend``, ...).
        degraded: True when the LLM failed and the turn fell back to the CRS-only path.
        fallback: True when the LLM's output could not carry the turn and the deterministic
            policy's reply was used.
        fallback_reason: why it fell back (``invalid_tool_call``, ``tool_not_offered``,
            ``budget_exhausted``, ``guard_rejected``, ``llm_error``, ``no_llm``), else null.
        llm_calls: LLM calls the turn made.
        tool_calls: tool calls the turn made.
    """

    variant: str
    session_id: str | None = None
    action: str = ""
    degraded: bool = False
    fallback: bool = False
    fallback_reason: str | None = None
    llm_calls: int = 0
    tool_calls: int = 0


class ChatCompletion(BaseModel):
    """A non-streamed response (``object: chat.completion``)."""

    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    system_fingerprint: str | None = None
    choices: list[Choice]
    usage: UsageOut
    crsagent: TurnInfo


class DeltaMessage(BaseModel):
    """The delta of a streamed chunk; unset fields are left out of the wire JSON."""

    role: Literal["assistant"] | None = None
    content: str | None = None
    recommendations: list[RecommendationOut] | None = None


class ChunkChoice(BaseModel):
    """One choice of a streamed chunk."""

    index: int = 0
    delta: DeltaMessage
    finish_reason: Literal["stop", "length"] | None = None
    logprobs: None = None


class ChatCompletionChunk(BaseModel):
    """A streamed event (``object: chat.completion.chunk``)."""

    id: str
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    created: int
    model: str
    system_fingerprint: str | None = None
    choices: list[ChunkChoice]
    usage: UsageOut | None = None
    crsagent: TurnInfo | None = None


class ModelCard(BaseModel):
    """One entry of ``GET /v1/models``.

    Attributes:
        id: the model id to send as ``model``.
        variant: the graph variant it runs (extension).
        default: True for the default model (extension).
    """

    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str = "crsagent"
    variant: str
    default: bool = False


class ModelList(BaseModel):
    """``GET /v1/models`` response."""

    object: Literal["list"] = "list"
    data: list[ModelCard]


class ErrorDetail(BaseModel):
    """The body of an OpenAI-style error."""

    message: str
    type: str
    param: str | None = None
    code: str | None = None


class ErrorResponse(BaseModel):
    """Every error answer: ``{"error": {"message", "type", "param", "code"}}``."""

    error: ErrorDetail


class Health(BaseModel):
    """``GET /health`` response."""

    status: Literal["ok"] = "ok"
    domain: str
    models: list[str]
    default_model: str
