"""The OpenAI-compatible HTTP API of the agent (``crsagent serve``); see docs/api.md.

``create_app(runner_factory, config)`` builds a FastAPI app over any
:class:`~crsagent.agent.turns.AgentRunner` factory; :class:`CRSAgentRunners` is the real one
(:class:`~crsagent.graphs.runner.CRSAgent` per variant, sharing toolkit, LLM and persistence).
"""

from __future__ import annotations

from crsagent.agent.server.agent_runners import CRSAgentRunners
from crsagent.agent.server.app import create_app
from crsagent.agent.server.config import ServerConfig
from crsagent.agent.server.models import DEFAULT_MODEL
from crsagent.agent.server.runners import RunnerFactory, RunnerPool

__all__ = ["create_app", "ServerConfig", "CRSAgentRunners", "DEFAULT_MODEL", "RunnerFactory", "RunnerPool"]
