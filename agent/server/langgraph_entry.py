"""Entry point named by ``langgraph.json``: LangGraph's server loads this file by path.

The code lives in :mod:`crsagent.agent.server.deployment`, imported as a package module, so
loading this file by path (as LangGraph does) defines nothing twice.
"""

from __future__ import annotations

from crsagent.agent.server.deployment import DeploymentContext, make_graph

__all__ = ["make_graph", "DeploymentContext"]
