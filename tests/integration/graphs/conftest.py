"""Fixtures for the graph's integration tests (``postgres_url`` comes from the top-level conftest)."""

from __future__ import annotations

import pytest

from crsagent.agent.settings import Settings
from crsagent.tools.toolkit import Toolkit


@pytest.fixture(scope="session")
def movies_toolkit(movies_home: Settings) -> Toolkit:
    """The real movie toolkit over the built artifacts, every handle loaded."""
    return Toolkit.load(movies_home, "movies", eager=True)
