"""The vector_search LangChain tool: typed arguments, typed result, errors as tool messages."""

from __future__ import annotations

import json

from langchain_core.messages import ToolMessage

from crsagent.tools.search.tool import VectorSearchResult, make_search_tools


def _call(tool, args: dict) -> ToolMessage:
    return tool.invoke({"type": "tool_call", "id": "call-1", "name": tool.name, "args": args})


def test_tool_schema_is_typed(index, small_db) -> None:
    (tool,) = make_search_tools(index, small_db)
    assert tool.name == "vector_search"
    props = tool.args_schema.model_json_schema()["properties"]
    assert set(props) == {"query", "k", "filter", "candidate_ids"}


def test_tool_returns_json_content_and_typed_artifact(index, small_db) -> None:
    (tool,) = make_search_tools(index, small_db)
    msg = _call(tool, {"query": "space robots", "k": 2, "filter": {"genres_any": ["sci-fi"]}})
    assert msg.status == "success"
    assert isinstance(msg.artifact, VectorSearchResult)
    data = json.loads(msg.content)
    assert [h["item_id"] for h in data["items"]] == [h.item_id for h in msg.artifact.items]
    assert {h.item_id for h in msg.artifact.items} == {"tt0000005", "tt0000006"}


def test_tool_errors_are_actionable_messages(index, small_db) -> None:
    (tool,) = make_search_tools(index, small_db)
    blank = _call(tool, {"query": "   "})
    assert blank.status == "error" and "empty" in blank.content
    unknown = _call(tool, {"query": "ghosts", "candidate_ids": ["tt0000001", "bogus-id"]})
    assert unknown.status == "error" and "bogus-id" in unknown.content
    bad_filter = _call(tool, {"query": "ghosts", "filter": {"year_min": 2020, "year_max": 1990}})
    assert bad_filter.status == "error" and "year_min" in bad_filter.content
    bad_k = _call(tool, {"query": "ghosts", "k": 500})
    assert bad_k.status == "error" and "k" in bad_k.content


def test_tool_without_database_refuses_filters(index) -> None:
    (tool,) = make_search_tools(index.__class__.load(index.path, use_chroma=False))
    msg = _call(tool, {"query": "ghosts", "filter": {"genres_any": ["horror"]}})
    assert msg.status == "error" and "without a filter" in msg.content
