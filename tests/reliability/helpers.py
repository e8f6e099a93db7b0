"""Small shared pieces of the reliability tests: dialogue texts, settings, checkpoint reads."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from langchain_core.messages import AIMessage, HumanMessage

from crsagent.agent.settings import Settings

__all__ = [
    "API_KEYS",
    "MAX_BODY_BYTES",
    "MAX_MESSAGE_CHARS",
    "OPENER",
    "BABADOOK",
    "llm_settings",
    "thread_messages",
    "thread_counts",
    "read_thread",
    "belief_of",
    "write_catalogue",
    "file_sha256",
]

#: The opening message of most dialogues here (a horror fan; ``tt2321549`` is The Babadook).
OPENER = "Hi! I loved The Babadook and It Follows. Any other horror films?"
BABADOOK = "tt2321549"
#: API keys and limits of the shared ``crsagent serve --fake-llm`` process (fixture ``fake_api``).
API_KEYS = ("key-alpha-0123456789", "key-beta-9876543210")
MAX_BODY_BYTES = 200_000
MAX_MESSAGE_CHARS = 4_000


def llm_settings(home: Settings, base_url: str, **overrides: Any) -> Settings:
    """Settings pointed at an LLM server on loopback (model ``stub-model`` unless overridden)."""
    values: dict[str, Any] = {"llm_base_url": base_url, "llm_model": "stub-model"}
    values.update(overrides)
    return replace(home, **values)


def read_thread(folder: Path, thread_id: str) -> dict[str, Any]:
    """The latest checkpointed state of a thread, read straight from the SQLite checkpoint file.

    Opens its own read connection (WAL lets it read while a server writes).
    """
    import sqlite3

    from langgraph.checkpoint.sqlite import SqliteSaver

    from crsagent.agent.persistence import CHECKPOINT_FILE

    conn = sqlite3.connect(str(Path(folder) / CHECKPOINT_FILE), check_same_thread=False)
    try:
        conn.execute("PRAGMA busy_timeout=10000")
        tup = SqliteSaver(conn).get_tuple({"configurable": {"thread_id": thread_id}})
    finally:
        conn.close()
    return dict(tup.checkpoint["channel_values"]) if tup is not None else {}


def thread_messages(state: dict[str, Any]) -> list[Any]:
    """The conversation of a checkpointed state."""
    return list(state.get("messages") or [])


def thread_counts(state: dict[str, Any]) -> tuple[int, int]:
    """(user messages, assistant replies) in a checkpointed state."""
    msgs = thread_messages(state)
    users = sum(isinstance(m, HumanMessage) for m in msgs)
    replies = sum(isinstance(m, AIMessage) and not m.tool_calls for m in msgs)
    return users, replies


def belief_of(state: dict[str, Any]) -> dict[str, Any]:
    """The caller-facing view of a checkpointed state's belief (liked/rejected lists ...)."""
    from crsagent.graphs.dialogue.belief import belief_view, merge_belief

    return belief_view(merge_belief(state.get("belief"), {}))


def write_catalogue(path: Path, items: list[Any], domain: str = "movies") -> Path:
    """Write a small catalogue database file from catalogue items (returns ``path``)."""
    from crsagent.tools.catalog.build import CatalogData
    from crsagent.tools.catalog.db import ProductDB

    ProductDB.load_into(f"sqlite:///{Path(path).resolve()}", CatalogData(domain, list(items), []))
    return Path(path)


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file's bytes."""
    import hashlib

    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
