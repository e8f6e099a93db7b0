"""Fixtures for the evaluation-harness unit tests: a small catalogue and fake agents.

The fake agents honour :class:`crsagent.agent.turns.AgentRunner` with behaviour the tests
decide, so the harness's arithmetic can be checked exactly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from crsagent.agent.settings import default_data_dir
from crsagent.agent.turns import ChatMessage, Recommendation, TurnResult, Usage
from crsagent.evals.datasets import TitleResolver, load_redial_info, split_title_year


@dataclass
class FakeItem:
    """Just the catalogue fields the harness reads."""

    item_id: str
    title: str
    year: int | None = None
    genres: list[str] = field(default_factory=list)
    directors: list[str] = field(default_factory=list)
    cast: list[str] = field(default_factory=list)
    plot: str = ""
    redial_id: int | None = None
    popularity: float = 0.0


@pytest.fixture(scope="session")
def redial_info() -> dict:
    return load_redial_info(default_data_dir())


@pytest.fixture(scope="session")
def redial_items(redial_info: dict) -> list[FakeItem]:
    """One item per ReDial movie record (id = its IMDb id), as the catalogue would hold them."""
    items: dict[str, FakeItem] = {}
    for rid, rec in redial_info.items():
        iid = rec.get("imdb_id") or f"rd{rid}"
        title, year = split_title_year(rec["name"])
        items.setdefault(
            iid,
            FakeItem(
                iid,
                title,
                year,
                list(rec.get("genre", [])),
                list(rec.get("director", [])),
                list(rec.get("star", [])),
                rec.get("plot", ""),
                int(rid),
                float(len(items)),
            ),
        )
    return list(items.values())


@pytest.fixture(scope="session")
def resolver(redial_items: list[FakeItem], redial_info: dict) -> TitleResolver:
    return TitleResolver(redial_items, redial_info)


@pytest.fixture(scope="session")
def turns_path() -> Path:
    return default_data_dir() / "redial" / "dev_turns.jsonl"


def rec(item_id: str, title: str = "x") -> Recommendation:
    return Recommendation(item_id=item_id, title=title, score=1.0)


class FakeRunner:
    """A replay runner whose ranking is decided by ``rank_fn(messages) -> list of ids``.

    Args:
        rank_fn: the ranking for a history.
        fail_after: raise ``KeyboardInterrupt`` on this call (simulates a killed run).
        llm_calls: reported LLM calls per turn.
    """

    variant = "fake"

    def __init__(
        self, rank_fn: Callable[[list[ChatMessage]], list[str]], fail_after: int | None = None, llm_calls: int = 0
    ):
        self.rank_fn = rank_fn
        self.fail_after = fail_after
        self.llm_calls = llm_calls
        self.calls = 0
        self.seen_k: list[int] = []

    def run_history(self, messages, *, user_id=None, ranking_k=50):
        self.calls += 1
        if self.fail_after is not None and self.calls > self.fail_after:
            raise KeyboardInterrupt
        self.seen_k.append(ranking_k)
        ids = self.rank_fn(list(messages))[:ranking_k]
        return TurnResult(
            reply="ok",
            ranking=[rec(i) for i in ids],
            usage=Usage(llm_calls=self.llm_calls, total_tokens=10 * self.llm_calls),
        )

    async def arun_history(self, messages, *, user_id=None, ranking_k=50):
        return self.run_history(messages, user_id=user_id, ranking_k=ranking_k)

    def turn(self, text, *, thread_id, user_id=None):  # pragma: no cover - replay only
        raise NotImplementedError

    async def aturn(self, text, *, thread_id, user_id=None):  # pragma: no cover - replay only
        raise NotImplementedError


class ScriptedAgent:
    """A multi-turn agent driven by ``script(thread_turn_index, text, thread_id) -> TurnResult``."""

    variant = "scripted"

    def __init__(self, script: Callable[[int, str, str], TurnResult]):
        self.script = script
        self.threads: dict[str, list[str]] = {}

    def turn(self, text, *, thread_id, user_id=None):
        seen = self.threads.setdefault(thread_id, [])
        seen.append(text)
        return self.script(len(seen), text, thread_id)

    async def aturn(self, text, *, thread_id, user_id=None):
        return self.turn(text, thread_id=thread_id, user_id=user_id)

    def run_history(self, messages, *, user_id=None, ranking_k=50):  # pragma: no cover - dialogue only
        raise NotImplementedError

    async def arun_history(self, messages, *, user_id=None, ranking_k=50):  # pragma: no cover
        raise NotImplementedError


@pytest.fixture
def fake_runner_cls() -> type[FakeRunner]:
    return FakeRunner


@pytest.fixture
def scripted_agent_cls() -> type[ScriptedAgent]:
    return ScriptedAgent


@pytest.fixture
def make_rec() -> Callable[..., Recommendation]:
    return rec


@pytest.fixture
def fake_item_cls() -> type[FakeItem]:
    return FakeItem
