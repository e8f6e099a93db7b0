"""PostgreSQL behind everything: checkpointer, profile store and product database on a real server.

The movie catalogue is copied into a throwaway PostgreSQL (Debian's package, ``postgres_url``)
with the catalog's own API, then a multi-turn ``crs-only`` dialogue runs through
:class:`~crsagent.graphs.runner.CRSAgent` with every piece of state on PostgreSQL: it must give
exactly the answers the SQLite setup gives, keep its threads and the user's profile across
threads, and leave its rows in PostgreSQL's tables. The API (async saver and store) is run
over the same server too.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import httpx
import psycopg
import pytest
from sqlalchemy import delete
from sqlalchemy.exc import DBAPIError

from crsagent.agent.persistence import open_persistence
from crsagent.agent.server import ServerConfig, create_app
from crsagent.agent.server.agent_runners import CRSAgentRunners
from crsagent.agent.server.loopback import serve_in_thread
from crsagent.agent.settings import Settings
from crsagent.graphs.runner import CRSAgent
from crsagent.tests.reliability.helpers import BABADOOK, OPENER, belief_of
from crsagent.tools.catalog.db import ProductDB
from crsagent.tools.catalog.tables import items as items_table
from crsagent.tools.toolkit import Toolkit

pytestmark = pytest.mark.postgres

DIALOGUE = [OPENER, "Not that one, I've seen it.", "Something from after 2010 please."]


@pytest.fixture(scope="module")
def pg(movies_home: Settings, postgres_url: str) -> Iterator[Settings]:
    """Settings whose product database and checkpoints are the PostgreSQL server."""
    with ProductDB.for_domain(movies_home, "movies") as lite:
        ProductDB.load_into(postgres_url, lite.export())
    yield replace(movies_home, database_url=postgres_url, checkpoint_url=postgres_url)


def dialogue(agent: CRSAgent, user: str) -> list[Any]:
    out = [agent.turn(text, thread_id=f"{user}-1", user_id=user) for text in DIALOGUE]
    out.append(agent.turn("Hello again! Anything for tonight?", thread_id=f"{user}-2", user_id=user))
    return out


def test_crs_dialogue_with_postgres_everything(pg, movies_home, movies_toolkit):
    toolkit = Toolkit.load(pg, "movies", eager=True)
    assert toolkit.db.engine.dialect.name == "postgresql"
    assert toolkit.db.count() == movies_toolkit.db.count()
    with open_persistence(pg) as pers:
        assert pers.kind == "postgres"
        agent = CRSAgent.create(
            pg, variant="crs-only", toolkit=toolkit, checkpointer=pers.checkpointer, store=pers.store
        )
        on_pg = dialogue(agent, "pg-user")
        state = agent.graph.get_state({"configurable": {"thread_id": "pg-user-1"}}).values
        assert sum(m.type == "human" for m in state["messages"]) == len(DIALOGUE)
        assert BABADOOK in agent.profile("pg-user")["facts"]["liked"]
    with open_persistence(movies_home, "memory") as mem:
        ref = CRSAgent.create(
            movies_home, variant="crs-only", toolkit=movies_toolkit, checkpointer=mem.checkpointer, store=mem.store
        )
        on_lite = dialogue(ref, "lite-user")

    def ids(turns: list[Any]) -> list[list[str]]:
        return [[r.item_id for r in t.recommendations] for t in turns]

    assert ids(on_pg) == ids(on_lite)
    assert [t.reply for t in on_pg] == [t.reply for t in on_lite]
    assert on_pg[2].belief["constraints"]["year_min"] == 2011
    assert set(x.item_id for x in on_pg[0].recommendations) & set(on_pg[1].belief["rejected"])
    seeded = on_pg[3].belief["liked"]
    assert {"item_id": BABADOOK, "source": "profile"} in seeded  # the profile crossed threads on PostgreSQL
    with psycopg.connect(pg.checkpoint_url) as conn:
        rows = conn.execute("SELECT DISTINCT thread_id FROM checkpoints WHERE thread_id LIKE 'pg-user-%'")
        threads = {r[0] for r in rows}
        assert threads == {"pg-user-1", "pg-user-2"}
        assert conn.execute("SELECT count(*) FROM store WHERE prefix = 'profile.pg-user'").fetchone()[0] == 1


def test_postgres_product_database_is_read_only(pg):
    with ProductDB.for_domain(pg, "movies") as db:
        n = db.count()
        with pytest.raises(DBAPIError, match="read-only"):
            with db.engine.begin() as conn:
                conn.execute(delete(items_table))
        assert db.count() == n


def test_api_on_postgres_is_stateless_across_server_instances(pg):
    """Two API instances (as two replicas would be) on the same PostgreSQL: a session started on
    one continues on the other, through the async saver and store."""

    async def turn(url: str, text: str) -> dict[str, Any]:
        async with httpx.AsyncClient(timeout=300) as client:
            r = await client.post(
                f"{url}/v1/chat/completions",
                headers={"X-Session-Id": "pg-api"},
                json={"model": "crs-only", "user": "pg-api-user", "messages": [{"role": "user", "content": text}]},
            )
            assert r.status_code == 200, r.text
            return r.json()

    config = ServerConfig(variants=("crs-only",), default_variant="crs-only")
    first_app = create_app(CRSAgentRunners(pg, "movies"), config)
    second_app = create_app(CRSAgentRunners(pg, "movies"), config)
    with serve_in_thread(first_app) as one, serve_in_thread(second_app) as two:
        a = asyncio.run(turn(one, OPENER))
        b = asyncio.run(turn(two, DIALOGUE[1]))  # the other replica
    first = {r["item_id"] for r in a["choices"][0]["message"]["recommendations"]}
    with open_persistence(pg) as pers:
        graph = CRSAgent.create(
            pg, variant="crs-only", checkpointer=pers.checkpointer, store=pers.store, toolkit=Toolkit.load(pg, "movies")
        ).graph
        state = graph.get_state({"configurable": {"thread_id": "pg-api"}}).values
    assert [m.text for m in state["messages"] if m.type == "human"] == [OPENER, DIALOGUE[1]]
    assert first & set(belief_of(state)["rejected"])  # replica two saw what replica one recommended
    assert not first & {r["item_id"] for r in b["choices"][0]["message"]["recommendations"]}
