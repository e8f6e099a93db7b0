"""The API over the real agent (``CRSAgent`` on the built movie catalogue) and the official client.

``crs-only`` needs no LLM; ``full`` runs with the instant fake LLM (``InstantChatModel``), or
against an unreachable LLM server to check the documented degraded answer.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
from collections.abc import Iterator

import openai
import pytest

from crsagent.agent.llm.real_llm_switch import allow_real_llm
from crsagent.agent.server import ServerConfig, create_app
from crsagent.agent.server.agent_runners import CRSAgentRunners
from crsagent.agent.server.loopback import serve_in_thread
from crsagent.agent.settings import Settings
from crsagent.agent.testing import InstantChatModel
from crsagent.tools.catalog.db import ProductDB

IMDB_ID = re.compile(r"^tt\d{7,8}$")
OPENER = "Hi! I loved The Babadook and It Follows. Any other horror films?"


@pytest.fixture(scope="module")
def api(movies_home: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The API over CRSAgent runners (instant LLM, SQLite sessions in a temp folder)."""
    folder = tmp_path_factory.mktemp("sessions")
    runners = CRSAgentRunners(movies_home, "movies", llm=InstantChatModel(), checkpoint_url=f"sqlite://{folder}")
    with serve_in_thread(create_app(runners, ServerConfig())) as url:
        yield url + "/v1"


@pytest.fixture(scope="module")
def client(api: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=api, api_key="unused", max_retries=0, timeout=120)


@pytest.fixture(scope="module")
def catalogue(movies_home: Settings) -> Iterator[ProductDB]:
    db = ProductDB.for_domain(movies_home, "movies")
    yield db
    db.close()


def recs_of(resp) -> list[dict]:
    return resp.choices[0].message.model_extra["recommendations"]


def assert_catalogue_items(recs: list[dict], catalogue: ProductDB) -> None:
    assert recs, "expected recommendations"
    ids = [r["item_id"] for r in recs]
    assert all(IMDB_ID.match(i) for i in ids), ids
    items = {it.item_id: it for it in catalogue.get_items(ids)}
    assert set(items) == set(ids)
    for r in recs:
        assert r["title"].startswith(items[r["item_id"]].title)  # display title: "Title (Year)"
        assert isinstance(r["score"], float) and isinstance(r["explanation"], str)


def test_multi_turn_session_with_structured_recommendations(client, catalogue):
    session = "it-session-1"
    first = client.chat.completions.create(
        model="crs-only",
        messages=[{"role": "user", "content": OPENER}],
        user="it-user-1",
        extra_headers={"X-Session-Id": session},
    )
    assert first.choices[0].message.content.strip()
    assert_catalogue_items(recs_of(first), catalogue)
    assert first.model_extra["crsagent"]["session_id"] == session
    assert first.usage.total_tokens == 0  # crs-only makes no LLM call
    # the same session through metadata; the history sent is ignored except the last message
    second = client.chat.completions.create(
        model="crsagent:crs-only",
        messages=[{"role": "user", "content": "ignored"}, {"role": "user", "content": "Not that one, I've seen it."}],
        user="it-user-1",
        metadata={"session_id": session},
    )
    assert_catalogue_items(recs_of(second), catalogue)
    assert recs_of(first)[0]["item_id"] not in {r["item_id"] for r in recs_of(second)}
    # without the session, the follow-up alone has no horror context: a different answer
    alone = client.chat.completions.create(
        model="crs-only", messages=[{"role": "user", "content": "Not that one, I've seen it."}]
    )
    assert [r["item_id"] for r in recs_of(alone)] != [r["item_id"] for r in recs_of(second)]


def test_stateless_history_is_replayed(client, catalogue):
    history = [
        {"role": "user", "content": OPENER},
        {"role": "assistant", "content": "How about Hereditary (2018)?"},
        {"role": "user", "content": "Something from after 2015 please."},
    ]
    resp = client.chat.completions.create(model="crs-only", messages=history)
    assert_catalogue_items(recs_of(resp), catalogue)
    assert resp.model_extra["crsagent"]["session_id"] is None


