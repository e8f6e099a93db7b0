"""Streamed chat calls: the answer arrives chunk by chunk, and the caller may stop it early.

:func:`stream_chat` / :func:`astream_chat` are :func:`~crsagent.agent.llm.calls.invoke_chat`
with the server's token stream: each ``AIMessageChunk`` goes to ``on_chunk`` as it arrives;
when ``on_chunk`` returns False the stream is closed (the HTTP response with it, so vLLM stops
generating) and the answer so far is returned. Failures become the same typed errors as a
plain call. Usage is asked for (``stream_usage``); a stream closed early reports none.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from typing import Any

from langchain_core.messages import AIMessage, AIMessageChunk, message_chunk_to_message

from crsagent.agent.errors import LLMOutputError
from crsagent.agent.llm.calls import as_llm_error
from crsagent.agent.llm.usage import UsageMeter

__all__ = ["OnChunk", "stream_chat", "astream_chat"]

#: ``on_chunk(chunk) -> keep_going``.
OnChunk = Callable[[AIMessageChunk], bool]


def _finish(total: AIMessageChunk | None, usage: UsageMeter | None) -> AIMessage:
    if total is None:
        raise LLMOutputError("the LLM's stream ended without a chunk")
    message = message_chunk_to_message(total)
    if not isinstance(message, AIMessage):  # pragma: no cover - an AIMessageChunk converts to an AIMessage
        raise LLMOutputError(f"expected an AIMessage from the chat model, got {type(message).__name__}")
    if usage is not None:
        usage.add_message(message)
    return message


def _fail(exc: Exception, usage: UsageMeter | None) -> BaseException:
    if usage is not None:
        usage.add_failure()
    return as_llm_error(exc)


def _kwargs(model: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
    # ChatOpenAI reports usage on a stream only when asked; the fakes ignore the flag
    return {"stream_usage": True, **kwargs}


def stream_chat(
    model: Any, messages: Sequence[Any], *, on_chunk: OnChunk, usage: UsageMeter | None = None, **kwargs: Any
) -> AIMessage:
    """Call a chat model once, streaming its answer through ``on_chunk``.

    Args:
        model: a chat model or a runnable binding of one (``bind_tools``).
        messages: the conversation.
        on_chunk: sees each chunk; returns False to stop the stream.
        usage: receives the call's token usage.
        **kwargs: passed to ``stream``.

    Returns:
        The answer (all chunks so far, merged).

    Raises:
        LLMUnavailableError: the server is unreachable, timed out, or failed.
        LLMError: the server rejected the request.
        LLMOutputError: the stream held no chunk.
    """
    total: AIMessageChunk | None = None
    stream: Iterator[Any] = model.stream(list(messages), **_kwargs(model, kwargs))
    try:
        for chunk in stream:
            if not isinstance(chunk, AIMessageChunk):
                continue
            total = chunk if total is None else total + chunk
            if not on_chunk(chunk):
                break
    except Exception as exc:  # mapped to a typed error, or re-raised unchanged
        mapped = _fail(exc, usage)
        if mapped is exc:
            raise
        raise mapped from exc
    finally:
        close = getattr(stream, "close", None)
        if close is not None:
            close()
    return _finish(total, usage)


async def astream_chat(
    model: Any, messages: Sequence[Any], *, on_chunk: OnChunk, usage: UsageMeter | None = None, **kwargs: Any
) -> AIMessage:
    """Async :func:`stream_chat`."""
    total: AIMessageChunk | None = None
    stream: AsyncIterator[Any] = model.astream(list(messages), **_kwargs(model, kwargs))
    try:
        async for chunk in stream:
            if not isinstance(chunk, AIMessageChunk):
                continue
            total = chunk if total is None else total + chunk
            if not on_chunk(chunk):
                break
    except Exception as exc:  # mapped to a typed error, or re-raised unchanged
        mapped = _fail(exc, usage)
        if mapped is exc:
            raise
        raise mapped from exc
    finally:
        aclose = getattr(stream, "aclose", None)
        if aclose is not None:
            await aclose()
    return _finish(total, usage)
