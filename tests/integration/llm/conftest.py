"""Fixtures for the tool-call contract tests: the LLM environment's Python and a loopback stub.

vLLM lives only in the LLM server's own environment (``$CRSAGENT_HOME/llm/venv-cpu``, made by
``make llm-env`` / ``crsagent llm setup``). These tests run vLLM's tool parsers there, in a
subprocess; when the environment is missing they fail and say how to make it (``make test-fast``
leaves them out: they are marked ``slow``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from crsagent.agent.llm.venv import llm_home
from crsagent.agent.settings import Settings
from crsagent.tests.support.loopback import loopback_server

_MARKER = "crsagent-llm-env.json"


@pytest.fixture(scope="session")
def llm_env_python(settings: Settings) -> Path:
    """The LLM environment's interpreter (CPU environment first, else the GPU one)."""
    for device in ("cpu", "gpu"):
        env = llm_home(settings.home) / f"venv-{device}"
        if (env / _MARKER).is_file() and (env / "bin" / "python").exists():
            return env / "bin" / "python"
    pytest.fail(
        f"no finished LLM environment under {llm_home(settings.home)} (venv-cpu or venv-gpu): these tests run "
        "vLLM's tool parsers there. Make it with `make llm-env` (or `crsagent llm setup`), or leave them out "
        "with -m 'not slow'.",
        pytrace=False,
    )


@dataclass
class CompletionStub:
    """A loopback OpenAI-compatible server that answers every chat completion with ``body``."""

    base_url: str = ""
    body: dict[str, Any] = field(default_factory=dict)
    requests: list[dict[str, Any]] = field(default_factory=list)


@pytest.fixture
def completion_stub() -> Iterator[CompletionStub]:
    """A :class:`CompletionStub` on 127.0.0.1 (random port), stopped after the test."""
    stub = CompletionStub()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:  # noqa: N802 - http.server naming
            length = int(self.headers.get("Content-Length", "0"))
            stub.requests.append(json.loads(self.rfile.read(length) or b"{}"))
            data = json.dumps(stub.body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    with loopback_server(Handler) as stub.base_url:
        yield stub
