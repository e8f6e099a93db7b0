"""Server-sent events for ``stream: true``: a turn's events as ``chat.completion.chunk`` events.

The events of a running turn (:mod:`crsagent.graphs.streaming`) become chunks as they arrive:

1. ``delta: {"role": "assistant", "content": ""}`` first;
2. reply text, as the grounding guard releases it, one chunk per word (``delta.content``, the
   word with its trailing whitespace); the rest of the reply (all of it, when the turn fell
   back to the deterministic policy) follows when the turn ends;
3. a progress chunk for each tool the agent starts: an empty ``delta`` and the extension
   object ``progress: {"type": "tool", "name": ...}`` (clients that ignore it see an empty
   delta);
4. the final choice chunk: ``recommendations`` in its delta, ``finish_reason: "stop"`` and the
   ``crsagent`` object; then, with ``stream_options.include_usage``, a chunk with the usage and
   no choices; then ``[DONE]``.

The concatenated ``delta.content`` is exactly the turn's reply. An error after the first event
is sent as ``data: {"error": {...}}`` (OpenAI's streamed error, which its clients raise) and
ends the stream.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

from crsagent.agent.server.errors import APIError, error_body
from crsagent.agent.server.protocol import RecommendationOut, TurnInfo, UsageOut
from crsagent.graphs.streaming import ReplyDelta, ToolStarted, TurnDone, TurnEvent

__all__ = ["split_words", "sse_event", "DONE", "ChunkWriter", "sse_stream"]

DONE = "data: [DONE]\n\n"
_WORDS = re.compile(r"\S+\s*|\s+")
log = logging.getLogger("crsagent.server")

#: ``(result) -> (recommendations, usage, crsagent object)`` of a finished turn.
Parts = Callable[[Any], tuple[list[RecommendationOut], UsageOut, TurnInfo]]


def split_words(text: str) -> list[str]:
    """Cut ``text`` into words, each with its trailing whitespace; ``"".join`` gives ``text`` back."""
    return _WORDS.findall(text)


def sse_event(payload: dict[str, Any]) -> str:
    """One ``data:`` event (compact JSON, no newline inside)."""
    return f"data: {json.dumps(payload, separators=(',', ':'), ensure_ascii=False)}\n\n"


class ChunkWriter:
    """The ``chat.completion.chunk`` events of one answer.

    Args:
        completion_id: shared by every chunk (``chatcmpl-...``).
        created: Unix time of the request.
        model: the model id as requested.
    """

    def __init__(self, completion_id: str, created: int, model: str) -> None:
        self.base = {"id": completion_id, "object": "chat.completion.chunk", "created": created, "model": model}

    def _chunk(self, delta: dict[str, Any], finish_reason: str | None = None, **extra: Any) -> str:
        choice = {"index": 0, "delta": delta, "finish_reason": finish_reason, "logprobs": None}
        return sse_event({**self.base, "choices": [choice], **extra})

    def role(self) -> str:
        """The opening chunk."""
        return self._chunk({"role": "assistant", "content": ""})

    def words(self, text: str) -> Iterator[str]:
        """One content chunk per word of ``text``."""
        for piece in split_words(text):
            yield self._chunk({"content": piece})

    def progress(self, tool: str) -> str:
        """A progress chunk: the agent started ``tool``."""
        return self._chunk({}, progress={"type": "tool", "name": tool})

    def final(self, recommendations: list[RecommendationOut], info: TurnInfo) -> str:
        """The last choice chunk: recommendations, ``finish_reason`` and the ``crsagent`` object."""
        recs = [r.model_dump(mode="json") for r in recommendations]
        return self._chunk({"recommendations": recs}, "stop", crsagent=info.model_dump(mode="json"))

    def usage(self, usage: UsageOut) -> str:
        """The usage chunk (no choices)."""
        return sse_event({**self.base, "choices": [], "usage": usage.model_dump(mode="json")})


async def sse_stream(
    writer: ChunkWriter,
    first: TurnEvent,
    next_event: Callable[[], Awaitable[TurnEvent]],
    parts: Parts,
    include_usage: bool,
) -> AsyncIterator[str]:
    """The SSE events of a turn whose first event is already known.

    Args:
        writer: makes the chunks.
        first: the turn's first event.
        next_event: awaits the next one (raises :class:`APIError` when the turn failed).
        parts: the final chunk's parts from the turn's result.
        include_usage: add the usage chunk.
    """
    yield writer.role()
    sent = ""
    event = first
    while True:  # the chunks of one event go out in one write
        if isinstance(event, ReplyDelta):
            sent += event.text
            yield "".join(writer.words(event.text))
        elif isinstance(event, ToolStarted):
            yield writer.progress(event.name)
        elif isinstance(event, TurnDone):
            reply = event.result.reply
            rest = reply[len(sent) :] if reply.startswith(sent) else ""
            if not reply.startswith(sent):  # pragma: no cover - the graph keeps the released text as the reply's start
                log.error("streamed text is not the start of the turn's reply; the rest is not sent")
            recs, usage, info = parts(event.result)
            tail = [*writer.words(rest), writer.final(recs, info)]
            if include_usage:
                tail.append(writer.usage(usage))
            yield "".join([*tail, DONE])
            return
        try:
            event = await next_event()
        except APIError as exc:
            yield sse_event(error_body(exc.message, exc.type, exc.param, exc.code))
            return
