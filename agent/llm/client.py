"""The one seam to an OpenAI-compatible server: a LangChain ``ChatOpenAI`` with guard rails.

:func:`make_chat_model` builds the chat model the agent uses, against any base URL (vLLM,
OpenAI, a test stub). It sets a per-request timeout, a bounded number of retries (the openai
client retries connection errors, timeouts, 408/409/429 and 5xx with exponential backoff and
jitter: 0.5 s, 1 s, 2 s ... capped at 8 s), and hands the openai client httpx clients whose
transports honour the real-LLM guard (:mod:`crsagent.agent.llm.real_llm_switch`). Sync (``invoke``) and
async (``ainvoke``) paths both go through it. A base URL listing several replicas
(comma-separated) makes those transports spread requests over them and skip a dead one with
backoff (:mod:`crsagent.agent.llm.fleet`).

When no model name is configured and the server is down at start, the model is still made
(:func:`discovering_chat_class`): it asks the server for its model name on the first request
instead, so an agent (or ``crsagent serve``) starts and answers degraded until the LLM is up.
"""

from __future__ import annotations

import importlib
import logging
import threading
from functools import lru_cache
from types import ModuleType
from typing import Any

import openai
from langchain_core.language_models import BaseChatModel
from pydantic import PrivateAttr

from crsagent.agent.errors import ConfigError, LLMError, LLMUnavailableError
from crsagent.agent.llm.fleet import AsyncFleetTransport, Fleet, FleetTransport, split_urls
from crsagent.agent.llm.profiles import ModelProfile, profile_for
from crsagent.agent.llm.real_llm_switch import AsyncGuardTransport, GuardTransport, env_forbids
from crsagent.agent.settings import Settings

__all__ = [
    "make_chat_model",
    "discover_model",
    "http_clients",
    "request_timeout",
    "discovering_chat_class",
    "PENDING_MODEL",
]

log = logging.getLogger(__name__)

#: The model name of a :class:`DiscoveringChatOpenAI` that has not reached its server yet.
PENDING_MODEL = "pending-discovery"


def _httpx() -> ModuleType:
    """The httpx flavour the installed openai SDK is built on (``httpx2`` for openai>=3)."""
    for klass in openai.DefaultHttpxClient.__mro__:
        root = klass.__module__.split(".")[0]
        if root in ("httpx", "httpx2"):
            return importlib.import_module(root)
    return importlib.import_module("httpx")


def request_timeout(timeout_s: float) -> Any:
    """An httpx timeout: ``timeout_s`` for the whole read, at most 10 s to connect."""
    if timeout_s <= 0:
        raise ConfigError(f"LLM timeout must be positive, got {timeout_s}")
    return _httpx().Timeout(timeout_s, connect=min(timeout_s, 10.0))


def http_clients(timeout_s: float, forbid_default: bool | None = None, urls: tuple[str, ...] = ()) -> tuple[Any, Any]:
    """A sync and an async httpx client for the openai SDK, both behind the real-LLM guard.

    Args:
        timeout_s: per-request timeout in seconds.
        forbid_default: the guard's switch outside any ``forbid_real_llm`` block; None reads
            ``CRSAGENT_FORBID_REAL_LLM`` now.
        urls: LLM replicas; with more than one, both clients share one
            :class:`~crsagent.agent.llm.fleet.Fleet` (round robin, dead replicas skipped with
            backoff) and requests for the first URL go to each in turn.

    Returns:
        ``(sync_client, async_client)``.
    """
    httpx = _httpx()
    forbid = env_forbids() if forbid_default is None else forbid_default
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=16)
    sync_t: Any = GuardTransport(httpx.HTTPTransport(limits=limits), forbid)
    async_t: Any = AsyncGuardTransport(httpx.AsyncHTTPTransport(limits=limits), forbid)
    if len(urls) > 1:
        fleet = Fleet(urls)
        sync_t, async_t = FleetTransport(sync_t, fleet, httpx), AsyncFleetTransport(async_t, fleet, httpx)
    sync_client = openai.DefaultHttpxClient(transport=sync_t, timeout=request_timeout(timeout_s))
    async_client = openai.DefaultAsyncHttpxClient(transport=async_t, timeout=request_timeout(timeout_s))
    return sync_client, async_client


