"""``POST /v1/responses`` at the HTTP layer, over runners that stream (no graph, no LLM).

The conversation itself, against a real server process, is in ``tests/e2e/test_api_responses.py``;
here: the tool-progress events, a turn that fails after its stream started (``error`` then
``response.failed``, and the conversation left as it was), concurrent continuations of one
response, and the id records in the runner's store.
"""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from collections.abc import AsyncIterator, Iterator

import httpx
import openai
import pytest
from langgraph.store.memory import InMemoryStore

from crsagent.agent.errors import LLMUnavailableError
from crsagent.agent.server import ServerConfig, create_app
from crsagent.agent.server.auth import key_identity
from crsagent.agent.server.loopback import serve_in_thread
from crsagent.agent.server.response_ids import NAMESPACE
from crsagent.agent.turns import ChatMessage, Recommendation, TurnResult
from crsagent.graphs.streaming import ReplyDelta, ToolStarted, TurnDone, TurnEvent

KEY = "sk-resp"


class StreamingRunner:
    """Streams ``Try Heat. `` after a ``recommend`` tool; ``!late-fail`` fails after that text."""

    store = InMemoryStore()

    def __init__(self, variant: str) -> None:
        self.variant = variant
        self.threads: dict[str, list[str]] = defaultdict(list)

    def _result(self, text: str) -> TurnResult:
        rec = Recommendation(item_id="tt0113277", title="Heat (1995)", score=9.5, signals={"cf": 1.0, "attr": 0.5})
        return TurnResult(reply=f"Try Heat. You said {text}.", recommendations=[rec])

    async def astream_turn(self, text: str, *, thread_id: str, user_id: str | None = None) -> AsyncIterator[TurnEvent]:
        yield ToolStarted("recommend")
        await asyncio.sleep(0.05)
        yield ReplyDelta("Try Heat. ")
        if text.startswith("!late-fail"):
            raise LLMUnavailableError("connection reset")
        self.threads[thread_id].append(text)
        yield TurnDone(self._result(text))

    async def aturn(self, text: str, *, thread_id: str, user_id: str | None = None) -> TurnResult:
        await asyncio.sleep(0.05)
        self.threads[thread_id].append(text)
        return self._result(text)

    async def arun_history(
        self, messages: list[ChatMessage], *, user_id: str | None = None, ranking_k: int = 50
    ) -> TurnResult:
        return self._result(messages[-1].content)


@pytest.fixture
def served() -> Iterator[tuple[str, dict[str, StreamingRunner]]]:
    runners: dict[str, StreamingRunner] = {}

    def make(variant: str) -> StreamingRunner:
        return runners.setdefault(variant, StreamingRunner(variant))

    with serve_in_thread(create_app(make, ServerConfig(api_keys=(KEY,), default_variant="crs-only"))) as url:
        yield url, runners


def raw_events(url: str, body: dict) -> list[tuple[str, dict]]:
    with httpx.stream(
        "POST", f"{url}/v1/responses", json=body, headers={"Authorization": f"Bearer {KEY}"}, timeout=30
    ) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        text = r.read().decode()
    out = []
    for block in text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        data = json.loads(lines["data"])
        assert lines["event"] == data["type"]
        out.append((lines["event"], data))
    return out


def test_tool_progress_streams_and_the_client_passes_it_through(served) -> None:
    url, runners = served
    client = openai.OpenAI(base_url=f"{url}/v1", api_key=KEY, max_retries=0)
    events = list(client.responses.create(model="crs-only", input="heist films", stream=True))
    kinds = [e.type for e in events]
    assert kinds.index("crsagent.progress") < kinds.index("response.output_text.delta")
    progress = next(e for e in events if e.type == "crsagent.progress")  # type: ignore[comparison-overlap]  # ours
    assert progress.model_extra["progress"] == {"type": "tool", "name": "recommend"}
    done = events[-1].response
    assert "".join(e.delta for e in events if e.type == "response.output_text.delta") == done.output_text
    assert done.output_text == "Try Heat. You said heist films."
    assert done.model_extra["recommendations"][0]["signals"] == {"cf": 1.0, "attr": 0.5}
    # the id records live in the runner's store, under the key's namespace
    ns = (NAMESPACE, key_identity(KEY))
    assert StreamingRunner.store.get(ns, f"response:{done.id}").value == {"session": done.id}
    assert StreamingRunner.store.get(ns, f"head:{done.id}").value == {"response": done.id}
    assert runners["crs-only"].threads[f"{key_identity(KEY)}/{done.id}"] == ["heist films"]


def test_a_late_failure_ends_the_stream_and_leaves_the_conversation_as_it_was(served) -> None:
    url, runners = served
    first = raw_events(url, {"model": "crs-only", "input": "heist films", "stream": True})[-1][1]["response"]
    events = raw_events(
        url, {"model": "crs-only", "input": "!late-fail", "previous_response_id": first["id"], "stream": True}
    )
    kinds = [k for k, _ in events]
    assert kinds[-2:] == ["error", "response.failed"] and "response.completed" not in kinds
    assert [d["sequence_number"] for _, d in events] == list(range(len(events)))
    error, failed = events[-2][1], events[-1][1]["response"]
    assert error["code"] == "llm_unavailable" and "connection reset" in error["message"]
    assert failed["status"] == "failed" and failed["error"]["code"] == "llm_unavailable"
    # the failed response is not part of the conversation: it cannot be continued, the first one can
    r = httpx.post(
        f"{url}/v1/responses",
        headers={"Authorization": f"Bearer {KEY}"},
        timeout=30,
        json={"model": "crs-only", "input": "more", "previous_response_id": failed["id"]},
    )
    assert r.status_code == 404 and r.json()["error"]["code"] == "previous_response_not_found"
    client = openai.OpenAI(base_url=f"{url}/v1", api_key=KEY, max_retries=0)
    nxt = client.responses.create(model="crs-only", input="more", previous_response_id=first["id"])
    assert nxt.status == "completed"
    assert runners["crs-only"].threads[f"{key_identity(KEY)}/{first['id']}"] == ["heist films", "more"]


async def test_two_continuations_of_one_response_one_wins(served) -> None:
    url, runners = served
    client = openai.AsyncOpenAI(base_url=f"{url}/v1", api_key=KEY, max_retries=0)
    first = await client.responses.create(model="crs-only", input="heist films")
    results = await asyncio.gather(
        *(
            client.responses.create(model="crs-only", input=f"branch {i}", previous_response_id=first.id)
            for i in range(2)
        ),
        return_exceptions=True,
    )
    ok = [r for r in results if not isinstance(r, Exception)]
    refused = [r for r in results if isinstance(r, openai.BadRequestError)]
    assert len(ok) == 1 and len(refused) == 1, results
    assert refused[0].body["param"] == "previous_response_id" and ok[0].id in refused[0].body["message"]
    assert runners["crs-only"].threads[f"{key_identity(KEY)}/{first.id}"] == ["heist films", ok[0].output_text[-9:-1]]
