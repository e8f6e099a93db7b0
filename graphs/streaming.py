"""A turn as a stream of events: reply text as the guard releases it, tools as they start, the result.

:meth:`CRSAgent.astream_turn <crsagent.graphs.runner.CRSAgent.astream_turn>` (and
``astream_history``, ``stream_turn``) run the graph with LangGraph's ``stream_mode=["custom",
"values"]`` and the run flag :data:`~crsagent.graphs.dialogue.reply_gate.STREAM_KEY`: the ``agent`` node
then streams the LLM's answer through the sentence gate and writes each released piece
(``{"type": "reply"}``); ``agent_tools`` writes each tool it runs (``{"type": "tool"}``).

Events, in order: :class:`ToolStarted` and :class:`ReplyDelta` while the turn runs, then one
:class:`TurnDone` with the :class:`~crsagent.agent.turns.TurnResult`. The deltas' text is a
prefix of ``result.reply`` (all of it when the LLM's reply carried the turn; empty when the
turn fell back, whose reply is known only at the end). The checkpoint is written once, when
the run ends (``durability="exit"``), as for a turn that is not streamed.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

from langchain_core.messages import HumanMessage

from crsagent.agent.errors import ToolInputError
from crsagent.agent.turns import ChatMessage, TurnResult
from crsagent.graphs.context import CRSContext
from crsagent.graphs.dialogue.reply_gate import STREAM_KEY
from crsagent.graphs.execution import GraphInvoker
from crsagent.graphs.turn_io import clean_message, history_messages

__all__ = ["ReplyDelta", "ToolStarted", "TurnDone", "TurnEvent", "StreamingTurns", "stream_graph", "astream_graph"]


@dataclass(frozen=True)
class ReplyDelta:
    """Reply text the guard released (whole sentences)."""

    text: str


@dataclass(frozen=True)
class ToolStarted:
    """The agent runs a tool (progress for a UI)."""

    name: str


@dataclass(frozen=True)
class TurnDone:
    """The turn ended; ``result.reply`` starts with every delta's text."""

    result: TurnResult


TurnEvent = ReplyDelta | ToolStarted | TurnDone
Finish = Callable[[dict[str, Any]], TurnResult]


def _event(data: Any) -> TurnEvent | None:
    if isinstance(data, dict) and data.get("type") == "reply" and data.get("text"):
        return ReplyDelta(str(data["text"]))
    if isinstance(data, dict) and data.get("type") == "tool" and data.get("name"):
        return ToolStarted(str(data["name"]))
    return None


def _config(agent: GraphInvoker, thread_id: str | None) -> dict[str, Any]:
    cfg = agent._config(thread_id)
    cfg["configurable"] = {**(cfg.get("configurable") or {}), STREAM_KEY: True}
    return cfg


def stream_graph(
    agent: GraphInvoker, graph: Any, inp: dict[str, Any], ctx: CRSContext, thread_id: str | None, finish: Finish
) -> Iterator[TurnEvent]:
    """Run a turn with the blocking API and yield its events.

    Args:
        agent: the runner (config, persistence mode, thread locks).
        graph: its checkpointed or stateless graph.
        inp: the graph input.
        ctx: the run context.
        thread_id: the thread (None: stateless).
        finish: makes the result from the final state.
    """
    if agent._graph_mode(graph) == "async":  # async persistence: no blocking stream; the result at the end
        yield TurnDone(finish(agent._invoke(graph, inp, ctx, thread_id)))
        return
    final: dict[str, Any] | None = None
    lock = agent._locks.hold(thread_id) if thread_id is not None and graph is agent.graph else nullcontext()
    with lock:
        for mode, data in graph.stream(
            inp, _config(agent, thread_id), stream_mode=["custom", "values"], **agent._kwargs(graph, ctx)
        ):
            if mode == "values":
                final = data
            elif (event := _event(data)) is not None:
                yield event
    yield TurnDone(finish(final or {}))


