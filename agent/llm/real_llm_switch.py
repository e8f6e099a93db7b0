"""A switch that makes every real LLM request raise :class:`RealLLMForbiddenError`.

The switch lives at the HTTP layer: :func:`crsagent.agent.llm.client.make_chat_model` hands
the openai client an httpx client whose transport is a :class:`GuardTransport`, so no code
path through the seam (sync, async, retries, structured output, tool calls) can reach the
network while the switch is on.

The switch is on when

* the environment variable ``CRSAGENT_FORBID_REAL_LLM`` was ``1`` when the model was made
  (read once, at construction; unit tests set it), or
* the innermost active :func:`forbid_real_llm` block says so (``allow_real_llm`` turns it
  off inside, for tests that talk to a stub server on loopback).

The override is process-wide (not a context variable) on purpose: LangGraph and langchain
run sync nodes in worker threads, and the switch must hold there too.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from crsagent.agent.errors import RealLLMForbiddenError

__all__ = [
    "FORBID_ENV",
    "forbid_real_llm",
    "allow_real_llm",
    "real_llm_forbidden",
    "env_forbids",
    "GuardTransport",
    "AsyncGuardTransport",
]

#: Environment variable that, set to ``1``, forbids real LLM requests for models made after it.
FORBID_ENV = "CRSAGENT_FORBID_REAL_LLM"

_lock = threading.Lock()
_overrides: list[tuple[object, bool]] = []  # (token, forbid), innermost last


def env_forbids(env: Mapping[str, str] | None = None) -> bool:
    """Whether the environment forbids real LLM requests (``CRSAGENT_FORBID_REAL_LLM=1``)."""
    value = (os.environ if env is None else env).get(FORBID_ENV, "")
    return value.strip().lower() in {"1", "true", "yes", "on"}


def real_llm_forbidden(default: bool = False) -> bool:
    """The switch now: the innermost override, else ``default``."""
    with _lock:
        return _overrides[-1][1] if _overrides else default


@contextmanager
def forbid_real_llm(forbid: bool = True) -> Iterator[None]:
    """Forbid (or, with ``forbid=False``, allow) real LLM requests inside the block.

    Blocks nest; the innermost wins. The override applies to every thread of the process.

    Args:
        forbid: True to make requests raise, False to let them through.
    """
    token = object()
    with _lock:
        _overrides.append((token, bool(forbid)))
    try:
        yield
    finally:
        with _lock:
            _overrides[:] = [entry for entry in _overrides if entry[0] is not token]


@contextmanager
def allow_real_llm() -> Iterator[None]:
    """Let real requests through inside the block (for tests against a loopback stub server)."""
    with forbid_real_llm(False):
        yield


def _refuse(request: Any) -> RealLLMForbiddenError:
    return RealLLMForbiddenError(
        f"real LLM request to {request.url} refused: real LLM requests are switched off "
        f"({FORBID_ENV}=1 or forbid_real_llm()); use a fake from crsagent.agent.testing, "
        "or allow_real_llm() for a deliberate request"
    )


class GuardTransport:
    """A sync httpx transport that refuses requests while the switch is on.

    Args:
        inner: the transport that sends allowed requests (an ``HTTPTransport``).
        forbid_default: the switch when no :func:`forbid_real_llm` block is active
            (from :func:`env_forbids` at model construction).
    """

    def __init__(self, inner: Any, forbid_default: bool = False) -> None:
        self.inner = inner
        self.forbid_default = forbid_default

    def handle_request(self, request: Any) -> Any:
        """Send ``request`` through the inner transport, unless real requests are forbidden."""
        if real_llm_forbidden(self.forbid_default):
            raise _refuse(request)
        return self.inner.handle_request(request)

    def close(self) -> None:
        """Close the inner transport."""
        self.inner.close()

    def __enter__(self) -> GuardTransport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncGuardTransport:
    """The async twin of :class:`GuardTransport`."""

    def __init__(self, inner: Any, forbid_default: bool = False) -> None:
        self.inner = inner
        self.forbid_default = forbid_default

    async def handle_async_request(self, request: Any) -> Any:
        """Send ``request`` through the inner transport, unless real requests are forbidden."""
        if real_llm_forbidden(self.forbid_default):
            raise _refuse(request)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        """Close the inner transport."""
        await self.inner.aclose()

    async def __aenter__(self) -> AsyncGuardTransport:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
