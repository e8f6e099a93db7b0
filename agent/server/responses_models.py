"""Wire models of ``POST /v1/responses`` (OpenAI's Responses API), pydantic.

Requests are strict, as for chat completions (:mod:`crsagent.agent.server.requests`): unknown
fields are a 400 naming the field, types are never coerced. Text input only: ``input`` is a
string or a list of ``message`` items whose content is a string or ``input_text`` /
``output_text`` parts (an earlier ``response.output`` sent back is accepted as it is). The
answer is OpenAI's ``response`` object with two extensions, as on chat completions:
``recommendations`` (the items the reply names, with their per-signal scores) and ``crsagent``
(what the turn did).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from crsagent.agent.server.protocol import RecommendationOut, TurnInfo

__all__ = [
    "RESPONSES_IGNORED_FIELDS",
    "InputPart",
    "InputMessage",
    "ResponseStreamOptions",
    "ResponseCreateRequest",
    "OutputText",
    "OutputMessage",
    "ResponseUsage",
    "ResponseObject",
]

#: Request fields accepted for compatibility and not forwarded (docs/api.md lists them).
RESPONSES_IGNORED_FIELDS: tuple[str, ...] = (
    "temperature",
    "top_p",
    "max_output_tokens",
    "max_tool_calls",
    "parallel_tool_calls",
    "truncation",
    "reasoning",
    "include",
    "top_logprobs",
    "safety_identifier",
    "prompt_cache_key",
    "prompt_cache_retention",
    "service_tier",
    "stream_options",
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class InputPart(_Strict):
    """A text part of an input message: ``input_text`` (what the user wrote) or ``output_text``
    (an earlier answer sent back; its ``annotations`` and ``logprobs`` are accepted and ignored)."""

    type: Literal["input_text", "output_text"]
    text: str
    annotations: list[dict[str, Any]] | None = Field(default=None, max_length=256)
    logprobs: list[dict[str, Any]] | None = Field(default=None, max_length=4096)


class InputMessage(_Strict):
    """One message of ``input`` (OpenAI's easy input message, or an earlier output message)."""

    role: Literal["user", "assistant", "system", "developer"]
    content: str | list[InputPart]
    type: Literal["message"] = "message"
    id: str | None = Field(default=None, max_length=256)
    status: Literal["in_progress", "completed", "incomplete"] | None = None
    phase: Literal["commentary", "final_answer"] | None = None

    def text(self) -> str:
        """The message's text (its parts joined without separator)."""
        return self.content if isinstance(self.content, str) else "".join(p.text for p in self.content)


class ResponseStreamOptions(_Strict):
    """``stream_options`` (accepted and ignored)."""

    include_obfuscation: StrictBool | None = None


class ResponseCreateRequest(_Strict):
    """``POST /v1/responses`` request body.

    ``previous_response_id`` continues the conversation of an earlier response of the same API
    key; ``user`` keys the profile memory, as on chat completions. The fields of
    :data:`RESPONSES_IGNORED_FIELDS` are validated and not forwarded; ``store: false`` makes
    a stateless turn that leaves nothing behind; ``tools``,
    ``tool_choice``, ``text.format``, ``background``, ``conversation`` and ``prompt`` are
    refused when they ask for what the agent cannot do.
    """

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        json_schema_extra={
            "examples": [
                {"model": "crsagent", "input": "A film like Heat, but newer?"},
                {
                    "model": "crs-only",
                    "input": "Something from the 90s",
                    "previous_response_id": "resp_0a1b2c",
                    "user": "alice",
                    "stream": True,
                },
            ]
        },
    )

    model: str = Field(min_length=1, max_length=128, examples=["crsagent", "crs-only"])
    input: str | list[InputMessage]
    instructions: str | None = None
    previous_response_id: str | None = Field(default=None, min_length=1, max_length=128)
    stream: StrictBool = False
    user: str | None = Field(default=None, max_length=256)
    metadata: dict[str, str] | None = Field(default=None, max_length=16)
    tools: list[dict[str, Any]] | None = Field(default=None, max_length=128)
    tool_choice: str | dict[str, Any] | None = None
    text: dict[str, Any] | None = None
    background: StrictBool | None = None
    conversation: str | dict[str, Any] | None = None
    store: StrictBool | None = None
    prompt: dict[str, Any] | None = None
    # accepted and ignored (RESPONSES_IGNORED_FIELDS)
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    top_p: float | None = Field(default=None, ge=0.0, le=1.0)
    max_output_tokens: int | None = Field(default=None, ge=1)
    max_tool_calls: int | None = Field(default=None, ge=0)
    parallel_tool_calls: StrictBool | None = None
    truncation: Literal["auto", "disabled"] | None = None
    reasoning: dict[str, Any] | None = None
    include: list[str] | None = Field(default=None, max_length=32)
    top_logprobs: int | None = Field(default=None, ge=0, le=20)
    safety_identifier: str | None = Field(default=None, max_length=256)
    prompt_cache_key: str | None = Field(default=None, max_length=1024)
    prompt_cache_retention: Literal["in_memory", "24h"] | None = None
    service_tier: Literal["auto", "default", "flex", "scale", "priority"] | None = None
    stream_options: ResponseStreamOptions | None = None


