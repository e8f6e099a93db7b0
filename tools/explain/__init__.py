"""The explainer tool: grounded, fact-checked REGEN narratives (purchase reason, endorsement,
user summary) for recommended items, and the fact checker the graph runs on LLM-written text.

Example:
    >>> explainer = Explainer(db, cf)                                    # doctest: +SKIP
    >>> ex = explainer.explain("tt2321549", Evidence(liked_ids=["tt3235888"], genres=["horror"]))
    >>> verify(ex.text, db.get_item("tt2321549"), allowed=["It Follows (2014)"])  # -> []
"""

from crsagent.tools.explain.explainer import Explainer, ItemSource, NeighbourSource
from crsagent.tools.explain.schema import NARRATIVE_KINDS, Evidence, Explanation, Fact, NarrativeKind
from crsagent.tools.explain.tool import ExplainItemsArgs, ExplainItemsResult, make_explain_tools
from crsagent.tools.explain.verify import (
    GroundTruth,
    check_text,
    ground_truth_of,
    verify,
    verify_reply,
    verify_summary,
)

__all__ = [
    "Explainer",
    "ItemSource",
    "NeighbourSource",
    "Evidence",
    "Explanation",
    "Fact",
    "NarrativeKind",
    "NARRATIVE_KINDS",
    "ExplainItemsArgs",
    "ExplainItemsResult",
    "make_explain_tools",
    "verify",
    "verify_reply",
    "verify_summary",
    "check_text",
    "GroundTruth",
    "ground_truth_of",
]
