"""Request models of ``POST /v1/chat/completions`` (pydantic, strict).

Requests are ours to validate, so unknown fields are an error, not silently dropped, and types
are strict (``"stream": "yes"`` is a 400, not ``True``). OpenAI's current request fields fall in
three groups:

* validated and **ignored**, because they cannot change what the agent answers
  (:data:`IGNORED_FIELDS`: sampling settings, caching and routing hints, ``user`` aliases ...);
* **refused** with a 400 naming the field when honouring them is impossible and ignoring them
  would change the result: ``n`` above 1, client ``tools`` (and a ``tool_choice`` that needs
  them), ``modalities`` with ``audio``, ``logprobs: true``;
* everything else unknown: 400 ``unrecognized request argument supplied: <field>``.

In the history, ``assistant`` messages may carry ``tool_calls`` and ``tool`` messages may
answer them (a client that ran its own tools replays its conversation): both are accepted and
kept as context (the assistant's text); the tool exchange itself is not replayed to the agent.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator

__all__ = [
    "IGNORED_FIELDS",
    "TextPart",
    "SystemMessage",
    "DeveloperMessage",
    "UserMessage",
    "ToolCallFunction",
    "ToolCall",
    "AssistantMessage",
    "ToolMessage",
    "RequestMessage",
    "StreamOptions",
    "ChatCompletionRequest",
    "message_text",
]

#: Request fields accepted for compatibility and not forwarded (docs/api.md lists them).
IGNORED_FIELDS: tuple[str, ...] = (
    "temperature",
    "top_p",
    "max_tokens",
    "max_completion_tokens",
    "stop",
    "seed",
    "presence_penalty",
    "frequency_penalty",
    "store",
    "logit_bias",
    "top_logprobs",
    "parallel_tool_calls",
    "safety_identifier",
    "prompt_cache_key",
    "prompt_cache_retention",
    "service_tier",
    "reasoning_effort",
    "verbosity",
)


class _Request(BaseModel):
    """Base of request models: unknown fields are an error, and types are strict."""

    model_config = ConfigDict(extra="forbid", strict=True)


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


class ToolCallFunction(_Request):
    """The function an earlier assistant message called."""

    name: str = Field(max_length=256)
    arguments: str


class ToolCall(_Request):
    """One tool call of an earlier assistant message (context only)."""

    id: str = Field(max_length=256)
    type: Literal["function"] = "function"
    function: ToolCallFunction


class AssistantMessage(_Request):
    """An earlier assistant reply. ``recommendations`` sent back by clients are accepted and
    ignored; ``tool_calls`` (and the deprecated ``function_call``) are accepted as context."""

    role: Literal["assistant"]
    content: Content | None = None
    name: str | None = None
    refusal: str | None = None
    recommendations: list[dict[str, Any]] | None = None
    tool_calls: list[ToolCall] | None = Field(default=None, max_length=128)
    function_call: ToolCallFunction | None = None
    audio: dict[str, Any] | None = None


class ToolMessage(_Request):
    """The result of an earlier client tool call (accepted as context, not replayed)."""

    role: Literal["tool"]
    content: Content
    tool_call_id: str = Field(max_length=256)


RequestMessage = Annotated[
    SystemMessage | DeveloperMessage | UserMessage | AssistantMessage | ToolMessage, Field(discriminator="role")
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

    include_usage: StrictBool = False
    include_obfuscation: StrictBool | None = None


class ChatCompletionRequest(_Request):
    """``POST /v1/chat/completions`` request body.

    The fields of :data:`IGNORED_FIELDS` are validated with OpenAI's ranges and accepted for
    compatibility; the agent's LLM calls use the agent's own model profile, so they are not
    forwarded (see docs/api.md). ``n``, ``tools``, ``tool_choice``, ``modalities`` and
    ``logprobs`` are refused when they ask for what the agent cannot do
    (:meth:`crsagent.agent.server.serving.ChatService.plan`).
    """

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
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
    stream: StrictBool = False
    stream_options: StreamOptions | None = None
    user: str | None = Field(default=None, max_length=256)
    metadata: dict[str, str] | None = None
    n: int | None = Field(default=None, ge=1, le=128)
    tools: list[dict[str, Any]] | None = Field(default=None, max_length=128)
    tool_choice: str | dict[str, Any] | None = None
    modalities: list[Literal["text", "audio"]] | None = Field(default=None, max_length=2)
    logprobs: StrictBool | None = None
    # accepted and ignored (IGNORED_FIELDS)
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    top_p: float | None = Field(default=None, ge=0.0, le=1.0)
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    stop: str | list[str] | None = None
    seed: int | None = None
    presence_penalty: float | None = Field(default=None, ge=-2.0, le=2.0)
    frequency_penalty: float | None = Field(default=None, ge=-2.0, le=2.0)
    store: StrictBool | None = None
    logit_bias: dict[str, Annotated[float, Field(ge=-100.0, le=100.0)]] | None = Field(default=None, max_length=1024)
    top_logprobs: int | None = Field(default=None, ge=0, le=20)
    parallel_tool_calls: StrictBool | None = None
    safety_identifier: str | None = Field(default=None, max_length=256)
    prompt_cache_key: str | None = Field(default=None, max_length=1024)
    prompt_cache_retention: str | None = Field(default=None, max_length=32)
    service_tier: Literal["auto", "default", "flex", "scale", "priority"] | None = None
    reasoning_effort: Literal["none", "minimal", "low", "medium", "high"] | None = None
    verbosity: Literal["low", "medium", "high"] | None = None

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
