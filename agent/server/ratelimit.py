"""A per-key request rate limit: a sliding one-minute window, answered with 429 and ``Retry-After``.

The key is the bearer API key when the server has keys, else the client's address. The state
is in memory, per API process: behind a load balancer each replica limits on its own (see
``docs/operations.md``).
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable

from crsagent.agent.server.errors import APIError

__all__ = ["RateLimiter"]

_WINDOW_S = 60.0


class RateLimiter:
    """At most ``per_minute`` requests per key in any 60-second window.

    Only the event loop calls it (no lock needed): ``check`` is synchronous and never awaits.
    """

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic, max_keys: int = 100_000) -> None:
        """Args:
        per_minute: requests allowed per key and minute; 0 turns the limit off.
        clock: seconds, monotonic (tests pass their own).
        max_keys: keys remembered at most (the idle ones are forgotten first).
        """
        self.per_minute = per_minute
        self._clock = clock
        self._max_keys = max_keys
        self._seen: dict[str, deque[float]] = {}

    def check(self, key: str) -> None:
        """Count one request for ``key``.

        Raises:
            APIError: 429 ``rate_limit_exceeded``, with ``Retry-After`` in whole seconds, when the
                key already made ``per_minute`` requests in the last minute (the refused request
                does not count).
        """
        if self.per_minute <= 0:
            return
        now = self._clock()
        hits = self._seen.pop(key, None) or deque()
        self._seen[key] = hits  # most recently used last
        while hits and hits[0] <= now - _WINDOW_S:
            hits.popleft()
        if len(hits) >= self.per_minute:
            wait = max(1, math.ceil(hits[0] + _WINDOW_S - now))
            raise APIError(
                429,
                f"rate limit reached: {self.per_minute} requests per minute for this key; retry in {wait} s",
                code="rate_limit_exceeded",
                headers={"Retry-After": str(wait)},
            )
        hits.append(now)
        if len(self._seen) > self._max_keys:
            del self._seen[next(iter(self._seen))]
