"""``eval agent``'s per-turn figures, read from TurnResult traces."""

from __future__ import annotations

from crsagent.agent.turns import TurnResult, Usage
from crsagent.evals.agent_eval import turn_stats
from crsagent.graphs.dialogue.agent_reply import REPAIR_NOTE
from crsagent.graphs.trace import trace_counts


def _llm(calls: list[tuple[str, bool]], unparsed: int = 0) -> dict:
    return {
        "type": "llm",
        "content": "",
        "tool_calls": [{"name": n, "args": {}, "id": str(i), "valid": v} for i, (n, v) in enumerate(calls)],
        "unparsed": [{"name": "", "error": "x"}] * unparsed,
        "refused": [],
        "not_offered": [],
    }


def test_trace_counts_include_unparsed_calls_as_attempts() -> None:
    trace = [
        _llm([("recommend", True), ("get_items", False)]),
        {"type": "tool", "name": "recommend"},
        _llm([], unparsed=1),
    ]
    assert trace_counts(trace) == {"tool_calls_attempted": 3, "tool_calls_valid": 1}


def test_turn_stats_rates_reasons_and_percentiles() -> None:
    ok = TurnResult(
        reply="a",
        trace=[_llm([("recommend", True)]), _llm([])],
        usage=Usage(llm_calls=2, total_tokens=300),
        notes=[f"agent: {REPAIR_NOTE} in 1 sentence(s)"],
    )
    bad = TurnResult(
        reply="b",
        trace=[_llm([], unparsed=1), _llm([], unparsed=1)],
        fallback=True,
        fallback_reason="invalid_tool_call",
        usage=Usage(llm_calls=2, total_tokens=100),
    )
    none = TurnResult(
        reply="c",
        trace=[_llm([])],
        fallback=True,
        fallback_reason="guard_rejected",
        usage=Usage(llm_calls=1, total_tokens=50),
    )
    s = turn_stats([(ok, 1.0), (bad, 3.0), (none, 2.0)])
    assert s["turns"] == 3 and s["tool_calls_attempted"] == 3
    assert s["tool_call_valid_rate"] == round(1 / 3, 4)
    assert s["fallback_rate"] == round(2 / 3, 4)
    assert s["fallback_reasons"] == {"invalid_tool_call": 1, "guard_rejected": 1}
    assert s["claim_repair_rate"] == round(1 / 3, 4)
    assert s["llm_calls_per_turn"] == round(5 / 3, 3) and s["tokens_per_turn"] == 150.0
    assert s["turn_p50_s"] == 2.0 and s["turn_p95_s"] == 3.0
