"""The API's ``crsagent`` extension object carries the turn's fallback and its reason."""

from __future__ import annotations

from crsagent.agent.server.serving import TurnPlan, to_completion
from crsagent.agent.turns import ChatMessage, TurnResult


def _plan() -> TurnPlan:
    return TurnPlan(
        model="crsagent",
        variant="agent",
        session_id="s1",
        text="hi",
        history=[ChatMessage(role="user", content="hi")],
        user=None,
    )


def test_a_fallback_turn_says_so_and_why() -> None:
    out = to_completion(
        _plan(),
        TurnResult(reply="Tell me a film you liked.", fallback=True, fallback_reason="guard_rejected", degraded=True),
    )
    body = out.model_dump()
    assert body["crsagent"]["fallback"] is True and body["crsagent"]["fallback_reason"] == "guard_rejected"
    assert body["crsagent"]["variant"] == "agent"


def test_a_turn_the_llm_carried_has_no_reason() -> None:
    body = to_completion(_plan(), TurnResult(reply="Try Us.")).model_dump()
    assert body["crsagent"]["fallback"] is False and body["crsagent"]["fallback_reason"] is None