@pytest.mark.parametrize("model", ["crs-only", "crsagent"])
def test_streaming_equals_non_streaming(client, model):
    messages = [{"role": "user", "content": "I'm looking for a funny animated movie like Toy Story."}]
    plain = client.chat.completions.create(model=model, messages=messages)
    chunks = list(
        client.chat.completions.create(
            model=model, messages=messages, stream=True, stream_options={"include_usage": True}
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == plain.choices[0].message.content and text.strip()
    final = [c for c in chunks if c.choices and c.choices[0].finish_reason == "stop"]
    assert len(final) == 1
    assert final[0].choices[0].delta.model_extra["recommendations"] == recs_of(plain)
    assert chunks[-1].usage.total_tokens == plain.usage.total_tokens


def test_full_variant_with_instant_llm_counts_llm_calls(client, catalogue):
    resp = client.chat.completions.create(model="crsagent", messages=[{"role": "user", "content": OPENER}])
    info = resp.model_extra["crsagent"]
    assert info["variant"] == "full" and info["llm_calls"] >= 1
    assert resp.usage.total_tokens > 0  # the fake LLM's token counts reach the API's usage
    assert resp.choices[0].message.content.strip()
    if recs_of(resp):
        assert_catalogue_items(recs_of(resp), catalogue)


async def test_concurrent_sessions_do_not_mix(api):
    """Concurrent conversations give what the same conversations give one at a time."""
    client = openai.AsyncOpenAI(base_url=api, api_key="unused", max_retries=0, timeout=120)
    openers = [
        OPENER,
        "Can you recommend a crime thriller like Heat or Se7en?",
        "I want a funny animated movie for the family.",
    ]
    follow = "Something from after 2010 please."

    async def conversation(tag: str, i: int) -> list[list[str]]:
        out = []
        for text in (openers[i % len(openers)], follow):
            resp = await client.chat.completions.create(
                model="crs-only",
                messages=[{"role": "user", "content": text}],
                extra_headers={"X-Session-Id": f"{tag}-{i}"},
            )
            out.append([r["item_id"] for r in recs_of(resp)])
        return out

    sequential = [await conversation("seq", i) for i in range(3)]
    concurrent = await asyncio.gather(*(conversation("par", i) for i in range(6)))
    for i, got in enumerate(concurrent):
        assert got == sequential[i % 3]
    await client.close()


def test_unreachable_llm_gives_the_documented_degraded_answer(movies_home, tmp_path, catalogue):
    """docs/api.md: an LLM failure inside the graph is a 200 with ``degraded: true`` (every variant)."""
    dead = dataclasses.replace(
        movies_home, llm_base_url="http://127.0.0.1:9/v1", llm_model="none", llm_max_retries=0, llm_timeout_s=5.0
    )
    runners = CRSAgentRunners(dead, "movies", checkpoint_url="memory")
    with allow_real_llm(), serve_in_thread(create_app(runners, ServerConfig())) as url:  # a dead loopback port
        client = openai.OpenAI(base_url=url + "/v1", api_key="unused", max_retries=0, timeout=120)
        for model in ("crsagent", "llm-only"):
            resp = client.chat.completions.create(model=model, messages=[{"role": "user", "content": OPENER}])
            info = resp.model_extra["crsagent"]
            assert info["degraded"] is True and info["llm_calls"] >= 1
            assert resp.usage.total_tokens == 0  # no LLM answer came back
            assert resp.choices[0].message.content.strip()
            assert_catalogue_items(recs_of(resp), catalogue)


async def test_llm_calls_of_concurrent_sessions_go_out_concurrently(movies_home):
    llm = InstantChatModel(latency_s=0.3)  # every answer takes 0.3 s, awaited on the async path
    runners = CRSAgentRunners(movies_home, "movies", llm=llm, checkpoint_url="memory")
    with serve_in_thread(create_app(runners, ServerConfig(warm_up=True))) as url:
        client = openai.AsyncOpenAI(base_url=url + "/v1", api_key="unused", max_retries=0, timeout=300)
        resps = await asyncio.gather(
            *(
                client.chat.completions.create(
                    model="crsagent",
                    messages=[{"role": "user", "content": f"{OPENER} ({i})"}],
                    extra_headers={"X-Session-Id": f"llm-par-{i}"},
                )
                for i in range(4)
            )
        )
        await client.close()
    assert all(r.model_extra["crsagent"]["llm_calls"] >= 1 for r in resps)
    assert llm.max_in_flight >= 3  # no global lock, no blocked loop: the sessions' LLM requests overlap
