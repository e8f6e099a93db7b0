"""A per-caller request rate limit: a moving one-minute window, answered with 429 and ``Retry-After``.

The window is the ``limits`` library's moving-window strategy over its in-memory storage. The
caller is the identity of its API key (:func:`crsagent.agent.server.auth.key_identity`) when
the server has keys, else the client's address: never the raw ``Authorization`` header, whose
spellings (``bearer k1``, ``Bearer  k1`` ...) would each get a fresh allowance. The state is in
memory, per API process: behind a load balancer each replica limits on its own (see
``docs/operations.md``).
"""

from __future__ import annotations

import math
import time

from limits import RateLimitItemPerMinute
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from crsagent.agent.server.errors import APIError

__all__ = ["RateLimiter"]

_NAMESPACE = "crsagent"


class RateLimiter:
    """At most ``per_minute`` requests per caller in any 60-second window.

    Args:
        per_minute: requests allowed per caller and minute; 0 turns the limit off.
    """

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._item = RateLimitItemPerMinute(per_minute, namespace=_NAMESPACE) if per_minute > 0 else None
        self._limiter = MovingWindowRateLimiter(MemoryStorage()) if self._item is not None else None

    def check(self, caller: str) -> None:
        """Count one request for ``caller`` (a key identity, or ``addr:<ip>``).

        Raises:
            APIError: 429 ``rate_limit_exceeded``, with ``Retry-After`` in whole seconds, when the
                caller already made ``per_minute`` requests in the last minute (the refused
                request does not count).
        """
        if self._limiter is None or self._item is None:
            return
        if self._limiter.hit(self._item, caller):
            return
        reset_at = self._limiter.get_window_stats(self._item, caller).reset_time
        wait = max(1, math.ceil(reset_at - time.time()))
        raise APIError(
            429,
            f"rate limit reached: {self.per_minute} requests per minute for this key; retry in {wait} s",
            code="rate_limit_exceeded",
            headers={"Retry-After": str(wait)},
        )
