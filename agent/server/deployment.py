"""The graph LangGraph's dev server and Studio run (``langgraph.json`` -> ``langgraph_entry.py``).

``make_graph()`` compiles the default CRS graph (``build_crs_graph``) with no checkpointer
(LangGraph's server brings its own). The run-scoped handles the graph needs (toolkit, chat
model) cannot travel as JSON, so the context schema here is :class:`DeploymentContext`: a
:class:`~crsagent.graphs.context.CRSContext` whose handles default to the deployment's own,
configured from the environment like ``crsagent serve``:

* ``CRSAGENT_HOME``: the data home (built with ``crsagent build``);
* ``CRSAGENT_DOMAIN``: ``movies`` (default) or ``office``;
* ``CRSAGENT_VARIANT``: the graph variant (default ``full``);
* ``CRSAGENT_LLM_BASE_URL`` / ``CRSAGENT_LLM_MODEL``: the LLM server (LLM variants).

A run's context may set the plain fields (``{"user_id": "alice", "n_recommend": 5}``); a run
without context gets the defaults.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field
from typing import Any

from langgraph.runtime import Runtime

from crsagent.agent.settings import Settings
from crsagent.graphs.builder import build_crs_graph
from crsagent.graphs.context import CRSContext

__all__ = ["DeploymentContext", "deployment_settings", "make_graph"]

try:  # where LangGraph looks for a context seeded at graph level (see Pregel's _coerce_parent_runtime)
    from langgraph._internal._constants import CONFIG_KEY_RUNTIME
except ImportError:  # pragma: no cover - layout of other langgraph versions
    CONFIG_KEY_RUNTIME = "__pregel_runtime"


@functools.lru_cache(maxsize=1)
def deployment_settings() -> tuple[Settings, str, str]:
    """``(settings, domain, variant)`` of this deployment, read once from the environment."""
    return (
        Settings.from_env(),
        os.environ.get("CRSAGENT_DOMAIN", "movies"),
        os.environ.get("CRSAGENT_VARIANT", "full"),
    )


@functools.lru_cache(maxsize=1)
def _toolkit() -> Any:
    from crsagent.tools.toolkit import Toolkit

    settings, domain, _ = deployment_settings()
    return Toolkit.load(settings, domain)


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


def make_graph(config: Any = None) -> Any:
    """The compiled CRS graph of this deployment (the ``graphs`` entry of ``langgraph.json``).

    Args:
        config: the run config LangGraph's server passes to graph factories (unused).

    Returns:
        A compiled graph over :class:`~crsagent.graphs.state.CRSState`, with
        :class:`DeploymentContext` as its context schema and its default context seeded.
    """
    _, _, variant = deployment_settings()
    builder = build_crs_graph(variant)
    builder.context_schema = DeploymentContext
    graph = builder.compile(name=f"crsagent-{variant}")
    return graph.with_config(configurable={CONFIG_KEY_RUNTIME: Runtime(context=DeploymentContext())})
