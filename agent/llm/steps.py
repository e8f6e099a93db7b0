"""LLM work written once, run sync or async: a generator yields its requests, a driver sends them.

A function that talks to the LLM (a structured answer with its repair, a graph node) is a
generator: it ``yield``s a :class:`ChatCall` where it would block, gets the ``AIMessage`` back
(or the typed LLM error, thrown in at the ``yield``) and finally returns its result.
:func:`drive` performs the waits with a blocking function (:func:`perform_chat`),
:func:`adrive` awaits an async one (:func:`aperform_chat`). The graph's node driver
(:mod:`crsagent.graphs.effects`) adds its own waits (the profile store) on the same drivers.

Example:
    >>> def ask(model):                                                       # doctest: +SKIP
    ...     answer = yield ChatCall(model, [HumanMessage("hi")])
    ...     return answer.text
    >>> drive(ask(model), perform_chat)         # blocking
    >>> await adrive(ask(model), aperform_chat)  # on the event loop
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Generator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from langchain_core.messages import AIMessage

from crsagent.agent.llm.calls import ainvoke_chat, invoke_chat
from crsagent.agent.llm.stream_calls import astream_chat, stream_chat
from crsagent.agent.llm.usage import UsageMeter

__all__ = ["ChatCall", "Steps", "perform_chat", "aperform_chat", "drive", "adrive"]

T = TypeVar("T")


@dataclass(frozen=True)
class ChatCall:
    """One chat request: the answer (an ``AIMessage``) is sent back, a typed LLM error thrown in.

    Attributes:
        model: the chat model (bound with tools or a response format, or plain).
        messages: the prompt.
        meter: counts the request's usage, when given.
        on_chunk: when given, the answer is streamed (:mod:`crsagent.agent.llm.stream_calls`):
            each chunk goes to it as it arrives, and it returns False to stop the stream early.
    """

    model: Any
    messages: Sequence[Any]
    meter: UsageMeter | None = None
    on_chunk: Any = None


#: A generator of waits (``ChatCall`` and, in graph nodes, other effects) returning ``T``.
Steps = Generator[Any, Any, T]


def perform_chat(call: ChatCall) -> AIMessage:
    """Send one :class:`ChatCall` with the blocking API (streamed when it has ``on_chunk``)."""
    if call.on_chunk is not None:
        return stream_chat(call.model, call.messages, on_chunk=call.on_chunk, usage=call.meter)
    return invoke_chat(call.model, list(call.messages), usage=call.meter)


async def aperform_chat(call: ChatCall) -> AIMessage:
    """Send one :class:`ChatCall` with the async API (streamed when it has ``on_chunk``)."""
    if call.on_chunk is not None:
        return await astream_chat(call.model, call.messages, on_chunk=call.on_chunk, usage=call.meter)
    return await ainvoke_chat(call.model, list(call.messages), usage=call.meter)


def drive(steps: Steps[T], perform: Callable[[Any], Any]) -> T:
    """Run ``steps``, performing each yielded wait with ``perform``.

    An exception from ``perform`` is thrown into the generator at its ``yield``, which decides
    what to do with it.
    """
    try:
        effect = next(steps)
        while True:
            try:
                result = perform(effect)
            except Exception as exc:  # noqa: BLE001 - handed to the generator, which decides
                effect = steps.throw(exc)
            else:
                effect = steps.send(result)
    except StopIteration as stop:
        return stop.value


async def adrive(steps: Steps[T], perform: Callable[[Any], Awaitable[Any]]) -> T:
    """:func:`drive` on the event loop: each wait is awaited with ``perform``."""
    try:
        effect = next(steps)
        while True:
            try:
                result = await perform(effect)
            except Exception as exc:  # noqa: BLE001 - handed to the generator, which decides
                effect = steps.throw(exc)
            else:
                effect = steps.send(result)
    except StopIteration as stop:
        return stop.value
