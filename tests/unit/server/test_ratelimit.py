"""The per-caller rate limit (``limits``' moving window) and the bearer-token parsing it keys on."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crsagent.agent.errors import ConfigError
from crsagent.agent.server import ServerConfig, create_app
from crsagent.agent.server.auth import authenticate, key_identity, parse_bearer
from crsagent.agent.server.config import ServerConfig as Config
from crsagent.agent.server.errors import APIError
from crsagent.agent.server.ratelimit import RateLimiter
from crsagent.evals.bench.api import NoopRunner

KEYS = ("k1", "key-two_3.4~+/=")

#: the scheme in any letter case, 1+ spaces or tabs, the token, optional whitespace around
spellings = st.builds(
    lambda scheme, sep, lead, trail, token: f"{lead}{scheme}{sep}{token}{trail}",
    st.tuples(*(st.sampled_from((c.lower(), c.upper())) for c in "bearer")).map("".join),
    st.text(alphabet=" \t", min_size=1, max_size=4),
    st.text(alphabet=" \t", max_size=3),
    st.text(alphabet=" \t", max_size=3),
    st.sampled_from(KEYS),
)


def test_a_key_gets_its_budget_per_window_and_a_retry_after() -> None:
    limiter = RateLimiter(3)
    for _ in range(3):
        limiter.check("a")
    with pytest.raises(APIError) as e:
        limiter.check("a")
    assert e.value.status_code == 429 and e.value.code == "rate_limit_exceeded"
    assert 55 <= int(e.value.headers["Retry-After"]) <= 60  # the first hit leaves the window in ~60 s
    limiter.check("b")  # other callers are unaffected


def test_zero_is_off_and_negative_is_refused() -> None:
    limiter = RateLimiter(0)
    for _ in range(1000):
        limiter.check("a")
    with pytest.raises(ConfigError):
        Config(rate_limit_per_minute=-1)


@given(header=spellings)
def test_every_rfc6750_spelling_parses_to_the_token_and_one_identity(header: str) -> None:
    token = header.split()[-1]
    assert parse_bearer(header) == token
    assert authenticate(header, KEYS) == key_identity(token)


@pytest.mark.parametrize(
    "header", ["", "   ", "Bearer", "Bearer\t", "Basic k1", "Bearerk1", "Bearer k1 k1", "Token k1", "k1", "Bearer, k1"]
)
def test_malformed_headers_are_401(header: str) -> None:
    with pytest.raises(APIError) as e:
        authenticate(header, KEYS)
    assert e.value.status_code == 401 and e.value.code == "invalid_api_key"


def test_identities_are_stable_distinct_and_not_the_key() -> None:
    a, b = key_identity("k1"), key_identity("k2")
    assert a == key_identity("k1") and a != b
    assert "k1" not in a[1:] and len(a) == 17


@pytest.fixture(scope="module")
def limited() -> Iterator[TestClient]:
    """An app with keys and a limit of 2 a minute; ``k1`` has already spent its allowance."""
    with TestClient(create_app(NoopRunner, ServerConfig(api_keys=KEYS, rate_limit_per_minute=2))) as client:
        for _ in range(2):
            assert client.get("/v1/models", headers={"Authorization": "Bearer k1"}).status_code == 200
        yield client


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(header=spellings.filter(lambda h: h.split()[-1] == "k1"))
def test_no_spelling_of_a_limited_key_gets_a_fresh_allowance(limited: TestClient, header: str) -> None:
    r = limited.get("/v1/models", headers={"Authorization": header})
    assert r.status_code == 429, (header, r.text)
    assert r.json()["error"]["code"] == "rate_limit_exceeded" and int(r.headers["Retry-After"]) >= 1


def test_the_other_key_and_health_are_not_limited(limited: TestClient) -> None:
    assert limited.get("/v1/models", headers={"Authorization": f"bearer\t{KEYS[1]}"}).status_code == 200
    assert limited.get("/health").status_code == 200
