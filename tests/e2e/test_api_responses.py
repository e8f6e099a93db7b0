"""The Responses API (``POST /v1/responses``) and the recommendation scores, against a real
``crsagent serve --fake-llm`` process (issue 20, items 8 and 9).

The official ``openai`` client holds a conversation with ``client.responses.create`` and
``previous_response_id``, streamed and not; the session is then read back over
``GET /v1/sessions/{id}``. Errors go over raw HTTP and must be OpenAI error objects.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

from crsagent.agent.settings import Settings
from crsagent.graphs.ranking import DEFAULT_WEIGHTS
from crsagent.tests.reliability.helpers import OPENER
from crsagent.tests.reliability.procs import ApiProcess

ALPHA, BETA = "key-alpha-resp-01234", "key-beta-resp-56789"
LATER = "Something from the 90s?"


@pytest.fixture(scope="module")
def api(movies_home: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiProcess]:
    folder = tmp_path_factory.mktemp("api-responses")
    with ApiProcess(
        Path(movies_home.home),
        ["--fake-llm"],
        {"CRSAGENT_API_KEYS": f"{ALPHA},{BETA}"},
        log=folder / "serve.log",
        sessions=folder / "sessions",
    ) as proc:
        yield proc


def client(api: ApiProcess, key: str = ALPHA) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{api.url}/v1", api_key=key, max_retries=0, timeout=120)


def post(api: ApiProcess, body: object, key: str | None = ALPHA) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.post(f"{api.url}/v1/responses", json=body, headers=headers, timeout=120)


def user_messages(api: ApiProcess, session: str, key: str = ALPHA) -> list[str]:
    got = httpx.get(f"{api.url}/v1/sessions/{session}", headers={"Authorization": f"Bearer {key}"}, timeout=60)
    assert got.status_code == 200, got.text
    return [m["content"] for m in got.json()["messages"] if m["role"] == "user"]


def check_scores(recs: list[dict]) -> None:
    """Every recommendation carries its signals, and ``score`` is their weighted sum (docs/api.md)."""
    assert recs
    weights = DEFAULT_WEIGHTS.as_dict()
    for rec in recs:
        assert rec["signals"], rec
        assert all(-1.0 <= v <= 1.0 for v in rec["signals"].values()), rec
        fused = sum(weights[name] * value for name, value in rec["signals"].items())
        assert rec["score"] == pytest.approx(fused, abs=1e-4), rec
    assert [r["score"] for r in recs] == sorted((r["score"] for r in recs), reverse=True)


def test_a_conversation_continues_through_previous_response_id(api: ApiProcess) -> None:
    c = client(api)
    first = c.responses.create(model="crs-only", input=OPENER, user="alice")
    assert first.id.startswith("resp_") and first.status == "completed" and first.object == "response"
    assert first.output_text.strip() and first.output[0].role == "assistant"
    assert first.usage is not None and first.usage.total_tokens == first.usage.input_tokens + first.usage.output_tokens
    assert first.model_extra["crsagent"]["session_id"] == first.id
    check_scores(first.model_extra["recommendations"])

    second = c.responses.create(model="crs-only", input=LATER, previous_response_id=first.id, user="alice")
    assert second.id != first.id and second.previous_response_id == first.id
    assert second.model_extra["crsagent"]["session_id"] == first.id  # the conversation's session
    assert user_messages(api, first.id) == [OPENER, LATER]  # one thread holds both turns
    # the first turn shaped the second: the same words alone (a stateless request) get other items
    alone = c.responses.create(model="crs-only", input=LATER, store=False)
    ids = [r["item_id"] for r in second.model_extra["recommendations"]]
    assert ids and ids != [r["item_id"] for r in alone.model_extra["recommendations"]]
    assert not set(ids) & {r["item_id"] for r in first.model_extra["recommendations"]}  # not recommended twice

    # the other key cannot continue it, and cannot see it: 404 as for an id never issued
    with pytest.raises(openai.NotFoundError) as info:
        client(api, BETA).responses.create(model="crs-only", input="hi", previous_response_id=second.id)
    assert info.value.body["code"] == "previous_response_not_found"
    assert (
        httpx.get(
            f"{api.url}/v1/sessions/{first.id}", headers={"Authorization": f"Bearer {BETA}"}, timeout=60
        ).status_code
        == 404
    )


def test_streamed_responses_continue_the_same_conversation(api: ApiProcess) -> None:
    c = client(api)
    events = list(c.responses.create(model="crs-only", input=OPENER, stream=True))
    kinds = [e.type for e in events]
    assert kinds[:4] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
    ]
    assert kinds[-4:] == [
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert [e.sequence_number for e in events] == list(range(len(events)))
    deltas = [e.delta for e in events if e.type == "response.output_text.delta"]
    done = events[-1].response
    assert len(deltas) > 3 and "".join(deltas) == done.output_text == events[-4].text
    assert events[0].response.id == done.id and events[0].response.status == "in_progress"
    check_scores(done.model_extra["recommendations"])

    again = c.responses.create(model="crs-only", input=LATER, previous_response_id=done.id, stream=True)
    last = list(again)[-1]
    assert last.type == "response.completed" and last.response.previous_response_id == done.id
    plain = c.responses.create(model="crs-only", input="Why that one?", previous_response_id=last.response.id)
    assert user_messages(api, done.id) == [OPENER, LATER, "Why that one?"]
    assert plain.model_extra["crsagent"]["session_id"] == done.id


def test_store_false_leaves_no_conversation(api: ApiProcess) -> None:
    c = client(api)
    once = c.responses.create(model="crs-only", input=OPENER, store=False)
    assert once.output_text and once.model_extra["crsagent"]["session_id"] is None
    r = post(api, {"model": "crs-only", "input": LATER, "previous_response_id": once.id})
    assert r.status_code == 404 and r.json()["error"]["code"] == "previous_response_not_found"


def test_errors_are_openai_error_objects(api: ApiProcess) -> None:
    first = client(api).responses.create(model="crs-only", input=OPENER)
    second = client(api).responses.create(model="crs-only", input=LATER, previous_response_id=first.id)
    cases = [
        (
            {"model": "crs-only", "input": "hi", "previous_response_id": "resp_never_issued"},
            ALPHA,
            404,
            "not_found_error",
            "previous_response_id",
            "previous_response_not_found",
        ),
        (
            {"model": "crs-only", "input": "hi", "previous_response_id": first.id},
            ALPHA,  # a fork
            400,
            "invalid_request_error",
            "previous_response_id",
            "unsupported_value",
        ),
        ({"model": "gpt-4o", "input": "hi"}, ALPHA, 404, "not_found_error", "model", "model_not_found"),
        ({"model": "crs-only"}, ALPHA, 400, "invalid_request_error", "input", "invalid_value"),
        (
            {"model": "crs-only", "input": "hi", "stream": "yes"},
            ALPHA,
            400,
            "invalid_request_error",
            "stream",
            "invalid_value",
        ),
        (
            {"model": "crs-only", "input": "hi", "frobnicate": 1},
            ALPHA,
            400,
            "invalid_request_error",
            "frobnicate",
            "invalid_value",
        ),
        (
            {"model": "crs-only", "input": "hi", "tools": [{"type": "web_search"}]},
            ALPHA,
            400,
            "invalid_request_error",
            "tools",
            "unsupported_value",
        ),
        (
            {"model": "crs-only", "input": [{"role": "user", "content": [{"type": "input_image", "image_url": "x"}]}]},
            ALPHA,
            400,
            "invalid_request_error",
            "input",
            "invalid_value",
        ),
        (
            {"model": "crs-only", "input": [{"role": "assistant", "content": "hi"}]},
            ALPHA,
            400,
            "invalid_request_error",
            "input.0.content",
            "last_message_not_user",
        ),
        ({"model": "crs-only", "input": "hi"}, None, 401, "authentication_error", None, "invalid_api_key"),
    ]
    for body, key, status, kind, param, code in cases:
        r = post(api, body, key)
        assert r.status_code == status, (body, r.text)
        assert r.json() == {
            "error": {"message": r.json()["error"]["message"], "type": kind, "param": param, "code": code}
        }, (body, r.text)
        assert r.json()["error"]["message"], body
    assert "unrecognized request argument supplied: frobnicate" in post(api, cases[5][0]).text
    # the refused fork left the conversation as it was, and it still continues from its latest response
    third = client(api).responses.create(model="crs-only", input="Why that one?", previous_response_id=second.id)
    assert third.status == "completed" and user_messages(api, first.id) == [OPENER, LATER, "Why that one?"]


@pytest.mark.parametrize("model", ["agent", "crsagent"])
def test_the_llm_variants_stream_through_the_responses_api(api: ApiProcess, model: str) -> None:
    """The graph's own event stream (the fake LLM's tool calls and reply) reaches the Responses events."""
    c = client(api)
    events = list(c.responses.create(model=model, input=OPENER, stream=True))
    done = events[-1]
    assert done.type == "response.completed" and done.response.status == "completed"
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert text.strip() and text == done.response.output_text
    assert done.response.model_extra["crsagent"]["variant"] == c.models.retrieve(model).model_extra["variant"]
    nxt = c.responses.create(model=model, input=LATER, previous_response_id=done.response.id)
    assert user_messages(api, done.response.id) == [OPENER, LATER] and nxt.output_text.strip()
