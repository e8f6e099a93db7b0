"""Run-scoped handles of the CRS graph, passed through LangGraph's ``context_schema``.

Nothing here lives in a global: the toolkit (database, indexes, models), the chat model, its
profile, budgets and fusion weights come with each run as ``graph.invoke(..., context=ctx)``
and reach nodes as ``runtime.context``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from crsagent.agent.errors import ConfigError
from crsagent.graphs.ranking import FusionWeights, domain_weights

if TYPE_CHECKING:  # pragma: no cover
    from langchain_core.language_models import BaseChatModel

    from crsagent.agent.llm.profiles import ModelProfile
    from crsagent.tools.toolkit import Toolkit

__all__ = ["Budgets", "CRSContext"]


@dataclass(frozen=True)
class Budgets:
    """Per-turn limits. Exhausting one never crashes a turn: the step falls back.

    Attributes:
        llm_calls: LLM requests per turn (understand + tool step + reply = 3).
        tool_calls: tool calls the LLM may make per turn.
        tool_rounds: LLM tool-calling rounds per turn (a round may fix a bad argument).
        recursion_limit: LangGraph super-steps per turn.
    """

    llm_calls: int = 3
    tool_calls: int = 4
    tool_rounds: int = 2
    recursion_limit: int = 25

    def __post_init__(self) -> None:
        for name in ("llm_calls", "tool_calls", "tool_rounds", "recursion_limit"):
            if getattr(self, name) < 0:
                raise ConfigError(f"budget {name} must be >= 0")


@dataclass
class CRSContext:
    """What every node of one run may use.

    Attributes:
        toolkit: the domain's tools (database, vector index, linker, lexicon, models, explainer).
        llm: the chat model; None is only valid for variants that never call it.
        model_profile: the model family's profile (tool-choice reliability, structured method).
        user_id: whose profile memory to read and write (None: no profile memory).
        budgets: per-turn limits.
        weights: the ranking's fusion weights (default: the toolkit's domain's,
            :func:`~crsagent.graphs.ranking.domain_weights`).
        ranking_k: how many ranked candidates to keep.
        n_recommend: how many items a recommendation reply names.
        history_window: how many recent messages LLM prompts see.
        extra: free-form run options for custom nodes.
    """

    toolkit: Toolkit
    llm: BaseChatModel | None = None
    model_profile: ModelProfile | None = None
    user_id: str | None = None
    budgets: Budgets = field(default_factory=Budgets)
    # None is resolved in __post_init__, so every instance holds weights
    weights: FusionWeights = None  # type: ignore[assignment]
    ranking_k: int = 50
    n_recommend: int = 3
    history_window: int = 6
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.ranking_k < 1 or self.n_recommend < 1:
            raise ConfigError("ranking_k and n_recommend must be >= 1")
        if self.weights is None:
            self.weights = domain_weights(getattr(self.toolkit, "domain", None))
