"""The replica benchmark's audit of a session's history: lost and interleaved turns."""

from __future__ import annotations

from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

from crsagent.evals.bench.replicas import audit_history

SENT = {"q1": "r1", "q2": "r2", "q3": "r3"}


def test_a_clean_history_has_nothing_lost_or_interleaved():
    msgs = [
        HumanMessage("q2"),
        AIMessage("", tool_calls=[{"name": "search", "args": {}, "id": "t"}]),
        ToolMessage("[]", tool_call_id="t"),
        AIMessage("r2"),
        HumanMessage("q1"),
        AIMessage("r1"),
        HumanMessage("q3"),
        AIMessage("r3"),
    ]
    assert audit_history(msgs, SENT) == (0, 0)  # any order of turns, tool exchanges skipped


def test_a_turn_missing_from_the_history_is_lost():
    msgs = [HumanMessage("q1"), AIMessage("r1"), HumanMessage("q3"), AIMessage("r3")]
    assert audit_history(msgs, SENT) == (1, 0)
    msgs = [HumanMessage("q1"), AIMessage("r1"), HumanMessage("q2"), HumanMessage("q3"), AIMessage("r3")]
    assert audit_history(msgs, SENT) == (1, 0)  # its question stayed, its reply did not


def test_a_reply_separated_from_its_question_is_interleaved():
    msgs = [
        HumanMessage("q1"),
        HumanMessage("q2"),
        AIMessage("r1"),
        AIMessage("r2"),
        HumanMessage("q3"),
        AIMessage("r3"),
    ]
    assert audit_history(msgs, SENT) == (0, 2)
