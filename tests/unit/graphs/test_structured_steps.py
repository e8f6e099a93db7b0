"""One structured-output path: the node step and ``invoke_structured`` share the exchange and its repair."""

from __future__ import annotations

import asyncio
from typing import Any, Literal

import pytest
from langchain_core.messages import HumanMessage, SystemMessage
from pydantic import BaseModel

from crsagent.agent.errors import LLMOutputError
from crsagent.agent.llm.profiles import ModelProfile
from crsagent.agent.llm.structured import ainvoke_structured, invoke_structured
from crsagent.agent.testing import ScriptedChatModel, tool_call_message
from crsagent.graphs.context import Budgets, CRSContext
from crsagent.graphs.dialogue.llm_step import structured_step, structured_steps
from crsagent.graphs.effects import arun_steps

MSGS = [SystemMessage("extract"), HumanMessage("a scary film please")]


class Act(BaseModel):
    """What the message does."""

    dialogue_act: Literal["recommend", "ask"]


def _ctx(fakes: Any, llm: Any, method: str = "json_schema", llm_calls: int = 3) -> CRSContext:
    profile = ModelProfile(name="p", pattern="p", structured_method=method)
    return CRSContext(
        toolkit=fakes.make_toolkit(), llm=llm, budgets=Budgets(llm_calls=llm_calls), model_profile=profile
    )


def _sent(model: ScriptedChatModel) -> list[list[tuple[str, Any]]]:
    return [[(type(m).__name__, m.content) for m in r.messages] for r in model.requests]


@pytest.mark.parametrize(
    ("method", "answers"),
    [
        ("json_schema", ['{"dialogue_act": "maybe"}', '{"dialogue_act": "ask"}']),
        (
            "tool_call",
            [tool_call_message("Act", {"dialogue_act": "maybe"}), tool_call_message("Act", {"dialogue_act": "ask"})],
        ),
    ],
)
def test_the_node_step_and_invoke_structured_send_the_same_repair(fakes: Any, method: str, answers: list[Any]) -> None:
    direct = ScriptedChatModel(list(answers))
    out = invoke_structured(direct, MSGS, Act, method=method)
    in_node = ScriptedChatModel(list(answers))
    got, used = structured_step(_ctx(fakes, in_node, method), {}, MSGS, Act, step="understand")
    assert out == got == Act(dialogue_act="ask")
    assert len(direct.requests) == len(in_node.requests) == 2
    assert _sent(direct) == _sent(in_node)  # the same request and the same repair messages
    repair = _sent(in_node)[1][len(MSGS) :]
    assert repair and "invalid" in str(repair[-1][1]) and "dialogue_act" in str(repair[-1][1])
    assert used["llm_calls"] == 2 and not used.get("degraded")


def test_both_give_up_after_one_repair_with_the_same_error(fakes: Any) -> None:
    bad = ['{"dialogue_act": "maybe"}', "not json"]
    direct = ScriptedChatModel(list(bad))
    with pytest.raises(LLMOutputError, match="after 1 repair") as raised:
        invoke_structured(direct, MSGS, Act)
    in_node = ScriptedChatModel(list(bad))
    got, used = structured_step(_ctx(fakes, in_node), {}, MSGS, Act, step="understand")
    assert got is None and used["degraded"] and used["notes"] == [f"understand: {raised.value}"]
    assert _sent(direct) == _sent(in_node)


def test_the_node_repairs_only_within_the_turn_budget(fakes: Any) -> None:
    answers = ['{"dialogue_act": "maybe"}', '{"dialogue_act": "ask"}']
    assert invoke_structured(ScriptedChatModel(list(answers)), MSGS, Act).dialogue_act == "ask"
    in_node = ScriptedChatModel(list(answers))
    got, used = structured_step(_ctx(fakes, in_node, llm_calls=2), {}, MSGS, Act, step="understand", reserve=1)
    assert got is None and len(in_node.requests) == 1  # the repair would eat the reserved request
    assert used["degraded"] and "after 0 repair" in used["notes"][0]


def test_the_async_paths_send_the_same_repair(fakes: Any) -> None:
    answers = ['{"dialogue_act": "maybe"}', '{"dialogue_act": "recommend"}']
    direct, in_node = ScriptedChatModel(list(answers)), ScriptedChatModel(list(answers))
    out = asyncio.run(ainvoke_structured(direct, MSGS, Act))
    got, _ = asyncio.run(arun_steps(structured_steps(_ctx(fakes, in_node), {}, MSGS, Act, step="understand")))
    assert out == got == Act(dialogue_act="recommend") and _sent(direct) == _sent(in_node)
