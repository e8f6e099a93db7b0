"""Wire models of the OpenAI-compatible API (pydantic).

Requests are ours to validate, so request models forbid unknown fields: a field the agent
cannot honour (``tools``, ``response_format``, ...) is answered with a 400 that names it,
instead of being dropped with a log line. Response models follow OpenAI's ChatCompletion and
ChatCompletionChunk, with two extensions: ``recommendations`` on the assistant message (and
on the final chunk's delta), and a ``crsagent`` object with the turn's metadata.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = [
    "TextPart",
    "SystemMessage",
    "DeveloperMessage",
    "UserMessage",
    "AssistantMessage",
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


class _Request(BaseModel):
    """Base of request models: unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid")


class TextPart(_Request):
    """A text content part (``{"type": "text", "text": ...}``); other part types are refused."""

    type: Literal["text"]
    text: str


Content = str | list[TextPart]


class SystemMessage(_Request):
    """A system instruction (kept in the history; the agent's own prompt comes first)."""

    role: Literal["system"]
    content: Content
    name: str | None = None


class DeveloperMessage(_Request):
    """OpenAI's newer name for a system message; treated as ``system``."""

    role: Literal["developer"]
    content: Content
    name: str | None = None


class UserMessage(_Request):
    """A user message."""

    role: Literal["user"]
    content: Content
    name: str | None = None


class AssistantMessage(_Request):
    """An earlier assistant reply. ``recommendations`` sent back by clients are accepted and ignored."""

    role: Literal["assistant"]
    content: Content | None = None
    name: str | None = None
    refusal: str | None = None
    recommendations: list[dict[str, Any]] | None = None


RequestMessage = Annotated[
    SystemMessage | DeveloperMessage | UserMessage | AssistantMessage, Field(discriminator="role")
]


def message_text(content: Content | None) -> str:
    """The text of a message's content (text parts joined without separator)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return "".join(part.text for part in content)


class StreamOptions(_Request):
    """``stream_options``: ``include_usage`` adds a final chunk with the turn's usage."""

    include_usage: bool = False


class ChatCompletionRequest(_Request):
    """``POST /v1/chat/completions`` request body.

    Sampling fields are validated with OpenAI's ranges and accepted for compatibility; the
    agent's LLM calls use the agent's own model profile, so they are not forwarded (see
    docs/api.md). ``n`` must be 1.
    """

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"model": "crsagent", "messages": [{"role": "user", "content": "A film like Heat, but newer?"}]},
                {
                    "model": "crs-only",
                    "messages": [{"role": "user", "content": "Something scary from after 2010"}],
                    "user": "alice",
                    "metadata": {"session_id": "alice-1"},
                    "stream": True,
                },
            ]
        },
    )

    model: str = Field(min_length=1, max_length=128, examples=["crsagent", "crs-only", "crsagent:full"])
    messages: list[RequestMessage]
    stream: bool = False
    stream_options: StreamOptions | None = None
    user: str | None = Field(default=None, max_length=256)
    metadata: dict[str, str] | None = None
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    top_p: float | None = Field(default=None, ge=0.0, le=1.0)
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    n: int | None = Field(default=None, ge=1, le=1)
    stop: str | list[str] | None = None
    seed: int | None = None
    presence_penalty: float | None = Field(default=None, ge=-2.0, le=2.0)
    frequency_penalty: float | None = Field(default=None, ge=-2.0, le=2.0)
    store: bool | None = None

    @field_validator("stop")
    @classmethod
    def _at_most_four_stops(cls, v: str | list[str] | None) -> str | list[str] | None:
        if isinstance(v, list) and len(v) > 4:
            raise ValueError("at most 4 stop sequences")
        return v

    @field_validator("metadata")
    @classmethod
    def _metadata_limits(cls, v: dict[str, str] | None) -> dict[str, str] | None:
        if v is None:
            return v
        if len(v) > 16:
            raise ValueError("metadata holds at most 16 key-value pairs")
        for key, value in v.items():
            if len(key) > 64 or len(value) > 512:
                raise ValueError("metadata keys are at most 64 characters, values at most 512")
        return v


class RecommendationOut(BaseModel):
    """One recommended item, as the extension field ``recommendations`` carries it."""

    item_id: str
    title: str
    score: float
    explanation: str = ""

    @field_validator("score")
    @classmethod
    def _finite(cls, v: float) -> float:
        return v if math.isfinite(v) else 0.0  # JSON has no NaN or infinity


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
