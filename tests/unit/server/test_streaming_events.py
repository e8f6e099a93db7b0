"""The SSE of a runner that streams: progress and reply chunks as they come, errors before and after the first event."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator

import pytest
from fastapi.testclient import TestClient

from crsagent.agent.errors import LLMUnavailableError
from crsagent.agent.server import ServerConfig, create_app
from crsagent.agent.turns import TurnResult
from crsagent.graphs.streaming import ReplyDelta, ToolStarted, TurnDone, TurnEvent


class StreamingRunner:
    """Streams a tool, two sentences, then the result; '!fail-first' / '!fail-later' raise."""

    def __init__(self, variant: str) -> None:
        self.variant = variant

    async def astream_turn(self, text: str, *, thread_id: str, user_id: str | None = None) -> AsyncIterator[TurnEvent]:
        if text == "!fail-first":
            raise LLMUnavailableError("connection refused")
        yield ToolStarted("recommend")
        yield ReplyDelta("Try Heat (1995).")
        if text == "!fail-later":
            raise LLMUnavailableError("connection reset")
        yield ReplyDelta(" It is tense.")
        yield TurnDone(TurnResult(reply="Try Heat (1995). It is tense. Enjoy!", action="recommend"))

    async def astream_history(self, messages, *, user_id=None) -> AsyncIterator[TurnEvent]:
        async for event in self.astream_turn(messages[-1].content, thread_id="stateless", user_id=user_id):
            yield event

    async def aturn(self, text, *, thread_id, user_id=None):  # pragma: no cover - the server streams
        raise AssertionError

    async def arun_history(self, messages, *, user_id=None, ranking_k=50) -> TurnResult:
        return TurnResult(reply="Try Heat (1995). It is tense. Enjoy!")


@pytest.fixture()
def client() -> Iterator[TestClient]:
    with TestClient(create_app(StreamingRunner, ServerConfig(variants=("crs-only",), default_variant="crs-only"))) as c:
        yield c


def _events(resp) -> list:
    return [line[6:] for line in resp.text.splitlines() if line.startswith("data: ")]


def test_progress_then_words_then_the_rest_of_the_reply(client: TestClient) -> None:
    resp = client.post(
        "/v1/chat/completions",
        json={"model": "crsagent", "stream": True, "messages": [{"role": "user", "content": "hi"}]},
    )
    data = _events(resp)
    assert data[-1] == "[DONE]"
    chunks = [json.loads(d) for d in data[:-1]]
    assert chunks[1]["choices"][0]["delta"] == {} and chunks[1]["progress"] == {"type": "tool", "name": "recommend"}
    words = [c["choices"][0]["delta"].get("content") for c in chunks[2:] if c["choices"][0]["delta"].get("content")]
    assert words[:2] == ["Try ", "Heat "] and "".join(words) == "Try Heat (1995). It is tense. Enjoy!"
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"


def test_an_error_before_the_first_event_is_an_http_error(client: TestClient) -> None:
    resp = client.post(
        "/v1/chat/completions",
        json={"model": "crsagent", "stream": True, "messages": [{"role": "user", "content": "!fail-first"}]},
    )
    assert resp.status_code == 503 and resp.json()["error"]["code"] == "llm_unavailable"


def test_an_error_after_the_stream_started_is_an_error_event(client: TestClient) -> None:
    resp = client.post(
        "/v1/chat/completions",
        json={"model": "crsagent", "stream": True, "messages": [{"role": "user", "content": "!fail-later"}]},
    )
    data = _events(resp)
    assert resp.status_code == 200 and "[DONE]" not in data
    last = json.loads(data[-1])
    assert last["error"]["code"] == "llm_unavailable" and last["error"]["type"] == "service_unavailable_error"
    assert any('"content":"Try "' in d for d in data)


def test_shutdown_waits_for_a_streamed_turn_and_does_not_cancel_it() -> None:
    import asyncio

    from crsagent.agent.server.turn_stream import TurnStreams

    finished: list[bool] = []

    async def events() -> AsyncIterator[TurnEvent]:
        await asyncio.sleep(0.05)
        finished.append(True)
        yield TurnDone(TurnResult(reply="done"))

    async def run() -> bool:
        streams = TurnStreams()
        stream = streams.start(events)
        await streams.drain()
        return stream.task.cancelled()

    assert asyncio.run(run()) is False and finished == [True]
