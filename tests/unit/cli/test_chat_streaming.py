"""``crsagent chat`` prints a streamed turn as it arrives: tool progress, then the reply's words."""

from __future__ import annotations

import io
from collections.abc import Iterator

from rich.console import Console

from crsagent.agent.cli.chat import ChatSession
from crsagent.agent.turns import Recommendation, TurnResult
from crsagent.graphs.streaming import ReplyDelta, ToolStarted, TurnDone, TurnEvent


class StreamingRunner:
    """A runner with ``stream_turn``: it checks what the chat printed before it goes on."""

    variant = "agent"

    def __init__(self, out: io.StringIO) -> None:
        self.out = out
        self.seen_before_end: str = ""

    def turn(self, text: str, *, thread_id: str, user_id: str | None = None) -> TurnResult:
        raise AssertionError("a runner that streams is streamed")

    def stream_turn(self, text: str, *, thread_id: str, user_id: str | None = None) -> Iterator[TurnEvent]:
        yield ToolStarted("recommend")
        yield ReplyDelta("Try Heat (1995).")
        yield ReplyDelta(" It is tense.")
        self.seen_before_end = self.out.getvalue()  # what the user saw while the turn was still running
        rec = Recommendation(item_id="tt0113277", title="Heat (1995)", score=0.9, explanation="A 1995 crime film.")
        yield TurnDone(TurnResult(reply="Try Heat (1995). It is tense.", recommendations=[rec]))


def test_the_reply_is_printed_while_the_turn_runs_and_only_once() -> None:
    buf = io.StringIO()
    runner = StreamingRunner(buf)
    session = ChatSession(runner, Console(file=buf, width=120, force_terminal=False), "u1", "t1")
    result = session.send("something like Heat")
    assert result is not None and result.reply == "Try Heat (1995). It is tense."
    assert "recommend" in runner.seen_before_end and "Try Heat (1995). It is tense." in runner.seen_before_end
    shown = buf.getvalue()
    assert shown.count("Try Heat (1995). It is tense.") == 1 and "A 1995 crime film." in shown
    assert shown.index("recommend") < shown.index("Try Heat")
