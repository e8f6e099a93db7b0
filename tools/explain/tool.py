"""The explainer as a LangChain tool, ``explain_items``, with pydantic arguments and results.

The evidence (the user's belief) is supplied by the system, not by the LLM: the factory takes
an ``evidence_provider`` that the tool calls at run time with LangGraph's
:class:`~langgraph.prebuilt.ToolRuntime` (the graph state, run context, config and store that
``ToolNode`` injects; None when the tool is called outside a ``ToolNode``), or with no argument
if it takes none, so one tool serves every thread.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from langchain_core.tools import BaseTool, StructuredTool, ToolException
from langgraph.prebuilt import ToolRuntime
from pydantic import BaseModel, ConfigDict, Field

from crsagent.agent.errors import ToolInputError
from crsagent.tools.explain.explainer import Explainer
from crsagent.tools.explain.schema import Evidence, Explanation, NarrativeKind

__all__ = ["ExplainItemsArgs", "ExplainItemsResult", "EvidenceProvider", "make_explain_tools"]

EvidenceProvider = Callable[..., Evidence]


class ExplainItemsArgs(BaseModel):
    """Arguments of ``explain_items``."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    item_ids: list[str] = Field(
        default_factory=list,
        max_length=10,
        description="Catalogue ids of the items to explain (from a search or recommendation result). "
        "May be empty for kind='user_summary'.",
    )
    kind: NarrativeKind = Field(
        default="purchase_reason",
        description="purchase_reason: why this user would like each item; endorsement: a short blurb "
        "from the item's facts; user_summary: a summary of the user's preferences.",
    )
    runtime: ToolRuntime = Field(default=None, exclude=True)  # type: ignore[arg-type]  # injected by ToolNode


class ExplainItemsResult(BaseModel):
    """Result of ``explain_items``: one grounded explanation per item (or one user summary)."""

    explanations: list[Explanation]


def _call_provider(provider: EvidenceProvider, runtime: ToolRuntime | None) -> Evidence:
    try:
        n_params = len(inspect.signature(provider).parameters)
    except (TypeError, ValueError):
        n_params = 1
    evidence = provider(runtime) if n_params else provider()
    return evidence if isinstance(evidence, Evidence) else Evidence.model_validate(evidence)


def make_explain_tools(explainer: Explainer, evidence_provider: EvidenceProvider) -> list[BaseTool]:
    """Build the explainer's LangChain tools.

    Args:
        explainer: the explainer over the catalogue (and CF model).
        evidence_provider: returns the current user's :class:`Evidence`; called with the
            ``ToolRuntime`` that ``ToolNode`` injects (``runtime.state`` is the graph state,
            ``runtime.config`` the run's config; None outside a ``ToolNode``), or with no
            argument when it takes none.

    Returns:
        ``[explain_items]``. Its output is the result as JSON text for the LLM, with the typed
        :class:`ExplainItemsResult` as the tool message's artifact. A bad argument (unknown
        id, empty id list for an item narrative) comes back as a tool error the LLM can fix.
    """

    def explain_items(
        item_ids: list[str] | None = None,
        kind: NarrativeKind = "purchase_reason",
        runtime: ToolRuntime = None,  # type: ignore[assignment]  # injected by ToolNode
    ) -> tuple[str, ExplainItemsResult]:
        ids = list(item_ids or [])
        if not ids and kind != "user_summary":
            raise ToolException(
                f"give item_ids to explain (kind '{kind}' explains items); "
                "use ids from the recommendation or search results"
            )
        try:
            evidence = _call_provider(evidence_provider, runtime)
            result = ExplainItemsResult(explanations=explainer.explain_many(ids, evidence, kind))
        except ToolInputError as exc:
            raise ToolException(str(exc)) from exc
        return result.model_dump_json(), result

    tool: Any = StructuredTool.from_function(
        func=explain_items,
        name="explain_items",
        description="Explain recommended items to the user with facts from the catalogue and the user's "
        "stated preferences (or summarise the user's preferences). Every fact is checked "
        "against the item's record.",
        args_schema=ExplainItemsArgs,
        response_format="content_and_artifact",
        handle_tool_error=True,
    )
    return [tool]