def discover_model(
    base_url: str, *, api_key: str = "EMPTY", timeout_s: float = 10.0, forbid_default: bool | None = None
) -> str:
    """The first model a server lists at ``GET {base_url}/models``.

    Args:
        base_url: the OpenAI-compatible base URL (ending in ``/v1``); several comma-separated
            replicas are asked in turn until one answers.
        api_key: sent as a bearer token.
        timeout_s: request timeout.
        forbid_default: as in :func:`http_clients`.

    Raises:
        LLMUnavailableError: the server cannot be reached or answered badly.
        LLMError: the server lists no model.
        RealLLMForbiddenError: real requests are switched off.
    """
    urls = split_urls(base_url)
    if len(urls) > 1:
        last: LLMUnavailableError | None = None
        for one in urls:
            try:
                return discover_model(one, api_key=api_key, timeout_s=timeout_s, forbid_default=forbid_default)
            except LLMUnavailableError as exc:
                last = exc
        raise LLMUnavailableError(f"no LLM replica answered: {last}")
    httpx = _httpx()
    forbid = env_forbids() if forbid_default is None else forbid_default
    transport = GuardTransport(httpx.HTTPTransport(), forbid)
    url = base_url.rstrip("/") + "/models"
    try:
        with httpx.Client(transport=transport, timeout=request_timeout(timeout_s)) as client:
            resp = client.get(url, headers={"Authorization": f"Bearer {api_key}"})
            resp.raise_for_status()
            data = resp.json().get("data") or []
    except httpx.HTTPError as exc:
        raise LLMUnavailableError(f"cannot list models at {url}: {exc}") from exc
    except (ValueError, AttributeError) as exc:
        raise LLMUnavailableError(f"malformed model list from {url}: {exc}") from exc
    ids = [m.get("id") for m in data if isinstance(m, dict) and m.get("id")]
    if not ids:
        raise LLMError(f"the server at {base_url} lists no model")
    return str(ids[0])


@lru_cache(maxsize=1)
def discovering_chat_class() -> type:
    """``DiscoveringChatOpenAI``: a ``ChatOpenAI`` that asks the server for its model name at the
    first request (made on first use, so importing this module does not import langchain-openai).

    :func:`make_chat_model` returns one when no model name is configured and the server could
    not be reached at construction. Until a ``GET /models`` succeeds, every request raises
    :class:`~crsagent.agent.errors.LLMUnavailableError` (the agent's LLM steps then degrade);
    afterwards it is an ordinary ``ChatOpenAI`` for the discovered model.
    """
    from langchain_openai import ChatOpenAI

    class DiscoveringChatOpenAI(ChatOpenAI):
        """A ``ChatOpenAI`` whose model name is asked from the server at the first request."""

        _discovery: dict[str, Any] = PrivateAttr(default_factory=dict)
        _discovery_lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

        def configure_discovery(self, base_url: str, api_key: str, timeout_s: float, forbid_default: bool) -> None:
            """Where and how to ask for the model name (called by :func:`make_chat_model`)."""
            self._discovery = {
                "base_url": base_url,
                "api_key": api_key,
                "timeout_s": timeout_s,
                "forbid_default": forbid_default,
            }

        @property
        def discovered(self) -> bool:
            """Whether the model name is known."""
            return not self._discovery

        def resolve_model(self) -> str:
            """The served model name, asked from the server if still unknown.

            Raises:
                LLMUnavailableError: the server still cannot be reached.
            """
            with self._discovery_lock:
                if self._discovery:
                    self.model_name = discover_model(**self._discovery)
                    self._discovery = {}
                    log.info("LLM server reachable; serving model %s", self.model_name)
            return self.model_name

        def _get_request_payload(self, input_: Any, *, stop: list[str] | None = None, **kwargs: Any) -> dict:
            self.resolve_model()
            return super()._get_request_payload(input_, stop=stop, **kwargs)

    return DiscoveringChatOpenAI


