"""The answer of ``POST /v1/responses``: the ``response`` object, and its server-sent events.

With ``stream: true`` the events are OpenAI's Responses events, each ``event: <type>`` plus
``data: {..., "sequence_number": n}`` (numbered from 0), sent while the turn runs:

1. ``response.created`` and ``response.in_progress`` (the response, ``status: in_progress``,
   no output yet: its ``id`` is known from the first event);
2. ``response.output_item.added`` (the assistant message) and ``response.content_part.added``
   (its ``output_text`` part);
3. while the agent runs tools, ``crsagent.progress`` events (``{"progress": {"type": "tool",
   "name": ...}}``; an extension, which OpenAI's clients pass through as an unknown event);
4. ``response.output_text.delta``, one per word (with its trailing whitespace), as the
   grounding guard releases the reply; the rest of the reply when the turn ends;
5. ``response.output_text.done``, ``response.content_part.done``, ``response.output_item.done``
   and ``response.completed`` (the whole response, ``recommendations`` and ``crsagent``
   included). There is no ``[DONE]``: ``response.completed`` is the last event.

The concatenated deltas are exactly the reply. A turn that fails after the first event sends
an ``error`` event (``code``, ``message``, ``param``) and ``response.failed`` (the response with
``status: failed`` and ``error``), and the stream ends.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

from crsagent.agent.server.errors import APIError
from crsagent.agent.server.protocol import RecommendationOut, TurnInfo
from crsagent.agent.server.responses_models import OutputMessage, OutputText, ResponseObject, ResponseUsage
from crsagent.agent.server.streaming import split_words
from crsagent.agent.turns import TurnResult
from crsagent.graphs.streaming import ReplyDelta, ToolStarted, TurnDone, TurnEvent

__all__ = ["ResponseShape", "response_events"]


class ResponseShape:
    """What every view of one response shares (its ids, the request's echoed fields).

    Args:
        response_id: ``resp_...``.
        message_id: ``msg_...``, the id of the answer's output item.
        created_at: Unix time of the request.
        echo: request fields the response object repeats (``model``, ``instructions``,
            ``metadata``, ``previous_response_id``, ``user``, ``store``).
        info: ``(result) -> crsagent object`` of a finished turn.
    """

    def __init__(
        self,
        response_id: str,
        message_id: str,
        created_at: int,
        echo: dict[str, Any],
        info: Callable[[TurnResult], TurnInfo],
    ) -> None:
        self.response_id = response_id
        self.message_id = message_id
        self.created_at = created_at
        self.echo = echo
        self.info = info

    def pending(self) -> ResponseObject:
        """The response before its turn ended (``status: in_progress``, no output)."""
        return ResponseObject(id=self.response_id, created_at=self.created_at, status="in_progress", **self.echo)

    def message(self, text: str, status: str = "completed") -> OutputMessage:
        """The answer's output item."""
        content = [OutputText(text=text)] if status == "completed" else []
        return OutputMessage(id=self.message_id, status=status, content=content)  # type: ignore[arg-type]

    def completed(self, result: TurnResult) -> ResponseObject:
        """The finished response."""
        u = result.usage
        usage = ResponseUsage(
            input_tokens=u.prompt_tokens,
            output_tokens=u.completion_tokens,
            total_tokens=max(u.total_tokens, u.prompt_tokens + u.completion_tokens),
        )
        return ResponseObject(
            id=self.response_id,
            created_at=self.created_at,
            completed_at=int(time.time()),
            output=[self.message(result.reply)],
            usage=usage,
            recommendations=[RecommendationOut.of(r) for r in result.recommendations],
            crsagent=self.info(result),
            **self.echo,
        )

    def failed(self, exc: APIError) -> ResponseObject:
        """The response of a streamed turn that failed."""
        return ResponseObject(
            id=self.response_id,
            created_at=self.created_at,
            status="failed",
            error={"code": exc.code or exc.type, "message": exc.message},
            **self.echo,
        )


class _Events:
    """Numbered SSE events of one response."""

    def __init__(self, shape: ResponseShape) -> None:
        self.shape = shape
        self.seq = 0
        self.where = {"item_id": shape.message_id, "output_index": 0, "content_index": 0}

    def event(self, kind: str, **payload: Any) -> str:
        body = {"type": kind, **payload, "sequence_number": self.seq}
        self.seq += 1
        return f"event: {kind}\ndata: {json.dumps(body, separators=(',', ':'), ensure_ascii=False)}\n\n"

    def response(self, kind: str, obj: ResponseObject) -> str:
        return self.event(kind, response=obj.model_dump(mode="json"))

    def opening(self) -> str:
        pending = self.shape.pending()
        item = self.shape.message("", "in_progress").model_dump(mode="json")
        return "".join(
            [
                self.response("response.created", pending),
                self.response("response.in_progress", pending),
                self.event("response.output_item.added", output_index=0, item=item),
                self.event(
                    "response.content_part.added",
                    item_id=self.shape.message_id,
                    output_index=0,
                    content_index=0,
                    part=OutputText(text="").model_dump(mode="json"),
                ),
            ]
        )

    def words(self, text: str) -> Iterator[str]:
        for piece in split_words(text):
            yield self.event("response.output_text.delta", **self.where, delta=piece, logprobs=[])

    def closing(self, result: TurnResult) -> str:
        done = self.shape.completed(result)
        part = done.output[0].content[0].model_dump(mode="json")
        return "".join(
            [
                self.event("response.output_text.done", **self.where, text=result.reply, logprobs=[]),
                self.event("response.content_part.done", **self.where, part=part),
                self.event("response.output_item.done", output_index=0, item=done.output[0].model_dump(mode="json")),
                self.response("response.completed", done),
            ]
        )

    def failure(self, exc: APIError) -> str:
        return self.event("error", code=exc.code, message=exc.message, param=exc.param) + self.response(
            "response.failed", self.shape.failed(exc)
        )


async def response_events(
    shape: ResponseShape, first: TurnEvent, next_event: Callable[[], Awaitable[TurnEvent]]
) -> AsyncIterator[str]:
    """The SSE events of a started turn whose first event is already known.

    Args:
        shape: the response's ids and echoed fields.
        first: the turn's first event.
        next_event: awaits the next one (raises :class:`APIError` when the turn failed).
    """
    out = _Events(shape)
    yield out.opening()
    sent = ""
    event = first
    while True:  # the events of one turn event go out in one write
        if isinstance(event, ReplyDelta):
            sent += event.text
            yield "".join(out.words(event.text))
        elif isinstance(event, ToolStarted):
            yield out.event("crsagent.progress", progress={"type": "tool", "name": event.name})
        elif isinstance(event, TurnDone):
            reply = event.result.reply
            rest = reply[len(sent) :] if reply.startswith(sent) else ""
            yield "".join([*out.words(rest), out.closing(event.result)])
            return
        try:
            event = await next_event()
        except APIError as exc:
            yield out.failure(exc)
            return
        except StopAsyncIteration:  # pragma: no cover - a turn always ends with TurnDone or an error
            yield out.failure(APIError(500, "the turn ended without a result", code="internal_error"))
            return
