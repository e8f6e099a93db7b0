"""The per-key rate limit: a sliding 60-second window."""

from __future__ import annotations

import pytest

from crsagent.agent.errors import ConfigError
from crsagent.agent.server.config import ServerConfig
from crsagent.agent.server.errors import APIError
from crsagent.agent.server.ratelimit import RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_key_gets_its_budget_per_window_and_a_retry_after() -> None:
    clock = Clock()
    limiter = RateLimiter(3, clock=clock)
    for _ in range(3):
        limiter.check("a")
        clock.now += 10
    with pytest.raises(APIError) as e:
        limiter.check("a")
    assert e.value.status_code == 429 and e.value.code == "rate_limit_exceeded"
    assert e.value.headers["Retry-After"] == "30"  # the first hit (t=1000) leaves the window at t=1060
    limiter.check("b")  # other keys are unaffected
    clock.now = 1060.0
    limiter.check("a")  # the oldest hit left the window
    with pytest.raises(APIError):
        limiter.check("a")


def test_zero_is_off_and_negative_is_refused() -> None:
    limiter = RateLimiter(0)
    for _ in range(1000):
        limiter.check("a")
    with pytest.raises(ConfigError):
        ServerConfig(rate_limit_per_minute=-1)


def test_idle_keys_are_forgotten_beyond_max_keys() -> None:
    limiter = RateLimiter(1, clock=Clock(), max_keys=2)
    limiter.check("a")
    limiter.check("b")
    limiter.check("c")  # "a" is forgotten
    limiter.check("a")
    with pytest.raises(APIError):
        limiter.check("c")
