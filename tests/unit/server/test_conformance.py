"""OpenAI conformance (issue 20, items 5 and 7): current request fields, tool histories, error codes.

The error table of docs/api.md is checked against the code: every code the server can send is
documented, and every documented code is one the server sends.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from crsagent.agent.server.requests import IGNORED_FIELDS

USER_HI = [{"role": "user", "content": "hi"}]
ROOT = Path(__file__).resolve().parents[3]

#: a value for every field that is accepted and ignored (the current OpenAI request fields)
IGNORED = {
    "safety_identifier": "user-hash-1",
    "prompt_cache_key": "k-1",
    "prompt_cache_retention": "24h",
    "service_tier": "auto",
    "logit_bias": {"1234": -100, "99": 5.5},
    "parallel_tool_calls": False,
    "reasoning_effort": "minimal",
    "verbosity": "low",
    "modalities": ["text"],
    "top_logprobs": 0,
    "temperature": 1,
    "top_p": 0.5,
    "max_tokens": 10,
    "max_completion_tokens": 10,
    "stop": ["\n"],
    "seed": 3,
    "presence_penalty": 0,
    "frequency_penalty": 0.5,
    "store": False,
    "n": 1,
    "tools": [],
    "tool_choice": "none",
    "logprobs": False,
    "stream_options": None,
}


def post(client, **fields):
    return client.post("/v1/chat/completions", json={"model": "crsagent", "messages": USER_HI, **fields})


def test_every_documented_ignored_field_is_accepted(client, runners):
    assert set(IGNORED_FIELDS) <= set(IGNORED)
    for name, value in IGNORED.items():
        r = post(client, **{name: value})
        assert r.status_code == 200, (name, r.text)
    r = post(client, **IGNORED)
    assert r.status_code == 200, r.text
    doc = (ROOT / "docs" / "api.md").read_text()
    for name in IGNORED_FIELDS:
        assert f"`{name}`" in doc, name


@pytest.mark.parametrize(
    "fields,param",
    [
        ({"n": 2}, "n"),
        ({"tools": [{"type": "function", "function": {"name": "f", "parameters": {}}}]}, "tools"),
        ({"tool_choice": "required"}, "tool_choice"),
        ({"tool_choice": {"type": "function", "function": {"name": "f"}}}, "tool_choice"),
        ({"modalities": ["text", "audio"]}, "modalities"),
        ({"logprobs": True}, "logprobs"),
    ],
)
def test_fields_that_would_change_the_result_are_refused_by_name(client, fields, param):
    r = post(client, **fields)
    assert r.status_code == 400, r.text
    err = r.json()["error"]
    assert err["param"] == param and err["code"] == "unsupported_value" and err["message"].startswith(f"{param}:")


def test_tool_calls_and_tool_messages_are_accepted_as_context(client, runners):
    messages = [
        {"role": "user", "content": "I loved Alien"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "lookup", "arguments": '{"q": "Alien"}'}}
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "Alien (1979), sci-fi horror"},
        {"role": "assistant", "content": "Alien is a classic. Want more like it?"},
        {"role": "user", "content": "Yes, from the 90s"},
    ]
    r = post(client, messages=messages)
    assert r.status_code == 200, r.text
    kind, history, _, _ = runners["full"].calls[-1]
    assert kind == "arun_history"
    assert history == [
        ("user", "I loved Alien"),
        ("assistant", "Alien is a classic. Want more like it?"),
        ("user", "Yes, from the 90s"),
    ]


@pytest.mark.parametrize(
    "fields,param",
    [
        ({"stream": "yes"}, "stream"),
        ({"stream": 1}, "stream"),
        ({"store": "true"}, "store"),
        ({"stream_options": {"include_usage": "yes"}}, "stream_options.include_usage"),
        ({"max_tokens": "10"}, "max_tokens"),
        ({"temperature": "1"}, "temperature"),
        ({"user": 42}, "user"),
    ],
)
def test_types_are_strict(client, fields, param):
    r = post(client, **fields)
    assert r.status_code == 400 and r.json()["error"]["param"] == param, r.text
    assert r.json()["error"]["code"] == "invalid_value"


@pytest.mark.parametrize(
    "content,code",
    [
        (b"{not json", "invalid_body"),
        (b"", "invalid_body"),
        (b"[1, 2]", "invalid_body"),
        (b"\xff\xfe{}", "invalid_encoding"),
        (
            '{"model": "crsagent", "messages": [{"role": "user", "content": "caf\xe9"}]}'.encode("latin-1"),
            "invalid_encoding",
        ),
    ],
)
def test_unparseable_bodies_say_what_is_wrong(client, content, code):
    r = client.post("/v1/chat/completions", content=content, headers={"content-type": "application/json"})
    assert r.status_code == 400 and r.json()["error"]["code"] == code, r.text


def test_a_bad_session_header_is_invalid_session_id(client):
    r = client.post(
        "/v1/chat/completions", json={"model": "crsagent", "messages": USER_HI}, headers={"X-Session-Id": "bad id!"}
    )
    err = r.json()["error"]
    assert r.status_code == 400 and err["code"] == "invalid_session_id" and err["param"] == "X-Session-Id"
    assert "letters, digits" in err["message"]


def test_an_llm_variant_without_an_llm_says_so(make_app):
    from fastapi.testclient import TestClient

    with TestClient(make_app(variants=("crs-only",), default_variant="crs-only")) as c:
        r = c.post("/v1/chat/completions", json={"model": "full", "messages": USER_HI})
        err = r.json()["error"]
        assert r.status_code == 404 and err["code"] == "model_not_found"
        assert "needs an LLM" in err["message"] and "does not exist" not in err["message"]
        assert (
            "does not exist"
            in c.post("/v1/chat/completions", json={"model": "gpt-4o", "messages": USER_HI}).json()["error"]["message"]
        )


def _documented_codes() -> set[str]:
    doc = (ROOT / "docs" / "api.md").read_text()
    table = doc[doc.index("| Status | `type` | `code` | When |") :]
    table = table[: table.index("\n\n")]
    return {c for row in table.splitlines()[2:] for c in re.findall(r"`([a-z_]+)`", row.split("|")[3])}


def _codes_in_code() -> set[str]:
    """Every error code the server's modules can send: ``code=...`` arguments, the middleware's
    answers, the validation codes and the status -> code map of the HTTP handler."""
    found: set[str] = set()
    for path in (ROOT / "agent" / "server").glob("*.py"):
        text = path.read_text()
        found |= set(re.findall(r"""\bcode=["']([a-z_]+)["']""", text))
        # the middleware's answers: the last argument of _answer(...), which may span lines
        found |= set(re.findall(r"""_answer\((?:[^()]|\([^()]*\))*,\s*["']([a-z_]+)["'],?\s*\)""", text))
        found |= set(re.findall(r"""^\s+return ["']([a-z_]+)["']""", text, flags=re.M))
        for mapping in re.findall(r"code = \{([^}]*)\}", text):
            found |= set(re.findall(r"""\d{3}: ["']([a-z_]+)["']""", mapping))
    return found


def test_the_error_table_matches_the_code():
    documented, used = _documented_codes(), _codes_in_code()
    assert used - documented == set(), f"codes the server sends but docs/api.md does not list: {used - documented}"
    assert documented - used == set(), f"codes docs/api.md lists that the server never sends: {documented - used}"