async def astream_graph(
    agent: GraphInvoker, graph: Any, inp: dict[str, Any], ctx: CRSContext, thread_id: str | None, finish: Finish
) -> AsyncIterator[TurnEvent]:
    """Async :func:`stream_graph` (synchronous persistence streams from a worker thread)."""
    if agent._graph_mode(graph) == "sync":
        async for event in _from_thread(lambda: stream_graph(agent, graph, inp, ctx, thread_id, finish)):
            yield event
        return
    final: dict[str, Any] | None = None
    async for mode, data in graph.astream(
        inp, _config(agent, thread_id), stream_mode=["custom", "values"], **agent._kwargs(graph, ctx)
    ):
        if mode == "values":
            final = data
        elif (turn_event := _event(data)) is not None:
            yield turn_event
    yield TurnDone(finish(final or {}))


async def _from_thread(make: Callable[[], Iterator[TurnEvent]]) -> AsyncIterator[TurnEvent]:
    """Run a blocking event iterator in a thread; its events (or its error) come back here."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()

    def run() -> None:
        try:
            for event in make():
                loop.call_soon_threadsafe(queue.put_nowait, ("event", event))
        except BaseException as exc:  # handed to the awaiting side
            loop.call_soon_threadsafe(queue.put_nowait, ("error", exc))
        else:
            loop.call_soon_threadsafe(queue.put_nowait, ("end", None))

    threading.Thread(target=run, name="crsagent-stream-turn", daemon=True).start()
    while True:
        kind, value = await queue.get()
        if kind == "event":
            yield value
        elif kind == "error":
            raise value
        else:
            return


class StreamingTurns(GraphInvoker):
    """The streaming half of the runner contract (:class:`~crsagent.graphs.runner.CRSAgent` has it).

    A subclass gives the run context (``context``) and the result (``result``) of a turn.
    """

    def context(self, user_id: str | None = None, ranking_k: int = 50) -> CRSContext:
        """The run context of one turn."""
        raise NotImplementedError

    def result(self, state: dict[str, Any], *, thread_id: str | None = None, ranking_k: int = 50) -> TurnResult:
        """A :class:`~crsagent.agent.turns.TurnResult` from a final graph state."""
        raise NotImplementedError

    def astream_turn(self, text: str, *, thread_id: str, user_id: str | None = None) -> AsyncIterator[TurnEvent]:
        """:meth:`~crsagent.graphs.runner.CRSAgent.aturn` as events: reply text as the guard
        releases it, tools as they start, then :class:`TurnDone` with the result.

        Raises:
            EmptyQueryError: blank message (at once, before any event).
            ToolInputError: message too long or no thread id.
        """
        return astream_graph(self, *self._turn_run(text, thread_id, user_id))

    def astream_history(
        self, messages: Sequence[ChatMessage | dict[str, Any]], *, user_id: str | None = None, ranking_k: int = 50
    ) -> AsyncIterator[TurnEvent]:
        """:meth:`~crsagent.graphs.runner.CRSAgent.arun_history` as events (see :meth:`astream_turn`)."""
        inp = {"messages": history_messages(messages)}
        return astream_graph(
            self,
            self.stateless_graph,
            inp,
            self.context(user_id, ranking_k),
            None,
            lambda state: self.result(state, ranking_k=ranking_k),
        )

    def stream_turn(self, text: str, *, thread_id: str, user_id: str | None = None) -> Iterator[TurnEvent]:
        """Synchronous :meth:`astream_turn`."""
        return stream_graph(self, *self._turn_run(text, thread_id, user_id))

    def _turn_run(self, text: str, thread_id: str, user_id: str | None) -> tuple[Any, ...]:
        """The graph, input, context, thread and result maker of one checkpointed turn."""
        if not thread_id:
            raise ToolInputError("a thread id is required")
        inp = {"messages": [HumanMessage(content=clean_message(text))]}
        return self.graph, inp, self.context(user_id), thread_id, lambda state: self.result(state, thread_id=thread_id)
