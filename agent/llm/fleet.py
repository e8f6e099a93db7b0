"""Several LLM replicas behind one client: round robin, and a dead replica skipped with backoff.

``CRSAGENT_LLM_BASE_URL=http://gpu-a:8001/v1,http://gpu-b:8001/v1`` gives the agent a fleet
of OpenAI-compatible servers (vLLM replicas serving the same model). The openai SDK still
talks to one base URL (the first); the httpx transports here send each request to the next
replica in turn, rewriting the base:

* a replica that refuses or cannot be reached (a connection error or connect timeout: nothing
  was sent) is marked down and the same request goes at once to the next one;
* a replica that answers 502/503/504 or times out while reading is marked down too, but that
  answer is returned (the request may have run), and the SDK's own bounded retry then lands on
  another replica;
* a replica marked down is skipped for 1 s, then 2, 4 ... up to 30 s while it keeps failing,
  and is back in the rotation at its first success. When every replica is down the one that
  comes back soonest is tried anyway: the fleet never refuses on its own.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from crsagent.agent.errors import ConfigError

__all__ = ["Fleet", "FleetTransport", "AsyncFleetTransport", "split_urls", "BACKOFF_S", "MAX_BACKOFF_S"]

BACKOFF_S, MAX_BACKOFF_S = 1.0, 30.0
_DOWN_STATUSES = frozenset({502, 503, 504})


def split_urls(value: str | Sequence[str] | None) -> tuple[str, ...]:
    """Base URLs from a comma-separated string (or a list), trailing slashes dropped."""
    items = value.split(",") if isinstance(value, str) else list(value or ())
    return tuple(u.strip().rstrip("/") for u in items if u and u.strip())


@dataclass
class _Replica:
    url: str
    failures: int = 0
    down_until: float = 0.0
    requests: int = 0


@dataclass
class Fleet:
    """The replicas and their health, shared by the sync and async transports of one client.

    Args:
        urls: the replicas' base URLs (``.../v1``); the first is the one the SDK is given.
        clock: the time source (tests pass their own).
    """

    urls: Sequence[str]
    clock: Callable[[], float] = time.monotonic
    _replicas: list[_Replica] = field(init=False)
    _next: int = field(default=0, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def __post_init__(self) -> None:
        self.urls = split_urls(self.urls)
        if not self.urls:
            raise ConfigError("an LLM fleet needs at least one base URL")
        self._replicas = [_Replica(u) for u in self.urls]

    def order(self) -> list[int]:
        """Replica indexes to try for one request: the live ones from the round-robin position,
        then the down ones, soonest back first."""
        now = self.clock()
        with self._lock:
            start = self._next
            self._next = (self._next + 1) % len(self._replicas)
            ring = [(start + i) % len(self._replicas) for i in range(len(self._replicas))]
            live = [i for i in ring if self._replicas[i].down_until <= now]
            down = sorted(
                (i for i in ring if self._replicas[i].down_until > now), key=lambda i: self._replicas[i].down_until
            )
        return live + down

    def mark_down(self, i: int) -> None:
        """Skip replica ``i`` for its backoff (doubling while it keeps failing)."""
        with self._lock:
            r = self._replicas[i]
            r.failures += 1
            r.down_until = self.clock() + min(MAX_BACKOFF_S, BACKOFF_S * 2 ** (r.failures - 1))

    def mark_up(self, i: int) -> None:
        """Replica ``i`` answered: back in the rotation."""
        with self._lock:
            r = self._replicas[i]
            r.failures, r.down_until = 0, 0.0
            r.requests += 1

    def status(self) -> list[dict[str, Any]]:
        """Per replica: url, consecutive failures, seconds until retried, requests answered."""
        now = self.clock()
        with self._lock:
            return [
                {
                    "url": r.url,
                    "failures": r.failures,
                    "down_for_s": round(max(0.0, r.down_until - now), 3),
                    "requests": r.requests,
                }
                for r in self._replicas
            ]

    def rewrite(self, httpx: Any, request: Any, i: int) -> Any:
        """``request`` sent to replica ``i`` instead of the first replica (same path and body)."""
        url, base = str(request.url), self.urls[0]
        target = self.urls[i] + url[len(base) :] if url.startswith(base) else url
        if i == 0 or target == url:
            return request
        headers = [(k, v) for k, v in request.headers.raw if k.lower() != b"host"]
        return httpx.Request(
            request.method, target, headers=headers, content=request.content, extensions=request.extensions
        )


def _connect_errors(httpx: Any) -> tuple[type[Exception], ...]:
    return (httpx.ConnectError, httpx.ConnectTimeout)


class FleetTransport:
    """A sync httpx transport spreading requests over a :class:`Fleet` (wraps ``inner``)."""

    def __init__(self, inner: Any, fleet: Fleet, httpx: Any) -> None:
        self.inner, self.fleet, self._httpx = inner, fleet, httpx

    def handle_request(self, request: Any) -> Any:
        """Send to the next live replica; on a connection failure, to the one after."""
        request.read()
        last: Exception | None = None
        for i in self.fleet.order():
            try:
                resp = self.inner.handle_request(self.fleet.rewrite(self._httpx, request, i))
            except _connect_errors(self._httpx) as exc:
                self.fleet.mark_down(i)
                last = exc
                continue
            except self._httpx.TimeoutException:
                self.fleet.mark_down(i)
                raise
            (self.fleet.mark_down if resp.status_code in _DOWN_STATUSES else self.fleet.mark_up)(i)
            return resp
        raise cast(Exception, last)  # order() is never empty, so a failure was kept

    def close(self) -> None:
        """Close the inner transport."""
        self.inner.close()

    def __enter__(self) -> FleetTransport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncFleetTransport:
    """The async twin of :class:`FleetTransport`."""

    def __init__(self, inner: Any, fleet: Fleet, httpx: Any) -> None:
        self.inner, self.fleet, self._httpx = inner, fleet, httpx

    async def handle_async_request(self, request: Any) -> Any:
        """Send to the next live replica; on a connection failure, to the one after."""
        await request.aread()
        last: Exception | None = None
        for i in self.fleet.order():
            try:
                resp = await self.inner.handle_async_request(self.fleet.rewrite(self._httpx, request, i))
            except _connect_errors(self._httpx) as exc:
                self.fleet.mark_down(i)
                last = exc
                continue
            except self._httpx.TimeoutException:
                self.fleet.mark_down(i)
                raise
            (self.fleet.mark_down if resp.status_code in _DOWN_STATUSES else self.fleet.mark_up)(i)
            return resp
        raise cast(Exception, last)  # order() is never empty, so a failure was kept

    async def aclose(self) -> None:
        """Close the inner transport."""
        await self.inner.aclose()

    async def __aenter__(self) -> AsyncFleetTransport:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
