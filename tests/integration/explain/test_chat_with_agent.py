"""``crsagent chat`` and ``crsagent bench turn`` with the real CRSAgent over the built movie catalogue."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from crsagent.agent.cli import app
from crsagent.agent.cli.chat import DEFAULT_SCRIPT
from crsagent.evals.bench.turn import run_turn_bench
from crsagent.graphs.runner import CRSAgent
from crsagent.tools.explain import verify


def test_chat_script_with_the_crs_only_agent(movies_home):
    result = CliRunner().invoke(
        app, ["chat", "--variant", "crs-only", "--home", str(movies_home.home), "--user-id", "it-chat"]
    )
    assert result.exit_code == 0, result.output
    out = result.output
    lines = out.splitlines()
    assert [ln for ln in lines if ln.startswith("you  ")] == [f"you  {m}" for m in DEFAULT_SCRIPT]
    assert sum(ln.startswith("agent ") for ln in lines) == len(DEFAULT_SCRIPT)
    assert "recommendation" in out and "why" in out  # the table of recommendations


def test_recommendations_carry_checked_explanations(movies_home):
    agent = CRSAgent.create(movies_home, domain="movies", variant="crs-only")
    try:
        thread = "it-explain-thread"
        first = agent.turn(DEFAULT_SCRIPT[0], thread_id=thread, user_id="it-explain")
        assert first.recommendations, first.reply
        liked_ids = [d["item_id"] for d in first.belief.get("liked", [])]
        assert liked_ids, first.belief  # the two films of the first message were linked
        liked = [agent.toolkit.db.get_item(i).display_title for i in liked_ids]
        for rec in first.recommendations:
            assert rec.explanation, rec
            item = agent.toolkit.db.get_item(rec.item_id)
            assert verify(rec.explanation, item, liked) == [], rec.explanation
    finally:
        agent.close()


def test_bench_turn_over_the_real_agent(movies_home, tmp_path):
    report = run_turn_bench(movies_home, turns=6, warmup=1)
    assert report["turns"] == 6 and report["crashed_turns"] == 0, report["errors"]
    assert 0 < report["overhead_p50_ms"] <= report["overhead_p95_ms"]
    assert 0 < report["llm_calls_per_turn"] <= 3 and report["llm_calls_max"] <= 3
    assert report["tool_calls_per_turn"] >= 0
    json.dumps(report)  # plain data
