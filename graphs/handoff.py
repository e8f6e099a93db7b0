"""What the nodes hand each other: config keys, tool-result readers and recommendation records.

Nodes never import other nodes; what two of them share lives here (the ``tools`` node and the
``agent`` step share the evidence key and the tool-error text; ``respond`` reads the tools'
results and ``act``'s recommendation records).
"""

import json
from collections.abc import Iterator, Sequence
from typing import Any

from langchain_core.messages import ToolMessage
from langchain_core.tools import ToolException
from langgraph.prebuilt.tool_node import ToolInvocationError
from pydantic import BaseModel, ValidationError

from crsagent.agent.errors import ToolInputError
from crsagent.graphs.state import Candidate, CRSState

__all__ = [
    "AGENT_KEY",
    "recommendation_records",
    "result_item_ids",
    "tool_error_message",
    "tool_results",
]


def _walk_ids(obj: Any) -> Iterator[str]:
    if isinstance(obj, BaseModel):
        obj = obj.model_dump()
    if isinstance(obj, dict):
        if isinstance(obj.get("item_id"), str):
            yield obj["item_id"]
        for v in obj.values():
            yield from _walk_ids(v)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            yield from _walk_ids(v)


def result_item_ids(message: ToolMessage) -> list[str]:
    """Item ids a successful tool result holds (from its artifact, else its JSON content)."""
    if message.status == "error":
        return []
    data: Any = message.artifact
    if data is None:
        try:
            data = json.loads(message.text)
        except (ValueError, TypeError):
            return []
    return list(dict.fromkeys(_walk_ids(data)))


def tool_results(state: CRSState, max_chars: int = 1500) -> tuple[str, list[str]]:
    """This turn's tool results as prompt text, and the item ids they returned."""
    parts: list[str] = []
    ids: list[str] = []
    for m in state.get("scratch") or []:
        if isinstance(m, ToolMessage):
            status = "error" if m.status == "error" else "ok"
            parts.append(f"[{m.name or 'tool'} {status}] {m.text[:max_chars]}")
            ids.extend(result_item_ids(m))
    return ("\n".join(parts) or "(no tools called)"), list(dict.fromkeys(ids))


# no ``from __future__ import annotations`` here: ToolNode reads this handler's annotation as a real type
def tool_error_message(e: ToolInputError | ToolException | ValidationError | ToolInvocationError) -> str:
    """The text of a tool error the LLM can act on (other exceptions are bugs and re-raise)."""
    return f"Error: {e}. Fix the arguments and call the tool again, or answer without it."


#: The key under which the agent's replies record what they recommended.
AGENT_KEY = "crsagent"


def recommendation_records(
    tk: Any, ids: Sequence[str], candidates: Sequence[Candidate], explanations: dict[str, str]
) -> list[dict[str, Any]]:
    """Recommendation records (``agent.turns.Recommendation`` fields) for item ids."""
    by_id = {c["item_id"]: c for c in candidates}
    out = []
    for i in ids:
        c = by_id.get(i)
        out.append(
            {
                "item_id": i,
                "title": tk.title(i),
                "score": float(c["score"]) if c else 0.0,
                "explanation": explanations.get(i, ""),
                "signals": dict(c["signals"]) if c else {},
            }
        )
    return out