def make_chat_model(
    settings: Settings,
    model: str | None = None,
    profile: ModelProfile | None = None,
    *,
    base_url: str | None = None,
    timeout_s: float | None = None,
    max_retries: int | None = None,
    forbid_default: bool | None = None,
    **chat_kwargs: Any,
) -> BaseChatModel:
    """The chat model the agent uses: ``ChatOpenAI`` against an OpenAI-compatible server.

    When no model name is given or configured and the server cannot be reached, the model
    returned asks for the name at its first request (see :func:`discovering_chat_class`), so
    an agent made while the LLM is down starts and degrades instead of failing.

    Args:
        settings: where the server is (``llm_base_url``; several comma-separated replicas make a
            fleet, see :mod:`crsagent.agent.llm.fleet`), which model, key, timeout, retries.
        model: the served model name; default ``settings.llm_model``, else asked from the server.
        profile: the model family's profile; default chosen from the model name.
        base_url: overrides ``settings.llm_base_url``.
        timeout_s: overrides ``settings.llm_timeout_s`` (per request, each retry included).
        max_retries: overrides ``settings.llm_max_retries`` (0 means one attempt).
        forbid_default: the real-LLM guard outside any ``forbid_real_llm`` block; None reads
            ``CRSAGENT_FORBID_REAL_LLM`` once, now.
        **chat_kwargs: further ``ChatOpenAI`` fields (they win over the profile's defaults).

    Returns:
        A ``ChatOpenAI`` whose ``max_tokens``, ``temperature`` and ``extra_body`` come from the profile.

    Raises:
        ConfigError: no base URL, or a bad timeout / retry count.
        RealLLMForbiddenError: the model name had to be asked and real requests are off.
    """
    from langchain_openai import ChatOpenAI

    url = base_url or settings.llm_base_url
    if not url:
        raise ConfigError(
            "no LLM base URL: set CRSAGENT_LLM_BASE_URL or pass --llm-base-url (see `crsagent llm serve`)"
        )
    timeout = settings.llm_timeout_s if timeout_s is None else timeout_s
    retries = settings.llm_max_retries if max_retries is None else max_retries
    if retries < 0:
        raise ConfigError(f"LLM max_retries must be >= 0, got {retries}")
    forbid = env_forbids() if forbid_default is None else forbid_default
    name = model or settings.llm_model
    pending = False
    if not name:
        try:
            name = discover_model(
                url, api_key=settings.llm_api_key, timeout_s=min(timeout, 10.0), forbid_default=forbid
            )
        except LLMUnavailableError as exc:  # down at start: ask again at the first request
            log.warning("LLM server unreachable at start (%s); the model name is asked again at the first request", exc)
            name, pending = PENDING_MODEL, True
    prof = profile or profile_for(None if pending else name)
    urls = split_urls(url)
    sync_client, async_client = http_clients(timeout, forbid, urls)
    params: dict[str, Any] = {
        "model": name,
        "base_url": urls[0] if urls else url,
        "api_key": settings.llm_api_key or "EMPTY",
        "timeout": request_timeout(timeout),
        "max_retries": retries,
        "temperature": prof.temperature,
        "max_tokens": prof.max_tokens,
        "http_client": sync_client,
        "http_async_client": async_client,
        "use_responses_api": False,
        "stream_usage": True,
    }
    if prof.extra_body:
        params["extra_body"] = dict(prof.extra_body)
    params.update(chat_kwargs)
    if not pending:
        return ChatOpenAI(**params)
    chat = discovering_chat_class()(**params)
    chat.configure_discovery(url, settings.llm_api_key, min(timeout, 10.0), forbid)
    return chat
