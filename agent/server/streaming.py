"""Server-sent events for ``stream: true``: a finished turn as ``chat.completion.chunk`` events.

The reply is cut into word chunks whose concatenation is exactly the reply, so a client that
joins the deltas gets the same text as a non-streamed request. The last choice chunk carries
``recommendations`` in its delta and the ``finish_reason``; then, with
``stream_options.include_usage``, a chunk with the usage and no choices; then ``[DONE]``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from crsagent.agent.server.protocol import RecommendationOut, TurnInfo, UsageOut

__all__ = ["split_words", "sse_event", "DONE", "completion_chunks"]

DONE = "data: [DONE]\n\n"
_WORDS = re.compile(r"\S+\s*|\s+")


def split_words(text: str) -> list[str]:
    """Cut ``text`` into words, each with its trailing whitespace; ``"".join`` gives ``text`` back."""
    return _WORDS.findall(text)


def sse_event(payload: dict[str, Any]) -> str:
    """One ``data:`` event (compact JSON, no newline inside)."""
    return f"data: {json.dumps(payload, separators=(',', ':'), ensure_ascii=False)}\n\n"


def _chunk(base: dict[str, Any], delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
    return {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason, "logprobs": None}]}


def completion_chunks(
    *,
    completion_id: str,
    created: int,
    model: str,
    reply: str,
    recommendations: list[RecommendationOut],
    usage: UsageOut,
    info: TurnInfo,
    include_usage: bool,
) -> Iterator[str]:
    """The SSE events of one turn, ``[DONE]`` last.

    Args:
        completion_id: shared by every chunk (``chatcmpl-...``).
        created: Unix time of the request.
        model: the model id as requested.
        reply: the assistant's text.
        recommendations: the structured recommendations.
        usage: the turn's LLM usage.
        info: the ``crsagent`` extension object (sent on the final choice chunk).
        include_usage: add the usage chunk (``stream_options.include_usage``).
    """
    base = {"id": completion_id, "object": "chat.completion.chunk", "created": created, "model": model}
    yield sse_event(_chunk(base, {"role": "assistant", "content": ""}))
    for piece in split_words(reply):
        yield sse_event(_chunk(base, {"content": piece}))
    final = _chunk(base, {"recommendations": [r.model_dump(mode="json") for r in recommendations]}, "stop")
    final["crsagent"] = info.model_dump(mode="json")
    yield sse_event(final)
    if include_usage:
        yield sse_event({**base, "choices": [], "usage": usage.model_dump(mode="json")})
    yield DONE
