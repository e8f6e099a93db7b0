"""The turn's trace: the LLM's tool-calling exchange as plain data (``TurnResult.trace``).

Built from the ``scratch`` channel at the end of a turn, in order: one ``llm`` entry per LLM
answer (its text, the tool calls vLLM's parser returned, and the agent's check of them), one
``tool`` entry per tool result, one ``feedback`` entry per repair request. Evaluation reads
tool-call validity and fallbacks from it; tests assert on it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, ToolMessage

__all__ = ["CHECK_KEY", "turn_trace", "trace_counts"]

#: ``additional_kwargs`` key under which the agent records its check of an LLM answer.
CHECK_KEY = "crsagent_check"
CONTENT_CHARS = 600


def turn_trace(scratch: Sequence[AnyMessage]) -> list[dict[str, Any]]:
    """The trace entries of one turn's scratch messages."""
    out: list[dict[str, Any]] = []
    for m in scratch:
        if isinstance(m, AIMessage):
            check = dict((m.additional_kwargs or {}).get(CHECK_KEY) or {})
            valid = set(check.get("valid") or [])
            out.append(
                {
                    "type": "llm",
                    "content": m.text[:CONTENT_CHARS] if isinstance(m.text, str) else "",
                    "tool_calls": [
                        {
                            "name": c["name"],
                            "args": c.get("args") or {},
                            "id": c.get("id"),
                            "valid": c.get("id") in valid,
                        }
                        for c in m.tool_calls
                    ],
                    "unparsed": list(check.get("unparsed") or []),
                    "refused": list(check.get("refused") or []),
                    "not_offered": list(check.get("not_offered") or []),
                }
            )
        elif isinstance(m, ToolMessage):
            out.append({"type": "tool", "name": m.name, "status": m.status, "content": m.text[:CONTENT_CHARS]})
        elif isinstance(m, HumanMessage):
            out.append({"type": "feedback", "content": m.text[:CONTENT_CHARS]})
    return out


def trace_counts(trace: Sequence[dict[str, Any]]) -> dict[str, int]:
    """Tool calls attempted and valid in a trace (valid: parsed by the server, accepted by the
    schema, offered). An unparsed call in the text counts as one attempted, invalid call."""
    attempted = valid = 0
    for e in trace:
        if e.get("type") == "llm":
            attempted += len(e.get("tool_calls") or []) + len(e.get("unparsed") or [])
            valid += sum(1 for c in e.get("tool_calls") or [] if c.get("valid"))
    return {"tool_calls_attempted": attempted, "tool_calls_valid": valid}
