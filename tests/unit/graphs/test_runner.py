"""CRSAgent: the AgentRunner contract over fakes, with real SQLite persistence in tmp_path."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from crsagent.agent.errors import ConfigError, EmptyQueryError, ToolInputError
from crsagent.agent.persistence import (
    CHECKPOINT_FILE,
    STORE_FILE,
    aopen_persistence,
    open_persistence,
    persistence_kind,
)
from crsagent.agent.settings import Settings
from crsagent.agent.testing import InstantChatModel
from crsagent.agent.turns import AgentRunner, ChatMessage
from crsagent.graphs.runner import CRSAgent


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "home")


def test_runner_honours_the_contract_with_sqlite_threads_and_profiles(settings: Settings, fakes: Any) -> None:
    agent = CRSAgent.create(settings, variant="crs-only", toolkit=fakes.make_toolkit())
    try:
        assert isinstance(agent, AgentRunner) and agent.variant == "crs-only"
        r1 = agent.turn("I loved The Babadook, something after 2010", thread_id="t1", user_id="ann")
        assert r1.action == "recommend" and r1.thread_id == "t1"
        assert r1.recommendations and all(fakes.BY_ID[r.item_id].year > 2010 for r in r1.recommendations)
        assert r1.ranking and r1.ranking[0].signals and r1.usage.llm_calls == 0 and not r1.degraded
        first = r1.recommendations[0].item_id
        r2 = agent.turn("Not that one, I've seen it.", thread_id="t1", user_id="ann")
        assert first in r2.belief["rejected"]
        assert first not in [r.item_id for r in r2.recommendations + r2.ranking]
        # a new thread of the same user starts from the profile
        r3 = agent.turn("something else scary", thread_id="t2", user_id="ann")
        assert {"item_id": fakes.BABADOOK, "source": "profile"} in r3.belief["liked"]
        assert first in r3.belief["rejected"] and first not in [r.item_id for r in r3.ranking]
        assert agent.profile("ann")["facts"]["liked"] == [fakes.BABADOOK]
        # another user knows nothing
        r4 = agent.turn("something scary", thread_id="t3", user_id="bob")
        assert r4.belief["liked"] == []
    finally:
        agent.close()
    assert (settings.home / "agent" / CHECKPOINT_FILE).exists()
    # everything is on disk: a fresh runner continues the thread
    again = CRSAgent.create(settings, variant="crs-only", toolkit=fakes.make_toolkit())
    r5 = again.turn("Why would I like the first one?", thread_id="t1", user_id="ann")
    again.close()
    assert r5.action == "explain" and r5.recommendations


def test_stateless_history_rebuilds_the_belief(settings: Settings, fakes: Any) -> None:
    agent = CRSAgent.create(settings, variant="crs-only", toolkit=fakes.make_toolkit())
    history = [
        ChatMessage(role="system", content="be nice"),
        ChatMessage(role="user", content="I loved The Babadook"),
        ChatMessage(role="assistant", content="Have you seen Get Out?"),
        ChatMessage(role="user", content="seen it already, something after 2015"),
    ]
    r = agent.run_history(history, ranking_k=2)
    agent.close()
    assert fakes.GET_OUT in r.belief["rejected"] and r.belief["constraints"] == {"year_min": 2016}
    assert len(r.ranking) == 2 and r.thread_id is None
    assert all(fakes.BY_ID[x.item_id].year >= 2016 for x in r.ranking)
    with pytest.raises(ToolInputError):
        agent.run_history(history[:3])
    with pytest.raises(EmptyQueryError):
        agent.turn("   ", thread_id="t")


def test_async_turns_with_sync_and_async_sqlite(settings: Settings, fakes: Any) -> None:
    async def main() -> tuple[Any, Any]:
        sync_agent = CRSAgent.create(settings, variant="full", toolkit=fakes.make_toolkit(), llm=InstantChatModel())
        a = await sync_agent.aturn("I loved The Babadook", thread_id="s", user_id="u")
        sync_agent.close()
        pers = await aopen_persistence(settings, f"sqlite://{settings.home / 'async'}")
        async_agent = CRSAgent.create(
            settings,
            variant="full",
            toolkit=fakes.make_toolkit(),
            llm=InstantChatModel(),
            checkpointer=pers.checkpointer,
            store=pers.store,
        )
        assert async_agent.mode == "async"
        results = await asyncio.gather(
            *[async_agent.aturn("I loved The Babadook", thread_id=f"a{i}", user_id="u") for i in range(4)]
        )
        follow = await async_agent.aturn("not that one", thread_id="a0", user_id="u")
        profile = await async_agent.aprofile("u")
        await pers.aclose()
        return a, (results, follow, profile)

    a, (results, follow, profile) = asyncio.run(main())
    assert a.recommendations and a.usage.llm_calls <= 3
    assert all(r.recommendations for r in results)
    assert follow.belief["rejected"] == [results[0].recommendations[0].item_id]  # "that one": the top item
    assert profile["facts"]["liked"] == [fakes.BABADOOK]


def test_llm_variants_need_an_llm_server(settings: Settings, fakes: Any) -> None:
    with pytest.raises(ConfigError):
        CRSAgent.create(settings, variant="full", toolkit=fakes.make_toolkit())
    with pytest.raises(ConfigError):
        CRSAgent.create(settings, variant="best-one", toolkit=fakes.make_toolkit())


def test_sqlite_persistence_uses_wal_and_urls_are_checked(settings: Settings, tmp_path: Path) -> None:
    with open_persistence(settings) as p:
        assert p.kind == "sqlite" and not p.is_async
    for name in (CHECKPOINT_FILE, STORE_FILE):
        mode = sqlite3.connect(settings.home / "agent" / name).execute("PRAGMA journal_mode").fetchone()[0]
        assert mode == "wal"
    assert persistence_kind(None) == "sqlite" and persistence_kind("memory") == "memory"
    assert persistence_kind("postgresql://u@h/db") == "postgres"
    with open_persistence(settings, "memory") as p:
        assert p.kind == "memory"
    with pytest.raises(ConfigError):
        open_persistence(settings, "mysql://nope")
    with open_persistence(settings, f"sqlite://{tmp_path / 'elsewhere'}"):
        pass
    assert (tmp_path / "elsewhere" / STORE_FILE).exists()
