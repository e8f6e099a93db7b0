"""Compact tool listings for small models.

A tool's full JSON schema (descriptions on every field, bounds, ``anyOf`` unions, nested
``$defs``) is what a capable model should read. For the bundled 135M model the full listing of
the agent's tools is about 2,600 prompt tokens: it dominates prefill time on a CPU and the cost
of every training example. :func:`compact_tool_schema` keeps what a model needs to call the
tool (its name, the description's first sentence, each argument's name, type, enum and default,
and which arguments are required) in the OpenAI function format, so a chat template renders it
like any other listing. The tool itself, and the schema the agent validates calls against, are
unchanged.
"""

from __future__ import annotations

import re
from typing import Any

from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool

__all__ = ["compact_tool_schema", "first_sentence"]

_SENTENCE_END = re.compile(r"(?<=[.!?])\s")
_KEEP = ("type", "enum", "default")


def first_sentence(text: str) -> str:
    """The first sentence of ``text`` (all of it when there is one sentence)."""
    text = " ".join((text or "").split())
    return _SENTENCE_END.split(text, maxsplit=1)[0]


def _compact_property(prop: dict[str, Any]) -> dict[str, Any]:
    options = [o for o in prop.get("anyOf") or [] if o.get("type") != "null"]
    base = options[0] if len(options) == 1 else prop
    out: dict[str, Any] = {}
    if "$ref" in base or ("type" not in base and "enum" not in base):
        out["type"] = "object"
    for key in _KEEP:
        if key in base:
            out[key] = base[key]
        elif key in prop and key != "type":
            out[key] = prop[key]
    if out.get("type") == "array":
        item_type = (base.get("items") or {}).get("type")
        out["items"] = {"type": item_type or "object"}
    if out.get("default") is None:
        out.pop("default", None)
    return out


def compact_tool_schema(tool: BaseTool | dict[str, Any]) -> dict[str, Any]:
    """``tool``'s OpenAI function listing with only what a model needs to call it.

    Args:
        tool: a LangChain tool, or a listing in OpenAI's function format.

    Returns:
        ``{"type": "function", "function": {"name", "description", "parameters"}}`` where the
        description is its first sentence and each parameter keeps ``type`` (``items.type`` for
        arrays; nested objects become ``"object"``), ``enum`` and a non-null ``default``.
    """
    fn = convert_to_openai_tool(tool)["function"]
    params = fn.get("parameters") or {}
    props = {name: _compact_property(p) for name, p in (params.get("properties") or {}).items()}
    compact: dict[str, Any] = {"type": "object", "properties": props}
    if params.get("required"):
        compact["required"] = list(params["required"])
    return {
        "type": "function",
        "function": {
            "name": fn["name"],
            "description": first_sentence(fn.get("description") or ""),
            "parameters": compact,
        },
    }
