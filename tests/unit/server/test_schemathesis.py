"""schemathesis over the OpenAPI spec: no input gives a 5xx, and answers match the spec.

The schema is loaded at import time (schemathesis' lazy ``from_fixture`` loader does not work
with pytest 9), so the runner here is a minimal inline echo runner rather than the conftest fake.
"""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from crsagent.agent.server import ServerConfig, create_app
from crsagent.agent.turns import ChatMessage, Recommendation, TurnResult, Usage


class EchoRunner:
    """Answers every turn with the user's text and one recommendation."""

    def __init__(self, variant: str) -> None:
        self.variant = variant
        self.turns = 0

    def _result(self, text: str) -> TurnResult:
        self.turns += 1
        rec = Recommendation(item_id="tt0113277", title="Heat (1995)", score=float("nan"))  # NaN must not break JSON
        return TurnResult(reply=f"echo: {text}", recommendations=[rec], usage=Usage(prompt_tokens=3, total_tokens=3))

    async def aturn(self, text: str, *, thread_id: str, user_id: str | None = None) -> TurnResult:
        return self._result(text)

    async def arun_history(
        self, messages: list[ChatMessage], *, user_id: str | None = None, ranking_k: int = 50
    ) -> TurnResult:
        return self._result(messages[-1].content)

    def turn(self, text: str, *, thread_id: str, user_id: str | None = None) -> TurnResult:
        return self._result(text)

    def run_history(
        self, messages: list[ChatMessage], *, user_id: str | None = None, ranking_k: int = 50
    ) -> TurnResult:
        return self._result(messages[-1].content)


RUNNERS: dict[str, EchoRunner] = {}


def _make(variant: str) -> EchoRunner:
    return RUNNERS.setdefault(variant, EchoRunner(variant))


APP = create_app(_make, ServerConfig(max_message_chars=200, max_body_bytes=20_000))
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)


@schema.parametrize()
@settings(max_examples=50, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_errors(case):
    case.call_and_validate(
        checks=[not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
    )


def test_fuzzing_reached_the_runner():
    # the chat operation ran above (tests run in file order): some generated requests were valid turns
    assert sum(r.turns for r in RUNNERS.values()) > 0


def test_spec_documents_400_not_422():
    spec = APP.openapi()
    chat = spec["paths"]["/v1/chat/completions"]["post"]
    assert "400" in chat["responses"] and "422" not in chat["responses"]
    assert chat["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("ChatCompletionRequest")


def test_spec_has_the_responses_endpoint():
    spec = APP.openapi()
    op = spec["paths"]["/v1/responses"]["post"]
    assert {"200", "400", "401", "404"} <= set(op["responses"]) and "422" not in op["responses"]
    assert op["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("ResponseCreateRequest")
    assert "text/event-stream" in op["responses"]["200"]["content"]
    rec = spec["components"]["schemas"]["RecommendationOut"]["properties"]
    assert rec["signals"]["type"] == "object"
