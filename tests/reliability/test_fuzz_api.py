"""schemathesis over a real socket: ``crsagent serve`` (its own process, API keys on) under fuzzing.

The in-process fuzzing of the spec lives with the API (``tests/unit/server/test_schemathesis.py``
over a fake runner, ``tests/integration/server/test_deployment.py`` over the agent, in the
ASGI transport). What this adds: the bytes go through uvicorn's HTTP parser and the body-limit
middleware of the real server process, with authentication switched on, and every operation is
fuzzed with a valid key and without one. No input may give a 5xx or an answer the spec does not
document, and the server must still be healthy afterwards.
"""

from __future__ import annotations

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from crsagent.tests.reliability.helpers import API_KEYS

pytestmark = pytest.mark.slow

OPERATIONS = [
    ("/v1/chat/completions", "POST", 40),
    ("/v1/responses", "POST", 40),
    ("/v1/models", "GET", 5),
    ("/v1/models/{model}", "GET", 15),
    ("/health", "GET", 3),
    ("/v1/health", "GET", 3),
]
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.mark.parametrize("authorized", [True, False], ids=["with-key", "without-key"])
@pytest.mark.parametrize("path,method,examples", OPERATIONS, ids=[f"{m} {p}" for p, m, _ in OPERATIONS])
def test_fuzzing_the_served_spec(fake_api, authorized, path, method, examples):
    schema = schemathesis.openapi.from_url(f"{fake_api.url}/openapi.json")
    operation = schema[path][method]
    headers = {"Authorization": f"Bearer {API_KEYS[1]}"} if authorized else {}
    codes: list[int] = []

    @given(case=operation.as_strategy())
    @settings(
        max_examples=examples if authorized else min(examples, 10),
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    def fuzz(case):
        response = case.call_and_validate(base_url=fake_api.url, headers=headers, checks=CHECKS, timeout=120)
        codes.append(response.status_code)

    fuzz()
    assert codes and max(codes) < 500
    if not authorized and path.startswith("/v1/") and path != "/v1/health":
        assert set(codes) == {401}  # nothing gets past the key check, whatever the input
    assert httpx.get(f"{fake_api.url}/health", timeout=30).status_code == 200
    assert fake_api.proc.poll() is None
