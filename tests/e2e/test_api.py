"""End to end: the official openai client -> crsagent's API -> the agent -> a real vLLM server."""

from __future__ import annotations

import asyncio
import dataclasses
import re
from collections.abc import Iterator

import openai
import pytest

from crsagent.agent.server import ServerConfig, create_app
from crsagent.agent.server.agent_runners import CRSAgentRunners
from crsagent.agent.server.loopback import serve_in_thread
from crsagent.agent.settings import Settings
from crsagent.tools.catalog.db import ProductDB

pytestmark = pytest.mark.e2e

IMDB_ID = re.compile(r"^tt\d{7,8}$")


@pytest.fixture(scope="module")
def api(vllm_server, movies_home: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    base_url, model_name = vllm_server
    settings = dataclasses.replace(movies_home, llm_base_url=base_url, llm_model=model_name)
    folder = tmp_path_factory.mktemp("e2e-sessions")
    runners = CRSAgentRunners(settings, "movies", checkpoint_url=f"sqlite://{folder}")
    with serve_in_thread(create_app(runners, ServerConfig())) as url:
        yield url + "/v1"


@pytest.fixture(scope="module")
def client(api: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=api, api_key="unused", max_retries=0, timeout=600)


@pytest.fixture(scope="module")
def catalogue(movies_home: Settings) -> Iterator[ProductDB]:
    db = ProductDB.for_domain(movies_home, "movies")
    yield db
    db.close()


def check_recs(recs: list[dict], catalogue: ProductDB) -> None:
    ids = [r["item_id"] for r in recs]
    assert all(IMDB_ID.match(i) for i in ids), ids
    titles = {it.item_id: it.title for it in catalogue.get_items(ids)}
    assert set(titles) == set(ids)
    assert all(r["title"].startswith(titles[r["item_id"]]) for r in recs)  # display title: "Title (Year)"


def test_multi_turn_session_over_a_real_llm(client, catalogue):
    turns = [
        ("header", "Hi! I loved The Babadook and It Follows. Any other horror films?"),
        ("metadata", "Something from after 2010 please."),
        ("header", "Why would I like the first one?"),
    ]
    tokens = 0
    any_recs = False
    for how, text in turns:
        kwargs = (
            {"extra_headers": {"X-Session-Id": "e2e-1"}} if how == "header" else {"metadata": {"session_id": "e2e-1"}}
        )
        resp = client.chat.completions.create(
            model="crsagent", messages=[{"role": "user", "content": text}], user="e2e-user", **kwargs
        )
        info = resp.model_extra["crsagent"]
        assert info["session_id"] == "e2e-1" and info["variant"] == "full"
        assert resp.choices[0].message.content.strip()
        recs = resp.choices[0].message.model_extra["recommendations"]
        check_recs(recs, catalogue)
        any_recs = any_recs or bool(recs)
        tokens += resp.usage.total_tokens
        assert resp.usage.total_tokens == resp.usage.prompt_tokens + resp.usage.completion_tokens
    assert any_recs
    assert tokens > 0  # the real LLM was called and its usage counted


def test_streaming_over_a_real_llm(client, catalogue):
    stream = client.chat.completions.create(
        model="crsagent",
        messages=[{"role": "user", "content": "Can you recommend a crime thriller like Heat?"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text.strip()
    final = [c for c in chunks if c.choices and c.choices[0].finish_reason == "stop"]
    assert len(final) == 1
    check_recs(final[0].choices[0].delta.model_extra["recommendations"], catalogue)
    assert chunks[-1].choices == [] and chunks[-1].usage.total_tokens > 0
    assert len([c for c in chunks if c.choices and c.choices[0].delta.content]) > 1


async def test_concurrent_sessions_over_a_real_llm(api):
    client = openai.AsyncOpenAI(base_url=api, api_key="unused", max_retries=0, timeout=600)
    texts = ["I want a funny animated movie.", "A romantic comedy please.", "A war movie like Saving Private Ryan."]
    resps = await asyncio.gather(
        *(
            client.chat.completions.create(
                model="crsagent", messages=[{"role": "user", "content": t}], extra_headers={"X-Session-Id": f"e2e-c{i}"}
            )
            for i, t in enumerate(texts)
        )
    )
    for i, resp in enumerate(resps):
        assert resp.model_extra["crsagent"]["session_id"] == f"e2e-c{i}"
        assert resp.choices[0].message.content.strip()
    await client.close()
