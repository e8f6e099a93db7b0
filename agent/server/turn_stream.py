"""A streamed turn runs on its own task, apart from the HTTP response that sends it.

The response reads the turn's events from a queue (:meth:`TurnStream.next`). A client that
disconnects stops the response, not the turn: the turn runs to its end and its checkpoint is
written once, when the graph finishes, exactly as for a turn that is not streamed (the
session's lock is held until then). So a session never holds half a turn: after a
disconnect it holds the finished turn, which ``GET /v1/sessions/{id}`` shows and the next
request continues from. Server shutdown waits for running turns (:meth:`TurnStreams.drain`)
rather than cancel them: LangGraph saves a cancelled run's progress when it exits, which would
leave half a turn in the session.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

from crsagent.agent.errors import CrsAgentError
from crsagent.agent.server.errors import APIError, from_agent_error
from crsagent.graphs.streaming import TurnDone, TurnEvent

__all__ = ["TurnStream", "TurnStreams", "runner_events"]

log = logging.getLogger("crsagent.server")
_END = object()


async def runner_events(
    runner: Any, *, text: str, history: list[Any], thread_id: str | None, user_id: str | None
) -> AsyncIterator[TurnEvent]:
    """A runner's events for one turn: its own stream (``astream_turn`` / ``astream_history``)
    when it has one, else one :class:`TurnDone` after ``aturn`` / ``arun_history``."""
    if thread_id is not None:
        streamer = getattr(runner, "astream_turn", None)
        if streamer is not None:
            async for event in streamer(text, thread_id=thread_id, user_id=user_id):
                yield event
        else:
            yield TurnDone(await runner.aturn(text, thread_id=thread_id, user_id=user_id))
        return
    streamer = getattr(runner, "astream_history", None)
    if streamer is not None:
        async for event in streamer(history, user_id=user_id):
            yield event
    else:
        yield TurnDone(await runner.arun_history(history, user_id=user_id))


class TurnStream:
    """The events of one turn running on its own task.

    Args:
        events: makes the turn's event iterator (called on the task).
        retry_after_s: ``Retry-After`` of a 503 when the LLM server is unavailable.
    """

    def __init__(self, events: Callable[[], AsyncIterator[TurnEvent]], retry_after_s: int = 5) -> None:
        self._queue: asyncio.Queue[Any] = asyncio.Queue()
        self._retry_after_s = retry_after_s
        self.task = asyncio.create_task(self._run(events), name="crsagent-streamed-turn")

    async def _run(self, events: Callable[[], AsyncIterator[TurnEvent]]) -> None:
        try:
            async for event in events():
                self._queue.put_nowait(event)
        except CrsAgentError as exc:
            self._queue.put_nowait(from_agent_error(exc, retry_after_s=self._retry_after_s))
        except APIError as exc:
            self._queue.put_nowait(exc)
        except Exception as exc:  # noqa: BLE001 - a bug: logged, answered as a 500
            log.exception("a streamed turn failed")
            self._queue.put_nowait(from_agent_error(exc))
        finally:
            self._queue.put_nowait(_END)

    async def next(self) -> TurnEvent:
        """The next event.

        Raises:
            APIError: the turn failed (the HTTP answer for its error).
            StopAsyncIteration: the turn ended without a result (never after a :class:`TurnDone`
                has been read).
        """
        item = await self._queue.get()
        if isinstance(item, APIError):
            raise item
        if item is _END:
            raise StopAsyncIteration
        return item


class TurnStreams:
    """The streamed turns of a server, so that shutdown can wait for them."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()

    def start(self, events: Callable[[], AsyncIterator[TurnEvent]], retry_after_s: int = 5) -> TurnStream:
        """Start a turn on its own task."""
        stream = TurnStream(events, retry_after_s)
        self._tasks.add(stream.task)
        stream.task.add_done_callback(self._tasks.discard)
        return stream

    def __len__(self) -> int:
        """Turns still running."""
        return len(self._tasks)

    async def drain(self) -> None:
        """Wait for the running turns to end (their checkpoints are written).

        They are not cancelled: LangGraph saves a cancelled run's progress at exit, which would
        leave half a turn in its session. A turn ends within its LLM budget and timeouts.
        """
        tasks = list(self._tasks)
        if tasks:
            log.info("waiting for %d streamed turn(s) to finish", len(tasks))
            await asyncio.wait(tasks)
