"""Node steps: one generator body, run with the blocking API or awaited on the event loop."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from langchain_core.messages import HumanMessage
from langgraph.store.memory import InMemoryStore

from crsagent.agent.errors import LLMUnavailableError
from crsagent.agent.memory import Profile, save_profile
from crsagent.agent.testing import FunctionChatModel, InstantChatModel, ScriptedChatModel
from crsagent.graphs.effects import ChatCall, ProfileRead, arun_steps, async_version, run_steps, steps_node


def _steps(llm: Any, store: Any) -> Any:
    profile = yield ProfileRead(store, "ann")
    try:
        answer = yield ChatCall(llm, [HumanMessage("hi")])
        text = answer.text
    except LLMUnavailableError as exc:  # the typed error is thrown in at the yield
        text = f"failed: {type(exc).__name__}"
    return {"user": profile.user_id if profile else None, "text": text}


def test_sync_and_async_runs_give_the_same_update() -> None:
    store = InMemoryStore()
    save_profile(store, Profile(user_id="ann"))
    sync = run_steps(_steps(ScriptedChatModel(responses=["hello"]), store))
    asyn = asyncio.run(arun_steps(_steps(ScriptedChatModel(responses=["hello"]), store)))
    assert sync == asyn == {"user": "ann", "text": "hello"}


def test_an_llm_error_reaches_the_node_on_both_paths() -> None:
    def broken(_request: Any) -> Any:
        raise LLMUnavailableError("server down")

    store = InMemoryStore()
    assert run_steps(_steps(FunctionChatModel(fn=broken), store))["text"] == "failed: LLMUnavailableError"
    assert asyncio.run(arun_steps(_steps(FunctionChatModel(fn=broken), store)))["text"] == "failed: LLMUnavailableError"


def test_a_node_that_yields_something_else_is_a_type_error() -> None:
    def bad(_state: Any) -> Any:
        yield "not an effect"
        return {}

    with pytest.raises(TypeError, match="not a ChatCall"):
        steps_node(bad)({})


def test_steps_node_keeps_the_signature_and_has_an_async_version() -> None:
    import inspect

    def node_steps(state: dict, runtime: Any) -> Any:
        answer = yield ChatCall(runtime, [HumanMessage(state["q"])])
        return {"a": answer.text}

    node = steps_node(node_steps)
    assert list(inspect.signature(node).parameters) == ["state", "runtime"]
    anode = async_version(node)
    assert anode is not None and async_version(lambda s: s) is None
    llm = InstantChatModel(text="ok")
    assert node({"q": "x"}, llm) == asyncio.run(anode({"q": "x"}, llm)) == {"a": "ok"}


def test_async_answers_overlap_and_do_not_block_the_loop() -> None:
    llm = InstantChatModel(latency_s=0.2)

    async def four() -> list[Any]:
        return await asyncio.gather(*(arun_steps(_steps(llm, InMemoryStore())) for _ in range(4)))

    assert len(asyncio.run(four())) == 4
    assert llm.max_in_flight == 4  # the four answers were awaited at the same time
