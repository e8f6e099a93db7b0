"""End-to-end fixtures: one real vLLM server for the whole session.

``vllm_server`` starts the bundled model on vLLM's CPU build through the library API
(``crsagent llm setup`` normally ran before, from ``make test``; the fixture sets up whatever
is missing). It yields ``(base_url, model_name)``. Set ``CRSAGENT_E2E_LLM_BASE_URL`` to use a
server that is already running instead. Every test under ``tests/e2e`` is marked ``e2e`` and
may make real LLM requests.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from crsagent.agent.llm.client import discover_model
from crsagent.agent.llm.real_llm_switch import allow_real_llm
from crsagent.agent.llm.server import LLMServer, LLMServerConfig
from crsagent.agent.settings import Settings

_HERE = Path(__file__).resolve().parent


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test in this folder ``e2e`` (so ``-m "not e2e"`` leaves them all out)."""
    for item in items:
        if _HERE in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def vllm_server(settings: Settings) -> Iterator[tuple[str, str]]:
    """A running vLLM server with the bundled model: ``(base_url, model_name)``."""
    external = os.environ.get("CRSAGENT_E2E_LLM_BASE_URL")
    if external:
        yield external, os.environ.get("CRSAGENT_E2E_LLM_MODEL") or discover_model(external, forbid_default=False)
        return

    def say(msg: str) -> None:
        print(f"[vllm_server] {msg}", file=sys.stderr, flush=True)

    with LLMServer(settings.home, LLMServerConfig(port=0), ready_timeout_s=900, log=say) as server:
        say(f"ready in {server.ready_s} s at {server.base_url}")
        yield server.base_url, server.model_name


@pytest.fixture(scope="session")
def llm_settings(settings: Settings, vllm_server: tuple[str, str]) -> Settings:
    """The session settings pointed at the running server."""
    base_url, model = vllm_server
    return replace(settings, llm_base_url=base_url, llm_model=model)


@pytest.fixture(autouse=True)
def real_llm_allowed() -> Iterator[None]:
    """End-to-end tests talk to the real server, whatever switch an outer conftest sets."""
    with allow_real_llm():
        yield
