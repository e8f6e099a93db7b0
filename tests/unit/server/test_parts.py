"""Pieces of the server without HTTP: word streaming, model ids, sessions, keys, config."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crsagent.agent.errors import ConfigError, LLMOutputError, LLMUnavailableError, NotBuiltError, UnknownItemError
from crsagent.agent.server.auth import check_api_key
from crsagent.agent.server.config import ServerConfig
from crsagent.agent.server.errors import APIError, from_agent_error, validation_message
from crsagent.agent.server.models import list_models, resolve_model
from crsagent.agent.server.sessions import SessionLocks, resolve_session_id
from crsagent.agent.server.streaming import split_words


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=200))
def test_split_words_concatenates_back(text):
    pieces = split_words(text)
    assert "".join(pieces) == text
    assert all(p for p in pieces)
    assert all(not p.strip() or not p[0].isspace() for p in pieces[1:])  # whitespace trails a word


def test_split_words_cuts_at_words():
    assert split_words("Try  Heat,\nthen Se7en.") == ["Try  ", "Heat,\n", "then ", "Se7en."]
    assert split_words("  lead") == ["  ", "lead"]
    assert split_words("") == []


def test_resolve_model():
    assert resolve_model("crsagent") == "full"
    assert resolve_model("crsagent", default_variant="crs-only") == "crs-only"
    assert resolve_model("crsagent:crs-assists-llm") == "crs-assists-llm"
    assert resolve_model("llm-only") == "llm-only"
    for bad in ("crsagent:", "crsagent:nope", "gpt-4o", "FULL", "crsagent:crsagent"):
        with pytest.raises(APIError) as info:
            resolve_model(bad)
        assert info.value.status_code == 404 and info.value.param == "model"
    with pytest.raises(APIError):
        resolve_model("llm-only", variants=("full", "crs-only"))
    ids = [c.id for c in list_models(variants=("crs-only",), default_variant="crs-only").data]
    assert ids == ["crsagent", "crs-only"]


def test_resolve_session_id():
    assert resolve_session_id(None, None) is None
    assert resolve_session_id(None, {"other": "x"}) is None
    assert resolve_session_id("abc", None) == "abc"
    assert resolve_session_id(None, {"session_id": "u1:t-2.x"}) == "u1:t-2.x"
    assert resolve_session_id("same", {"session_id": "same"}) == "same"
    for header, meta in [
        ("a", {"session_id": "b"}),
        ("", None),
        (None, {"session_id": "-x"}),
        (None, {"session_id": "a b"}),
        ("x" * 129, None),
    ]:
        with pytest.raises(APIError) as info:
            resolve_session_id(header, meta)
        assert info.value.status_code == 400


async def test_session_locks_serialize_one_session_only():
    locks = SessionLocks()
    order: list[str] = []

    async def work(sid: str, tag: str) -> None:
        async with locks.hold(sid):
            order.append(f"start {tag}")
            await asyncio.sleep(0.02)
            order.append(f"end {tag}")

    await asyncio.gather(work("a", "a1"), work("a", "a2"))
    assert order == ["start a1", "end a1", "start a2", "end a2"]
    order.clear()
    await asyncio.gather(work("a", "a1"), work("b", "b1"))
    assert order[:2] == ["start a1", "start b1"]
    assert len(locks) == 0


def test_check_api_key():
    check_api_key(None, ())  # no keys: open
    check_api_key("Bearer k1", ("k0", "k1"))
    check_api_key("bearer   k0 ", ("k0", "k1"))
    for header in (None, "", "Bearer", "Bearer k2", "Token k1", "k1", "Bearer k1x", "Bearer \u00e9"):
        with pytest.raises(APIError) as info:
            check_api_key(header, ("k0", "k1"))
        assert info.value.status_code == 401 and info.value.code == "invalid_api_key"
        assert "WWW-Authenticate" in info.value.headers


def test_agent_errors_map_to_http():
    e = from_agent_error(LLMUnavailableError("down"), retry_after_s=9)
    assert (e.status_code, e.headers["Retry-After"], e.code) == (503, "9", "llm_unavailable")
    assert from_agent_error(LLMOutputError("junk")).status_code == 502
    assert from_agent_error(UnknownItemError(["tt0"])).status_code == 400
    assert from_agent_error(NotBuiltError("build first")).code == "server_misconfigured"
    e = from_agent_error(KeyError("secret internals"))
    assert e.status_code == 500 and "secret" not in e.message


def test_validation_message_names_the_field():
    msg, param = validation_message([{"type": "extra_forbidden", "loc": ("body", "tools"), "msg": "x"}])
    assert param == "tools" and "tools" in msg
    msg, param = validation_message([{"type": "string_type", "loc": ("body", "user"), "msg": "bad"}])
    assert param == "user"
    _, param = validation_message(
        [{"type": "missing", "loc": ("body", "messages", 2, "user", "content"), "msg": "Field required"}]
    )
    assert param == "messages.2.content"


def test_server_config_is_checked():
    with pytest.raises(ConfigError):
        ServerConfig(variants=("full", "nope"))
    with pytest.raises(ConfigError):
        ServerConfig(variants=("crs-only",), default_variant="full")
    with pytest.raises(ConfigError):
        ServerConfig(max_message_chars=0)
