"""Threads and profile memory on every persistence backend (memory, SQLite, PostgreSQL), sync and async."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import pytest

from crsagent.agent.persistence import aopen_persistence, open_persistence
from crsagent.agent.settings import Settings
from crsagent.graphs.runner import CRSAgent
from crsagent.tools.toolkit import Toolkit

BABADOOK = "tt2321549"


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def url(request: Any, tmp_path: Path) -> str:
    if request.param == "memory":
        return "memory"
    if request.param == "sqlite":
        return f"sqlite://{tmp_path}"
    return str(request.getfixturevalue("postgres_url"))


def _check(r1: Any, r2: Any, r3: Any) -> None:
    assert r1.recommendations and {x.item_id for x in r1.recommendations} <= set(r2.belief["rejected"])
    assert {"item_id": BABADOOK, "source": "profile"} in r3.belief["liked"]


def test_sync_backend(url: str, movies_home: Settings, movies_toolkit: Toolkit) -> None:
    with open_persistence(movies_home, url) as p:
        agent = CRSAgent.create(
            movies_home, variant="crs-only", toolkit=movies_toolkit, checkpointer=p.checkpointer, store=p.store
        )
        user = f"u-{uuid.uuid4().hex}"
        r1 = agent.turn("I loved the babadook", thread_id=f"{user}-1", user_id=user)
        r2 = agent.turn("seen it", thread_id=f"{user}-1", user_id=user)
        r3 = agent.turn("hello again", thread_id=f"{user}-2", user_id=user)
    _check(r1, r2, r3)


def test_async_backend(url: str, movies_home: Settings, movies_toolkit: Toolkit) -> None:
    async def main() -> tuple[Any, Any, Any]:
        p = await aopen_persistence(movies_home, url)
        try:
            agent = CRSAgent.create(
                movies_home, variant="crs-only", toolkit=movies_toolkit, checkpointer=p.checkpointer, store=p.store
            )
            user = f"a-{uuid.uuid4().hex}"
            r1 = await agent.aturn("I loved the babadook", thread_id=f"{user}-1", user_id=user)
            r2 = await agent.aturn("seen it", thread_id=f"{user}-1", user_id=user)
            r3 = await agent.aturn("hello again", thread_id=f"{user}-2", user_id=user)
            return r1, r2, r3
        finally:
            await p.aclose()

    _check(*asyncio.run(main()))
