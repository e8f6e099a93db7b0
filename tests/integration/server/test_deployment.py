"""The API's deployment surfaces over the real agent: the OpenAPI spec fuzzed, and langgraph.json."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from crsagent.agent.server import ServerConfig, create_app
from crsagent.agent.server.agent_runners import CRSAgentRunners
from crsagent.agent.settings import Settings, repo_root


def test_no_server_errors_with_the_real_agent(movies_home: Settings):
    """schemathesis on the chat operation, served by CRSAgent (crs-only): no input gives a 5xx."""
    app = create_app(
        CRSAgentRunners(movies_home, "movies", checkpoint_url="memory"),
        ServerConfig(variants=("crs-only",), default_variant="crs-only"),
    )
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operation = schema["/v1/chat/completions"]["POST"]
    served: list[int] = []

    @given(case=operation.as_strategy())
    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
    def fuzz(case):
        response = case.call_and_validate(checks=[not_a_server_error], timeout=120)  # the first turn loads the toolkit
        served.append(response.status_code)

    fuzz()
    assert served and all(code < 500 for code in served)


def _load_entry(spec: str):
    path, _, attr = spec.partition(":")
    module_spec = importlib.util.spec_from_file_location("crsagent_langgraph_entry", repo_root() / path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)  # as LangGraph's server loads it: by file path
    return module, getattr(module, attr)


@pytest.fixture
def deployment(movies_home: Settings, monkeypatch: pytest.MonkeyPatch):
    config = json.loads((repo_root() / "langgraph.json").read_text())
    assert set(config["graphs"]) == {"crsagent"}
    assert config["dependencies"] == ["."]
    monkeypatch.setenv("CRSAGENT_HOME", str(movies_home.home))
    monkeypatch.delenv("CRSAGENT_VARIANT", raising=False)  # without an LLM the default is crs-only
    monkeypatch.delenv("CRSAGENT_LLM_BASE_URL", raising=False)
    _, factory = _load_entry(config["graphs"]["crsagent"])
    from crsagent.agent.server import deployment as module

    for fn in (module.deployment_settings, module._toolkit, module._llm):
        fn.cache_clear()
    yield module, factory
    for fn in (module.deployment_settings, module._toolkit, module._llm):
        fn.cache_clear()


def test_langgraph_json_graph_runs(deployment):
    module, factory = deployment
    graph = asyncio.run(factory())  # an async factory: the toolkit loads in a worker thread
    settings, domain, variant = module.deployment_settings()
    assert (settings.home, domain, variant) == (Path(os.environ["CRSAGENT_HOME"]), "movies", "crs-only")
    schema = graph.get_context_jsonschema()  # Studio renders this form
    assert "user_id" in schema["properties"]
    inp = {"messages": [{"role": "user", "content": "I loved The Babadook. Any other horror films?"}]}
    assert "messages" in graph.get_input_jsonschema()["properties"]  # Studio's input form renders
    for context in ({}, {"user_id": "studio-user", "n_recommend": 2}):
        state = graph.invoke(inp, context=context)
        assert state["messages"][-1].type == "ai" and state["messages"][-1].text.strip()
        recs = state.get("recommendations") or []
        assert recs and all(r["item_id"].startswith("tt") for r in recs)
        if context:
            assert len(recs) == 2
