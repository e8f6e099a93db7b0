"""The seam against a misbehaving stub server: timeouts, bounded retries, error mapping, guard."""

from __future__ import annotations

import asyncio
import time

import pytest
from langchain_core.messages import HumanMessage

from crsagent.agent.errors import ConfigError, LLMError, LLMUnavailableError, RealLLMForbiddenError
from crsagent.agent.llm import real_llm_switch as guard
from crsagent.agent.llm.calls import ainvoke_chat, invoke_chat
from crsagent.agent.llm.client import discover_model, make_chat_model
from crsagent.agent.llm.real_llm_switch import FORBID_ENV, allow_real_llm, forbid_real_llm, real_llm_forbidden
from crsagent.agent.llm.usage import UsageMeter
from crsagent.agent.settings import Settings

HI = [HumanMessage("hi")]


def _settings(stub, **kw) -> Settings:
    return Settings(llm_base_url=stub.base_url, llm_model="stub-model", **kw)


def test_guard_refuses_real_requests_by_default_here(stub_llm):
    model = make_chat_model(_settings(stub_llm))
    with pytest.raises(RealLLMForbiddenError, match="refused"):
        invoke_chat(model, HI)
    assert stub_llm.requests == []  # nothing reached the server


def test_guard_refuses_async_requests_and_discovery(stub_llm):
    model = make_chat_model(_settings(stub_llm))
    with pytest.raises(RealLLMForbiddenError):
        asyncio.run(ainvoke_chat(model, HI))
    with pytest.raises(RealLLMForbiddenError):
        discover_model(stub_llm.base_url)
    assert stub_llm.requests == []


def test_env_default_applies_outside_any_block(stub_llm, monkeypatch):
    monkeypatch.setattr(guard, "_overrides", [])  # as if no forbid_real_llm() block were active
    forbidden = make_chat_model(_settings(stub_llm))  # CRSAGENT_FORBID_REAL_LLM=1 (conftest)
    monkeypatch.delenv(FORBID_ENV)
    allowed = make_chat_model(_settings(stub_llm))
    with pytest.raises(RealLLMForbiddenError):
        invoke_chat(forbidden, HI)
    assert invoke_chat(allowed, HI).content == "ok"
    monkeypatch.setenv(FORBID_ENV, "1")  # read once, at construction: a later change is ignored
    assert invoke_chat(allowed, HI).content == "ok"
    with forbid_real_llm():  # a block overrides the construction-time default
        with pytest.raises(RealLLMForbiddenError):
            invoke_chat(allowed, HI)
    with allow_real_llm():
        assert invoke_chat(forbidden, HI).content == "ok"
    assert real_llm_forbidden() is False
    assert len(stub_llm.requests) == 3


def test_guard_holds_in_worker_threads(stub_llm):
    from concurrent.futures import ThreadPoolExecutor

    model = make_chat_model(_settings(stub_llm), forbid_default=False)
    with ThreadPoolExecutor(2) as pool:
        future = pool.submit(invoke_chat, model, HI)
        with pytest.raises(RealLLMForbiddenError):
            future.result()


def test_allowed_request_returns_text_and_usage(stub_llm):
    meter = UsageMeter()
    with allow_real_llm():
        model = make_chat_model(_settings(stub_llm))
        msg = invoke_chat(model, HI, usage=meter)
    assert msg.content == "ok"
    assert meter.as_dict()["prompt_tokens"] == 11 and meter.completion_tokens == 7 and meter.calls == 1
    sent = stub_llm.requests[0]
    assert sent["model"] == "stub-model"
    assert sent["messages"] == [{"role": "user", "content": "hi"}]
    assert sent["max_completion_tokens"] == 512  # default profile of an unknown model


def test_model_discovered_from_server_when_not_configured(stub_llm):
    with allow_real_llm():
        model = make_chat_model(Settings(llm_base_url=stub_llm.base_url))
        assert discover_model(stub_llm.base_url) == "stub-model"
    assert model.model_name == "stub-model"


