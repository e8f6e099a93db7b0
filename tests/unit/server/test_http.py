"""HTTP behaviour of the API over a fake runner: routing, sessions, errors, limits, streaming."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from fastapi.testclient import TestClient

from crsagent.agent.server import create_app
from crsagent.agent.turns import VARIANTS

USER_HI = [{"role": "user", "content": "hi"}]


def chat(client: TestClient, messages=USER_HI, model: str = "crsagent", headers=None, **fields):
    return client.post(
        "/v1/chat/completions", json={"model": model, "messages": messages, **fields}, headers=headers or {}
    )


def assert_error(resp: httpx.Response, status: int, *, param: str | None = "__any__", code: str | None = None):
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"message", "type", "param", "code"}
    assert body["error"]["message"]
    if param != "__any__":
        assert body["error"]["param"] == param
    if code is not None:
        assert body["error"]["code"] == code
    return body["error"]


def test_health_and_models(client):
    for path in ("/health", "/v1/health"):
        health = client.get(path).json()
        assert health["status"] == "ok" and health["default_model"] == "crsagent"
    ids = [m["id"] for m in client.get("/v1/models").json()["data"]]
    assert ids == ["crsagent", *VARIANTS]
    card = client.get("/v1/models/crsagent:crs-only").json()
    assert card["id"] == "crsagent:crs-only" and card["variant"] == "crs-only"
    assert_error(client.get("/v1/models/gpt-4"), 404, param="model", code="model_not_found")


@pytest.mark.parametrize(
    "model,variant", [("crsagent", "full"), ("crs-only", "crs-only"), ("crsagent:llm-only", "llm-only")]
)
def test_model_ids_pick_the_variant(client, runners, model, variant):
    body = chat(client, model=model).json()
    assert body["model"] == model
    assert body["crsagent"]["variant"] == variant
    assert body["choices"][0]["message"]["content"].startswith(f"[{variant}]")
    assert list(runners) == [variant]


def test_completion_shape(client):
    body = chat(client, user="alice").json()
    assert body["object"] == "chat.completion" and body["id"].startswith("chatcmpl-")
    choice = body["choices"][0]
    assert choice["finish_reason"] == "stop" and choice["message"]["role"] == "assistant"
    assert "you said «hi»" in choice["message"]["content"] and "for alice" in choice["message"]["content"]
    recs = choice["message"]["recommendations"]
    assert [r["item_id"] for r in recs] == ["tt0113277", "tt0114369"]
    assert set(recs[0]) == {"item_id", "title", "score", "explanation", "signals"}
    assert recs[0]["signals"] == {"cf": 0.5}  # the per-signal breakdown behind the score
    assert body["usage"] == {"prompt_tokens": 10, "completion_tokens": 7, "total_tokens": 17}
    assert body["crsagent"]["session_id"] is None and body["crsagent"]["degraded"] is False


def test_stateless_request_replays_the_whole_history(client, runners):
    messages = [
        {"role": "developer", "content": "be brief"},
        {"role": "user", "content": "I liked Heat"},
        {"role": "assistant", "content": None},
        {"role": "assistant", "content": [{"type": "text", "text": "Try "}, {"type": "text", "text": "Se7en"}]},
        {"role": "user", "content": [{"type": "text", "text": "newer please"}]},
    ]
    body = chat(client, messages=messages, user="bob").json()
    assert "turn 2" in body["choices"][0]["message"]["content"]
    kind, history, thread, user = runners["full"].calls[-1]
    assert kind == "arun_history" and thread is None and user == "bob"
    assert history == [
        ("system", "be brief"),
        ("user", "I liked Heat"),
        ("assistant", ""),
        ("assistant", "Try Se7en"),
        ("user", "newer please"),
    ]


@pytest.mark.parametrize("how", ["header", "metadata", "both"])
def test_session_takes_only_the_new_user_message(client, runners, how):
    headers = {"X-Session-Id": "sess-1"} if how in ("header", "both") else {}
    meta = {"session_id": "sess-1"} if how in ("metadata", "both") else None
    history = [{"role": "user", "content": "I liked Heat"}]
    first = chat(client, messages=history, headers=headers, metadata=meta)
    assert first.headers["x-session-id"] == "sess-1"
    history += [
        {"role": "assistant", "content": first.json()["choices"][0]["message"]["content"]},
        {"role": "user", "content": "something newer"},
    ]
    second = chat(client, messages=history, headers=headers, metadata=meta).json()
    assert "turn 2" in second["choices"][0]["message"]["content"]
    assert second["crsagent"]["session_id"] == "sess-1"
    assert runners["full"].threads["sess-1"] == ["I liked Heat", "something newer"]
    assert all(c[0] == "aturn" for c in runners["full"].calls)


def test_session_errors(client):
    assert_error(
        chat(client, headers={"X-Session-Id": "a"}, metadata={"session_id": "b"}), 400, code="session_mismatch"
    )
    assert_error(
        chat(client, metadata={"session_id": "bad id!"}), 400, param="metadata.session_id", code="invalid_session_id"
    )
    assert_error(chat(client, headers={"X-Session-Id": "x" * 200}), 400, param="X-Session-Id")


@pytest.mark.parametrize(
    "fields,param",
    [
        ({"messages": []}, "messages"),
        ({"messages": [{"role": "assistant", "content": "hello"}]}, "messages.0.role"),
        ({"messages": [{"role": "user", "content": "hi"}, {"role": "system", "content": "x"}]}, "messages.1.role"),
        ({"messages": [{"role": "user", "content": "   "}]}, "messages.0.content"),
        ({"messages": [{"role": "user", "content": 5}]}, "messages.0.content"),
        (
            {"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}]},
            "messages.0.content",
        ),
        ({"messages": [{"role": "tool", "content": "x", "tool_call_id": "1"}]}, "messages.0.role"),
        ({"messages": [{"role": "function", "content": "x", "name": "f"}]}, "messages.0"),
        ({"messages": [{"role": "user"}]}, "messages.0.content"),
        ({"messages": "hi"}, "messages"),
        ({"tools": [{"type": "function"}]}, "tools"),
        ({"temperature": 3}, "temperature"),
        ({"top_p": -0.1}, "top_p"),
        ({"max_tokens": 0}, "max_tokens"),
        ({"n": 2}, "n"),
        ({"stop": ["a", "b", "c", "d", "e"]}, "stop"),
        ({"stream": "yes please"}, "stream"),
        ({"user": 42}, "user"),
        ({"metadata": {"k": 1}}, "metadata.k"),
        ({"model": 7}, "model"),
    ],
)
def test_bad_requests_are_400_with_the_param(client, fields, param):
    body = {"model": "crsagent", "messages": USER_HI, **fields}
    err = assert_error(client.post("/v1/chat/completions", json=body), 400, param=param)
    assert err["type"] == "invalid_request_error"


def test_missing_model_and_unknown_model(client):
    assert_error(client.post("/v1/chat/completions", json={"messages": USER_HI}), 400, param="model")
    assert_error(chat(client, model="gpt-4o"), 404, param="model", code="model_not_found")


@pytest.mark.parametrize(
    "content,ctype",
    [
        (b"{not json", "application/json"),
        (b"[1, 2]", "application/json"),
        (b'{"model": "crsagent"}', "text/plain"),
        (b"\xff\xfe", "application/json"),
        (b"", "application/json"),
    ],
)
def test_unparseable_bodies_are_400(client, content, ctype):
    resp = client.post("/v1/chat/completions", content=content, headers={"content-type": ctype})
    assert_error(resp, 400)


def test_size_limits(make_app):
    with TestClient(make_app(max_message_chars=50, max_body_bytes=2_000), raise_server_exceptions=False) as c:
        assert chat(c, messages=[{"role": "user", "content": "x" * 50}]).status_code == 200
        assert_error(
            chat(c, messages=[{"role": "user", "content": "x" * 51}]),
            400,
            param="messages.0.content",
            code="content_too_long",
        )
        big = {"model": "crsagent", "messages": [{"role": "user", "content": "x" * 40}] * 60}
        assert_error(c.post("/v1/chat/completions", json=big), 400, code="request_too_large")

        def chunked():  # no Content-Length: the limit counts the bytes as they arrive
            yield json.dumps(big).encode()

        assert_error(
            c.post("/v1/chat/completions", content=chunked(), headers={"content-type": "application/json"}),
            400,
            code="request_too_large",
        )


def test_lone_surrogates_are_refused(client):
    raw = b'{"model": "crsagent", "messages": [{"role": "user", "content": "hi \\ud800"}]}'
    resp = client.post("/v1/chat/completions", content=raw, headers={"content-type": "application/json"})
    assert_error(resp, 400, param="messages.0.content", code="invalid_encoding")


def test_api_keys(make_app):
    with TestClient(make_app(api_keys=("k-one", "k-two")), raise_server_exceptions=False) as c:
        assert c.get("/health").status_code == 200  # health needs no key
        err = assert_error(c.get("/v1/models"), 401, code="invalid_api_key")
        assert err["type"] == "authentication_error"
        assert c.get("/v1/models").headers["www-authenticate"].startswith("Bearer")
        for bad in ("Bearer k-three", "Bearer k-one-", "Basic k-one", "Bearer", "k-one"):
            assert_error(chat(c, headers={"Authorization": bad}), 401, code="invalid_api_key")
        for good in ("k-one", "k-two"):
            assert chat(c, headers={"Authorization": f"Bearer {good}"}).status_code == 200
            assert c.get("/v1/models", headers={"Authorization": f"bearer {good}"}).status_code == 200


def test_llm_unavailable_is_503_with_retry_after(make_app):
    with TestClient(make_app(retry_after_s=7), raise_server_exceptions=False) as c:
        resp = chat(c, messages=[{"role": "user", "content": "!llm-down"}])
        err = assert_error(resp, 503, code="llm_unavailable")
        assert resp.headers["retry-after"] == "7" and "unavailable" in err["message"]


def test_degraded_turn_is_a_200_with_the_flag(client):
    body = chat(client, messages=[{"role": "user", "content": "!degraded please"}]).json()
    assert body["crsagent"]["degraded"] is True
    assert body["choices"][0]["message"]["recommendations"]


def test_typed_agent_input_error_is_400_and_a_bug_is_a_clean_500(client):
    assert_error(chat(client, messages=[{"role": "user", "content": "!bad-input"}]), 400, code="invalid_input")
    err = assert_error(chat(client, messages=[{"role": "user", "content": "!bug"}]), 500, code="internal_error")
    assert "a bug" not in err["message"]  # internals are logged, not leaked


def test_unknown_routes_and_methods_are_openai_errors(client):
    assert_error(client.get("/v1/nothing"), 404)
    assert_error(client.delete("/v1/models"), 405)


def _sse_events(text: str) -> list[str]:
    return [line[len("data: ") :] for line in text.split("\n\n") if line.startswith("data: ")]


def test_stream_format_and_equivalence(client):
    messages = [{"role": "user", "content": "spaces  and\nnewlines "}]
    plain = chat(client, messages=messages).json()
    resp = chat(client, messages=messages, stream=True, stream_options={"include_usage": True})
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/event-stream")
    events = _sse_events(resp.text)
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert {c["object"] for c in chunks} == {"chat.completion.chunk"}
    assert len({c["id"] for c in chunks}) == 1
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert text == plain["choices"][0]["message"]["content"]
    final = chunks[-2]["choices"][0]
    assert final["finish_reason"] == "stop"
    assert final["delta"]["recommendations"] == plain["choices"][0]["message"]["recommendations"]
    assert all(c["choices"][0]["finish_reason"] is None for c in chunks[:-2])
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"] == plain["usage"]


def test_stream_errors_are_plain_http_errors(client):
    resp = chat(client, messages=[{"role": "user", "content": "!llm-down"}], stream=True)
    assert_error(resp, 503, code="llm_unavailable")


async def test_sessions_run_concurrently_but_one_session_serializes(make_app, runners):
    app = create_app(runners.factory(delay=0.2))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as c:

        async def turn(session: str | None, text: str) -> httpx.Response:
            headers = {"X-Session-Id": session} if session else {}
            body = {"model": "crsagent", "messages": [{"role": "user", "content": text}]}
            return await c.post("/v1/chat/completions", json=body, headers=headers)

        await turn(None, "warm up")  # the runner is made once
        t0 = asyncio.get_running_loop().time()
        resps = await asyncio.gather(*(turn(f"s{i}", "hello") for i in range(8)), turn(None, "stateless"))
        parallel = asyncio.get_running_loop().time() - t0
        runner = runners["full"]
        assert all(r.status_code == 200 for r in resps)
        assert runner.max_in_flight == 9 and parallel < 8 * 0.2
        resps = await asyncio.gather(*(turn("same", f"msg {i}") for i in range(3)))
        assert all(r.status_code == 200 for r in resps)
        assert runner.max_thread_in_flight == 1
        assert sorted(runner.threads["same"]) == ["msg 0", "msg 1", "msg 2"]
        assert len(app.state.service.locks) == 0  # locks are dropped when idle


async def test_runner_made_once_and_closed_on_shutdown(runners):
    app = create_app(runners.factory(delay=0.05))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as c:
            body = {"model": "crs-only", "messages": USER_HI}
            await asyncio.gather(*(c.post("/v1/chat/completions", json=body) for _ in range(5)))
        assert list(runners) == ["crs-only"]
        runner = runners["crs-only"]
        assert len(runner.calls) == 5 and not runner.closed
    assert runner.closed