class OutputText(BaseModel):
    """The text part of the answer message."""

    type: Literal["output_text"] = "output_text"
    text: str
    annotations: list[dict[str, Any]] = Field(default_factory=list)
    logprobs: list[dict[str, Any]] = Field(default_factory=list)


class OutputMessage(BaseModel):
    """The answer: one assistant ``message`` output item."""

    id: str
    type: Literal["message"] = "message"
    status: Literal["in_progress", "completed", "incomplete"] = "completed"
    role: Literal["assistant"] = "assistant"
    content: list[OutputText] = Field(default_factory=list)


class ResponseUsage(BaseModel):
    """Token usage of the LLM calls the turn made, in the Responses API's names."""

    input_tokens: int = 0
    input_tokens_details: dict[str, int] = Field(default_factory=lambda: {"cached_tokens": 0})
    output_tokens: int = 0
    output_tokens_details: dict[str, int] = Field(default_factory=lambda: {"reasoning_tokens": 0})
    total_tokens: int = 0


class ResponseObject(BaseModel):
    """A response (``object: response``), with the ``recommendations`` and ``crsagent`` extensions.

    Attributes:
        id: ``resp_...``; send it as ``previous_response_id`` to continue the conversation.
        status: ``completed``; ``in_progress`` in the first streamed events; ``failed`` when a
            streamed turn failed (``error`` says why).
        output: one assistant message once the turn is done.
        recommendations: the items named in the reply, best first (as on chat completions).
        crsagent: what the turn did (``session_id`` is the conversation's session, readable at
            ``GET /v1/sessions/{session_id}``).
    """

    id: str
    object: Literal["response"] = "response"
    created_at: int
    status: Literal["completed", "in_progress", "failed"] = "completed"
    completed_at: int | None = None
    model: str
    output: list[OutputMessage] = Field(default_factory=list)
    error: dict[str, Any] | None = None
    incomplete_details: None = None
    instructions: str | None = None
    metadata: dict[str, str] = Field(default_factory=dict)
    previous_response_id: str | None = None
    parallel_tool_calls: bool = False
    tool_choice: str = "auto"
    tools: list[dict[str, Any]] = Field(default_factory=list)
    temperature: float | None = None
    top_p: float | None = None
    store: bool = True
    text: dict[str, Any] = Field(default_factory=lambda: {"format": {"type": "text"}})
    truncation: str = "disabled"
    user: str | None = None
    usage: ResponseUsage | None = None
    recommendations: list[RecommendationOut] = Field(default_factory=list)
    crsagent: TurnInfo | None = None
