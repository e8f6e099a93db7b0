"""Fixtures of the reliability and security tests.

Faults are injected into real processes on ``127.0.0.1``: the stub LLM server
(:mod:`crsagent.tests.reliability.stub_llm`) and ``crsagent serve`` run as subprocesses
(:mod:`crsagent.tests.reliability.procs`) that tests kill with SIGKILL. The agent runs over the
real built movie catalogue (``movies_home``).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from crsagent.agent.llm.real_llm_switch import allow_real_llm
from crsagent.agent.settings import Settings
from crsagent.tests.reliability.helpers import API_KEYS, MAX_BODY_BYTES, MAX_MESSAGE_CHARS
from crsagent.tests.reliability.procs import ApiProcess, StubLLMProcess
from crsagent.tools.toolkit import Toolkit


@pytest.fixture(scope="session")
def movies_toolkit(movies_home: Settings) -> Toolkit:
    """The real movie toolkit, every handle loaded."""
    return Toolkit.load(movies_home, "movies", eager=True)


@pytest.fixture
def stub() -> Iterator[StubLLMProcess]:
    """A stub LLM server process (mode ``ok``), killed after the test."""
    with StubLLMProcess() as proc:
        yield proc


@pytest.fixture
def real_llm_ok() -> Iterator[None]:
    """Let requests reach the loopback stub (the top-level conftest forbids real LLM requests)."""
    with allow_real_llm():
        yield


@pytest.fixture(scope="session")
def fake_api(movies_home: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiProcess]:
    """One ``crsagent serve --fake-llm`` subprocess for the session: API keys on, SQLite sessions
    in a temporary folder (``fake_api.sessions``)."""
    root = tmp_path_factory.mktemp("fake-api")
    args = ["--fake-llm", "--max-body-bytes", str(MAX_BODY_BYTES), "--max-message-chars", str(MAX_MESSAGE_CHARS)]
    env = {"CRSAGENT_API_KEYS": ",".join(API_KEYS)}
    with ApiProcess(movies_home.home, args, env, log=root / "serve.log", sessions=root / "sessions") as api:
        yield api
