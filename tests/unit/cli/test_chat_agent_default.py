"""``crsagent chat`` runs the ``agent`` variant when an LLM is configured and shows each fallback."""

from __future__ import annotations

from rich.console import Console

from crsagent.agent.cli import chat as chat_mod
from crsagent.agent.settings import Settings
from crsagent.agent.turns import TurnResult


def test_the_agent_is_the_default_with_an_llm_and_crs_only_without(tmp_path) -> None:
    assert chat_mod.default_variant(Settings(home=tmp_path, llm_base_url="http://127.0.0.1:1/v1"), None) == "agent"
    assert chat_mod.default_variant(Settings(home=tmp_path), None) == "crs-only"
    assert chat_mod.default_variant(Settings(home=tmp_path), "full") == "full"


def test_render_names_the_fallback_reason_and_the_llm_tool_calls() -> None:
    console = Console(record=True, width=200)
    session = chat_mod.ChatSession.__new__(chat_mod.ChatSession)
    session.out = console
    session.render(TurnResult(reply="Try Us.", fallback=True, fallback_reason="guard_rejected"), 1.0)
    trace = [
        {"type": "llm", "content": "", "tool_calls": [{"name": "recommend", "args": {}, "id": "1", "valid": True}]}
    ]
    session.render(TurnResult(reply="Try Us.", trace=trace), 1.0)
    text = console.export_text()
    assert "fallback: guard_rejected" in text and "LLM called recommend" in text
