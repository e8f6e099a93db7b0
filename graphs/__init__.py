"""LangGraph builders of the conversational recommender.

* :func:`~crsagent.graphs.builder.build_crs_graph` — the CRS graph of a collaboration variant
  (a ``StateGraph`` builder: understand -> decide -> act -> [tool_agent <-> tools] -> respond
  -> remember);
* :class:`~crsagent.graphs.runner.CRSAgent` — the compiled graph behind the
  :class:`~crsagent.agent.turns.AgentRunner` contract;
* :class:`~crsagent.graphs.state.CRSState` / :class:`~crsagent.graphs.context.CRSContext` —
  the state (with reducers) and the run-scoped handles;
* :mod:`~crsagent.graphs.ranking`, :mod:`~crsagent.graphs.dialogue.elicitation`,
  :mod:`~crsagent.graphs.dialogue.grounding` — ranking fusion, needs elicitation, the grounding guard.
"""

from crsagent.graphs.builder import build_crs_graph, compile_crs_graph
from crsagent.graphs.context import Budgets, CRSContext
from crsagent.graphs.ranking import DEFAULT_WEIGHTS, FusionWeights
from crsagent.graphs.runner import CRSAgent
from crsagent.graphs.state import CRSState
from crsagent.graphs.variants import VARIANT_SPECS, VariantSpec, get_variant

__all__ = [
    "build_crs_graph",
    "compile_crs_graph",
    "CRSAgent",
    "CRSState",
    "CRSContext",
    "Budgets",
    "FusionWeights",
    "DEFAULT_WEIGHTS",
    "VariantSpec",
    "VARIANT_SPECS",
    "get_variant",
]
