"""Fixtures for the HTTP-layer unit tests: an app over a small fake runner (no graph, no LLM).

The fake's reply depends on its input (so tests can tell which text reached it); special
inputs make it fail: ``!llm-down`` raises LLMUnavailableError, ``!degraded`` answers with the
degraded flag, ``!bad-input`` raises EmptyQueryError, ``!bug`` raises a plain RuntimeError.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable, Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from crsagent.agent.errors import EmptyQueryError, LLMUnavailableError
from crsagent.agent.server import ServerConfig, create_app
from crsagent.agent.turns import ChatMessage, Recommendation, TurnResult, Usage

RECS = [
    Recommendation(
        item_id="tt0113277", title="Heat (1995)", score=0.91, explanation="A 1995 crime film.", signals={"cf": 0.5}
    ),
    Recommendation(item_id="tt0114369", title="Se7en (1995)", score=0.87, explanation="Directed by David Fincher."),
]


class FakeRunner:
    """Records every call; optional delay to observe concurrency."""

    def __init__(self, variant: str, delay: float = 0.0, triggers: bool = True) -> None:
        self.variant = variant
        self.delay = delay
        self.triggers = triggers
        self.calls: list[tuple] = []
        self.threads: dict[str, list[str]] = defaultdict(list)
        self.in_flight = 0
        self.max_in_flight = 0
        self.thread_in_flight: dict[str, int] = defaultdict(int)
        self.max_thread_in_flight = 0
        self.closed = False

    async def _work(self, text: str, thread_id: str | None) -> bool:
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        if thread_id is not None:
            self.thread_in_flight[thread_id] += 1
            self.max_thread_in_flight = max(self.max_thread_in_flight, self.thread_in_flight[thread_id])
        try:
            await asyncio.sleep(self.delay)
            if not self.triggers:
                return False
            if text.startswith("!llm-down"):
                raise LLMUnavailableError("connection refused: http://127.0.0.1:1/v1")
            if text.startswith("!bad-input"):
                raise EmptyQueryError("the query is empty")
            if text.startswith("!bug"):
                raise RuntimeError("a bug")
            return text.startswith("!degraded")
        finally:
            self.in_flight -= 1
            if thread_id is not None:
                self.thread_in_flight[thread_id] -= 1

    def _result(self, text: str, turns: int, degraded: bool, thread_id: str | None, user_id: str | None) -> TurnResult:
        reply = f"[{self.variant}] turn {turns} for {user_id or 'anon'}: you said «{text}».  Try Heat,\n then  Se7en. "
        return TurnResult(
            reply=reply,
            action="recommend",
            recommendations=list(RECS),
            usage=Usage(
                prompt_tokens=10 * turns, completion_tokens=7, total_tokens=10 * turns + 7, llm_calls=2, tool_calls=1
            ),
            degraded=degraded,
            thread_id=thread_id,
        )

    async def aturn(self, text: str, *, thread_id: str, user_id: str | None = None) -> TurnResult:
        self.calls.append(("aturn", text, thread_id, user_id))
        degraded = await self._work(text, thread_id)
        self.threads[thread_id].append(text)
        return self._result(text, len(self.threads[thread_id]), degraded, thread_id, user_id)

    async def arun_history(
        self, messages: list[ChatMessage], *, user_id: str | None = None, ranking_k: int = 50
    ) -> TurnResult:
        self.calls.append(("arun_history", [(m.role, m.content) for m in messages], None, user_id))
        text = messages[-1].content
        degraded = await self._work(text, None)
        turns = sum(1 for m in messages if m.role == "user")
        return self._result(text, turns, degraded, None, user_id)

    def turn(self, text: str, *, thread_id: str, user_id: str | None = None) -> TurnResult:
        return asyncio.run(self.aturn(text, thread_id=thread_id, user_id=user_id))

    def run_history(
        self, messages: list[ChatMessage], *, user_id: str | None = None, ranking_k: int = 50
    ) -> TurnResult:
        return asyncio.run(self.arun_history(messages, user_id=user_id, ranking_k=ranking_k))

    async def aclose(self) -> None:
        self.closed = True


class Runners(dict):
    """The fake runners an app made, by variant."""

    def factory(self, delay: float = 0.0, triggers: bool = True) -> Callable[[str], FakeRunner]:
        def make(variant: str) -> FakeRunner:
            self[variant] = FakeRunner(variant, delay=delay, triggers=triggers)
            return self[variant]

        return make


@pytest.fixture
def runners() -> Runners:
    return Runners()


@pytest.fixture
def make_app(runners: Runners) -> Callable[..., FastAPI]:
    def make(delay: float = 0.0, **config: object) -> FastAPI:
        return create_app(runners.factory(delay), ServerConfig(**config))

    return make


@pytest.fixture
def client(make_app: Callable[..., FastAPI]) -> Iterator[TestClient]:
    with TestClient(make_app(), raise_server_exceptions=False) as c:
        yield c