def test_no_base_url_is_a_config_error():
    with pytest.raises(ConfigError, match="base URL"):
        make_chat_model(Settings())


def test_server_errors_are_retried_with_backoff_then_unavailable(stub_llm):
    stub_llm.default = ("status", 500)
    model = make_chat_model(_settings(stub_llm, llm_max_retries=2, llm_timeout_s=5))
    started = time.monotonic()
    with allow_real_llm(), pytest.raises(LLMUnavailableError, match="HTTP 500"):
        invoke_chat(model, HI)
    elapsed = time.monotonic() - started
    assert len(stub_llm.requests) == 3  # one attempt + two retries, no more
    gaps = [b - a for a, b in zip(stub_llm.times, stub_llm.times[1:])]
    assert gaps[0] >= 0.3 and gaps[1] > gaps[0]  # exponential backoff (0.5 s, 1 s, with jitter)
    assert elapsed < 5


def test_retry_recovers_after_a_transient_error(stub_llm):
    stub_llm.replies = [("status", 503)]
    model = make_chat_model(_settings(stub_llm, llm_max_retries=1))
    with allow_real_llm():
        assert invoke_chat(model, HI).content == "ok"
    assert len(stub_llm.requests) == 2


def test_client_errors_are_not_retried(stub_llm):
    stub_llm.default = ("status", 400)
    model = make_chat_model(_settings(stub_llm, llm_max_retries=3))
    with allow_real_llm(), pytest.raises(LLMError, match="HTTP 400") as info:
        invoke_chat(model, HI)
    assert not isinstance(info.value, LLMUnavailableError)
    assert len(stub_llm.requests) == 1


def test_timeout_is_honoured_and_retries_bounded(stub_llm):
    stub_llm.default = ("delay", 3.0)
    model = make_chat_model(_settings(stub_llm, llm_timeout_s=0.3, llm_max_retries=1))
    started = time.monotonic()
    with allow_real_llm(), pytest.raises(LLMUnavailableError, match="timed out"):
        invoke_chat(model, HI)
    elapsed = time.monotonic() - started
    assert len(stub_llm.requests) == 2
    assert elapsed < 2.5  # 2 x 0.3 s timeouts + one ~0.5 s backoff; far below the 3 s delay


def test_async_timeout_is_honoured(stub_llm):
    stub_llm.default = ("delay", 3.0)
    model = make_chat_model(_settings(stub_llm, llm_timeout_s=0.3, llm_max_retries=0))
    started = time.monotonic()
    with allow_real_llm(), pytest.raises(LLMUnavailableError):
        asyncio.run(ainvoke_chat(model, HI))
    assert time.monotonic() - started < 2.0
    assert len(stub_llm.requests) == 1


def test_malformed_response_is_unavailable_not_a_crash(stub_llm):
    stub_llm.default = ("raw", "{this is not json")
    meter = UsageMeter()
    model = make_chat_model(_settings(stub_llm, llm_max_retries=0))
    with allow_real_llm(), pytest.raises(LLMUnavailableError, match="malformed"):
        invoke_chat(model, HI, usage=meter)
    assert meter.failed_calls == 1 and meter.calls == 0


def test_unreachable_server_fails_fast():
    import socket

    with socket.socket() as sock:  # a port with nothing listening
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    model = make_chat_model(Settings(llm_base_url=f"http://127.0.0.1:{port}/v1", llm_model="m", llm_max_retries=1))
    started = time.monotonic()
    with allow_real_llm(), pytest.raises(LLMUnavailableError, match="cannot reach"):
        invoke_chat(model, HI)
    assert time.monotonic() - started < 3


def test_negative_retries_rejected(stub_llm):
    with pytest.raises(ConfigError):
        make_chat_model(_settings(stub_llm), max_retries=-1)
    with pytest.raises(ConfigError):
        make_chat_model(_settings(stub_llm), timeout_s=0)
