"""Compact tool listings for small models, and which tools a model profile is offered."""

from __future__ import annotations

import json
from typing import Any, Literal

from langchain_core.tools import StructuredTool, tool
from pydantic import BaseModel, Field

from crsagent.agent.llm.profiles import DEFAULT_PROFILE, profile_for
from crsagent.graphs.context import CRSContext
from crsagent.graphs.dialogue.tool_schemas import compact_tool_schema, first_sentence
from crsagent.graphs.nodes.agent import tool_listing


class Window(BaseModel):
    """A year window."""

    start: int = Field(description="First year.")


class FindArgs(BaseModel):
    query: str = Field(description="What to look for, in words.")
    k: int = Field(default=5, ge=1, le=20, description="How many.")
    year: int | None = Field(default=None, ge=1900, description="Release year.")
    tags: list[str] = Field(default_factory=list, max_length=5, description="Tags.")
    order: Literal["new", "old"] = Field(default="new", description="Order.")
    window: Window | None = Field(default=None, description="A window.")


def _find(**kwargs: Any) -> str:
    return "{}"


FIND = StructuredTool.from_function(
    _find, name="find", description="Find items by meaning. Slow on big catalogues.", args_schema=FindArgs
)


@tool
def staff_picks(k: int = 2) -> str:
    """The shop's staff picks."""
    return json.dumps({"items": [{"item_id": "x1", "title": "Pick"}][:k]})


def test_a_compact_listing_keeps_names_types_enums_defaults_and_required() -> None:
    fn = compact_tool_schema(FIND)["function"]
    assert fn["name"] == "find" and fn["description"] == "Find items by meaning."
    props = fn["parameters"]["properties"]
    assert props["query"] == {"type": "string"}
    assert props["k"] == {"type": "integer", "default": 5}  # bounds and descriptions dropped
    assert props["year"] == {"type": "integer"}  # the null branch of the union dropped, a null default too
    assert props["tags"] == {"type": "array", "items": {"type": "string"}}
    assert props["order"] == {"type": "string", "enum": ["new", "old"], "default": "new"}
    assert props["window"] == {"type": "object"}  # nested models are not spelled out
    assert fn["parameters"]["required"] == ["query"]
    full, compact = json.dumps(FIND.tool_call_schema.model_json_schema()), json.dumps(fn)
    assert len(compact) < len(full) / 2


def test_first_sentence() -> None:
    assert first_sentence("One. Two.") == "One."
    assert first_sentence("  No stop  here ") == "No stop here"


def test_the_bundled_profile_gets_a_compact_listing_without_the_heavy_tools(fakes: Any) -> None:
    toolkit = fakes.make_toolkit().with_tools(staff_picks)
    small = CRSContext(toolkit=toolkit, model_profile=profile_for("smollm2-135m-crs"))
    offered, listing = tool_listing(small)
    names = [t.name for t in offered]
    assert "recommend" in names and "staff_picks" in names  # custom tools are always offered
    assert not {"vector_search", "search_products", "score_intents"} & set(names)
    assert [d["function"]["name"] for d in listing] == names and all(isinstance(d, dict) for d in listing)
    big = CRSContext(toolkit=toolkit, model_profile=DEFAULT_PROFILE)
    offered_big, listing_big = tool_listing(big)
    assert listing_big is offered_big and "vector_search" in {t.name for t in offered_big}
