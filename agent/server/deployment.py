"""The graph LangGraph's dev server and Studio run (``langgraph.json`` -> ``langgraph_entry.py``).

``make_graph()`` compiles the CRS graph (``build_crs_graph``) with no checkpointer (LangGraph's
server brings its own). The run-scoped handles the graph needs (toolkit, chat model) cannot
travel as JSON, so the context schema here is :class:`DeploymentContext`: a
:class:`~crsagent.graphs.context.CRSContext` whose handles default to the deployment's own,
configured from the environment like ``crsagent serve``:

* ``CRSAGENT_HOME``: the data home (built with ``crsagent build``);
* ``CRSAGENT_DOMAIN``: ``movies`` (default) or ``office``;
* ``CRSAGENT_VARIANT``: the graph variant; by default ``agent`` when an LLM server is configured
  and ``crs-only`` (no LLM at all) otherwise;
* ``CRSAGENT_LLM_BASE_URL`` / ``CRSAGENT_LLM_MODEL``: the LLM server (LLM variants).

A run's context may set the plain fields (``{"user_id": "alice", "n_recommend": 5}``); the
server always sends one (an empty one gives the defaults), and so must direct callers
(``graph.invoke(inp, context={})``).

``make_graph`` is a coroutine: the toolkit (SQLite, indexes, models) and the chat model load
once, in a worker thread, so nothing blocks the server's event loop.
"""

from __future__ import annotations

import asyncio
import functools
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from crsagent.agent.settings import Settings
from crsagent.graphs.builder import build_crs_graph
from crsagent.graphs.context import CRSContext

__all__ = ["DeploymentContext", "deployment_settings", "make_graph", "build_deployment_graph", "default_variant"]


def default_variant(settings: Settings, env: Mapping[str, str] | None = None) -> str:
    """``CRSAGENT_VARIANT`` if set, else ``agent`` with an LLM server configured, else ``crs-only``."""
    environ: Mapping[str, str] = os.environ if env is None else env
    return environ.get("CRSAGENT_VARIANT") or ("agent" if settings.llm_base_url else "crs-only")


@functools.lru_cache(maxsize=1)
def deployment_settings() -> tuple[Settings, str, str]:
    """``(settings, domain, variant)`` of this deployment, read once from the environment."""
    settings = Settings.from_env()
    return settings, os.environ.get("CRSAGENT_DOMAIN", "movies"), default_variant(settings)


@functools.lru_cache(maxsize=1)
def _toolkit() -> Any:
    from crsagent.tools.toolkit import Toolkit

    settings, domain, _ = deployment_settings()
    return Toolkit.load(settings, domain, eager=True)


@functools.lru_cache(maxsize=1)
def _llm() -> Any:
    from crsagent.graphs.variants import get_variant

    settings, _, variant = deployment_settings()
    if not get_variant(variant).uses_llm:
        return None
    from crsagent.agent.llm.client import make_chat_model

    return make_chat_model(settings)


@dataclass
class DeploymentContext(CRSContext):
    """A :class:`CRSContext` whose toolkit and chat model default to the deployment's."""

    toolkit: Any = field(default_factory=_toolkit)
    llm: Any = field(default_factory=_llm)
    model_profile: Any = None


def _load_handles() -> None:
    _toolkit()
    _llm()


def build_deployment_graph() -> Any:
    """The compiled graph of this deployment, loading its handles in the calling thread.

    Returns:
        A compiled graph over :class:`~crsagent.graphs.state.CRSState` with
        :class:`DeploymentContext` as its context schema (runs pass ``context={}`` or more).
    """
    _load_handles()
    _, _, variant = deployment_settings()
    builder = build_crs_graph(variant)
    builder.context_schema = DeploymentContext
    return builder.compile(name=f"crsagent-{variant}")


async def make_graph(config: Any = None) -> Any:
    """The ``graphs`` entry of ``langgraph.json``: :func:`build_deployment_graph` in a worker thread.

    Args:
        config: the run config LangGraph's server passes to graph factories (unused).

    Returns:
        The compiled graph.
    """
    return await asyncio.to_thread(build_deployment_graph)
