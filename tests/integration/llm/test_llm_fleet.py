"""An LLM fleet: ``CRSAGENT_LLM_BASE_URL`` with several replicas (stub servers on loopback).

The chat model made by :func:`~crsagent.agent.llm.client.make_chat_model` spreads its requests
over the replicas in turn, and a replica that cannot be reached is skipped: the request goes on
to the next one at once (with the SDK's retries off, so the fleet alone did it). The backoff
rules are checked on :class:`~crsagent.agent.llm.fleet.Fleet` with a hand-driven clock.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from contextlib import ExitStack
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest

from crsagent.agent.llm.client import discover_model, make_chat_model
from crsagent.agent.llm.fleet import BACKOFF_S, MAX_BACKOFF_S, Fleet
from crsagent.agent.llm.real_llm_switch import allow_real_llm
from crsagent.agent.server.loopback import free_port
from crsagent.agent.settings import Settings
from crsagent.tests.support.loopback import loopback_server


def _replica(name: str, hits: list[str]) -> type[BaseHTTPRequestHandler]:
    """A stub OpenAI server that answers with its own name and records each request."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def _send(self, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:  # noqa: N802 - http.server naming
            self._send({"object": "list", "data": [{"id": "fleet-model", "object": "model"}]})

        def do_POST(self) -> None:  # noqa: N802 - http.server naming
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            hits.append(name)
            self._send(
                {
                    "id": "c1",
                    "object": "chat.completion",
                    "created": 0,
                    "model": "fleet-model",
                    "choices": [
                        {
                            "index": 0,
                            "finish_reason": "stop",
                            "message": {"role": "assistant", "content": f"from {name}"},
                        }
                    ],
                    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                }
            )

    return Handler


@pytest.fixture
def replicas() -> Iterator[tuple[list[str], list[str]]]:
    """Two live stub replicas: their base URLs and the log of which one answered."""
    hits: list[str] = []
    with ExitStack() as stack, allow_real_llm():
        urls = [stack.enter_context(loopback_server(_replica(n, hits))) for n in ("a", "b")]
        yield urls, hits


async def _ainvoke(chat: Any, n: int) -> list[str]:
    return [str((await chat.ainvoke("hi")).content) for _ in range(n)]


def _dead_url() -> str:
    return f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there


def test_requests_go_round_robin_over_the_replicas(replicas) -> None:
    urls, hits = replicas
    chat = make_chat_model(Settings(llm_base_url=",".join(urls), llm_model="fleet-model"), max_retries=0)
    replies = [chat.invoke("hi").content for _ in range(4)]
    replies += asyncio.run(_ainvoke(chat, 2))
    assert hits == ["a", "b", "a", "b", "a", "b"]
    assert replies == [f"from {n}" for n in hits]


def test_a_dead_replica_is_skipped(replicas) -> None:
    urls, hits = replicas
    settings = Settings(llm_base_url=",".join([_dead_url(), urls[0], _dead_url()]), llm_model="fleet-model")
    chat = make_chat_model(settings, max_retries=0)  # no SDK retries: the fleet alone moves on
    assert [chat.invoke("hi").content for _ in range(3)] == ["from a"] * 3
    assert asyncio.run(_ainvoke(chat, 3)) == ["from a"] * 3
    assert hits == ["a"] * 6


def test_the_model_name_is_asked_from_the_first_replica_that_answers(replicas) -> None:
    urls, _ = replicas
    assert discover_model(",".join([_dead_url(), urls[1]]), timeout_s=5) == "fleet-model"
    chat = make_chat_model(Settings(llm_base_url=",".join([_dead_url(), urls[1]])), max_retries=0)
    assert chat.model_name == "fleet-model"  # type: ignore[attr-defined]  # a ChatOpenAI


def test_backoff_doubles_while_a_replica_fails_and_ends_at_its_first_success() -> None:
    now = [100.0]
    fleet = Fleet(["http://a/v1", "http://b/v1", "http://c/v1"], clock=lambda: now[0])

    def firsts() -> set[int]:  # which replicas one round of requests starts on
        return {fleet.order()[0] for _ in range(3)}

    assert firsts() == {0, 1, 2}  # round robin
    fleet.mark_down(1)
    assert firsts() == {0, 2} and fleet.order()[-1] == 1  # skipped, kept as a last resort
    waits = []
    for _ in range(8):
        fleet.mark_down(1)
        waits.append(fleet.status()[1]["down_for_s"])
    assert waits[:4] == [2 * BACKOFF_S, 4 * BACKOFF_S, 8 * BACKOFF_S, 16 * BACKOFF_S]
    assert max(waits) == MAX_BACKOFF_S
    now[0] += MAX_BACKOFF_S - 0.5
    assert firsts() == {0, 2}  # still within its backoff
    now[0] += 1.0
    assert firsts() == {0, 1, 2}  # back in the rotation after it
    fleet.mark_down(1)
    assert fleet.status()[1]["down_for_s"] == MAX_BACKOFF_S  # still failing: the longest wait
    fleet.mark_up(1)  # one success resets it
    assert fleet.status()[1] == {"url": "http://b/v1", "failures": 0, "down_for_s": 0.0, "requests": 1}
    assert firsts() == {0, 1, 2}


def test_every_replica_down_still_tries_the_one_back_soonest() -> None:
    now = [0.0]
    fleet = Fleet("http://a/v1,http://b/v1", clock=lambda: now[0])
    fleet.mark_down(0)
    fleet.mark_down(0)  # 2 s
    fleet.mark_down(1)  # 1 s
    assert fleet.order() == [1, 0]
