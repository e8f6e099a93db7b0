"""The official ``openai`` client (sync, async, streaming) against the server on loopback."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import openai
import pytest

from crsagent.agent.server import ServerConfig, create_app
from crsagent.agent.server.auth import key_identity
from crsagent.agent.server.loopback import serve_in_thread


@pytest.fixture
def base_url(runners) -> Iterator[str]:
    app = create_app(runners.factory(delay=0.05), ServerConfig(api_keys=("sk-test",)))
    with serve_in_thread(app) as url:
        yield url + "/v1"


def test_sync_client_multi_turn_session(base_url, runners):
    client = openai.OpenAI(base_url=base_url, api_key="sk-test", max_retries=0)
    assert [m.id for m in client.models.list()][0] == "crsagent"
    history = [{"role": "user", "content": "I loved Heat"}]
    for turn in (1, 2, 3):
        resp = client.chat.completions.create(
            model="crsagent", messages=history, user="carol", extra_headers={"X-Session-Id": "conv-42"}
        )
        msg = resp.choices[0].message
        assert f"turn {turn} for {key_identity('sk-test')}/carol" in msg.content  # scoped to the key
        recs = msg.model_extra["recommendations"]
        assert recs[0]["item_id"] == "tt0113277" and set(recs[0]) == {
            "item_id",
            "title",
            "score",
            "explanation",
            "signals",
        }
        assert recs[0]["signals"] == {"cf": 0.5} and recs[1]["signals"] == {}  # the runner's per-signal scores
        assert resp.usage.total_tokens == resp.usage.prompt_tokens + resp.usage.completion_tokens > 0
        history += [{"role": "assistant", "content": msg.content}, {"role": "user", "content": f"more {turn}"}]
    assert runners["full"].threads[f"{key_identity('sk-test')}/conv-42"] == ["I loved Heat", "more 1", "more 2"]


def test_sync_client_errors(base_url):
    bad_key = openai.OpenAI(base_url=base_url, api_key="wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as info:
        bad_key.models.list()
    assert info.value.body["code"] == "invalid_api_key"
    client = openai.OpenAI(base_url=base_url, api_key="sk-test", max_retries=0)
    with pytest.raises(openai.NotFoundError) as info:
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
    assert info.value.body["param"] == "model"
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(model="crsagent", messages=[{"role": "assistant", "content": "hi"}])
    assert info.value.body["code"] == "last_message_not_user"
    with pytest.raises(openai.InternalServerError) as info:  # 503: the LLM server is down
        client.chat.completions.create(model="crsagent", messages=[{"role": "user", "content": "!llm-down"}])
    assert info.value.status_code == 503 and info.value.response.headers["retry-after"]


def test_streaming_equals_non_streaming(base_url):
    client = openai.OpenAI(base_url=base_url, api_key="sk-test", max_retries=0)
    messages = [{"role": "user", "content": "a  spaced\n message"}]
    plain = client.chat.completions.create(model="crs-only", messages=messages)
    stream = client.chat.completions.create(
        model="crs-only", messages=messages, stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == plain.choices[0].message.content
    finals = [c for c in chunks if c.choices and c.choices[0].finish_reason]
    assert len(finals) == 1 and finals[0].choices[0].finish_reason == "stop"
    assert (
        finals[0].choices[0].delta.model_extra["recommendations"]
        == plain.choices[0].message.model_extra["recommendations"]
    )
    assert chunks[-1].usage.total_tokens == plain.usage.total_tokens
    assert len(chunks) > 5  # word chunks, not one blob


async def test_async_client_concurrent_sessions(base_url, runners):
    client = openai.AsyncOpenAI(base_url=base_url, api_key="sk-test", max_retries=0)

    async def conversation(i: int) -> list[str]:
        replies = []
        for t in range(2):
            resp = await client.chat.completions.create(
                model="crsagent",
                messages=[{"role": "user", "content": f"user {i} turn {t}"}],
                metadata={"session_id": f"async-{i}"},
            )
            replies.append(resp.choices[0].message.content)
        return replies

    async def streamed() -> str:
        stream = await client.chat.completions.create(
            model="crsagent", messages=[{"role": "user", "content": "streamed"}], stream=True
        )
        return "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])

    results = await asyncio.gather(*(conversation(i) for i in range(6)), streamed())
    for i, replies in enumerate(results[:-1]):
        assert f"turn 2 for anon: you said «user {i} turn 1»" in replies[1]
    assert "you said «streamed»" in results[-1]
    assert runners["full"].max_in_flight >= 6  # concurrent sessions overlap
    await client.close()
