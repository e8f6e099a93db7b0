"""The LangGraph deployment's variant: the agent with an LLM server, crs-only without one."""

from __future__ import annotations

from pathlib import Path

from crsagent.agent.server.deployment import default_variant
from crsagent.agent.settings import Settings


def test_the_default_variant_follows_the_llm_configuration(tmp_path: Path) -> None:
    with_llm = Settings(home=tmp_path, llm_base_url="http://127.0.0.1:9/v1")
    without = Settings(home=tmp_path)
    assert default_variant(with_llm, env={}) == "agent"
    assert default_variant(without, env={}) == "crs-only"
    assert default_variant(with_llm, env={"CRSAGENT_VARIANT": "full"}) == "full"


def test_no_private_langgraph_imports_in_the_package() -> None:
    root = Path(__file__).resolve().parents[3]
    offenders = [
        str(p.relative_to(root))
        for folder in ("agent", "graphs", "tools", "evals", "prompts")
        for p in (root / folder).rglob("*.py")
        if "langgraph._internal" in p.read_text(encoding="utf-8")
    ]
    assert offenders == []
