"""Shared fixtures.

``built_home`` gives the data home with the real bundled catalogues and models built
(``make test`` builds them first; the fixture builds what is missing, so a lone
``pytest`` run works too).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from crsagent.agent.llm.real_llm_switch import FORBID_ENV, forbid_real_llm
from crsagent.agent.settings import Settings


@pytest.fixture(autouse=True)
def no_real_llm(monkeypatch: pytest.MonkeyPatch):
    """Real LLM requests raise RealLLMForbiddenError (tests/e2e switches them back on)."""
    monkeypatch.setenv(FORBID_ENV, "1")
    with forbid_real_llm():
        yield


@pytest.fixture(scope="session")
def settings() -> Settings:
    """Settings over the real data home (``CRSAGENT_HOME`` or ``./.crsagent``)."""
    return Settings.from_env(home=Path(os.environ.get("CRSAGENT_HOME", ".crsagent")))


def _built(settings: Settings, domain: str) -> Settings:
    from crsagent.tools.artifacts import ArtifactStore
    from crsagent.tools.pipeline import BuildContext, run_build

    run_build(BuildContext(settings=settings, domain=domain, store=ArtifactStore(settings.home, domain)))
    return settings


@pytest.fixture(scope="session")
def movies_home(settings: Settings) -> Settings:
    """Settings whose home holds a complete movies build."""
    return _built(settings, "movies")


@pytest.fixture(scope="session")
def office_home(settings: Settings) -> Settings:
    """Settings whose home holds a complete office build."""
    return _built(settings, "office")


@pytest.fixture(scope="session")
def postgres_url():
    """A ``postgresql://`` URL to a real throwaway PostgreSQL server (Debian's package)."""
    from crsagent.tests.support.postgres import postgres_server

    with postgres_server() as url:
        yield url
