"""A streamed ``agent`` turn: reply text as the guard releases it, tools as they start, then the result.

The fake LLM streams its answers word by word; the assertions compare the events of a streamed
turn with the same scripted turn run without streaming.
"""

from __future__ import annotations

import asyncio
from typing import Any

from langgraph.checkpoint.memory import InMemorySaver
from langgraph.store.memory import InMemoryStore

from crsagent.agent.testing import ScriptedChatModel, tool_call_message
from crsagent.graphs.runner import CRSAgent
from crsagent.graphs.streaming import ReplyDelta, ToolStarted, TurnDone

ASK = "I loved The Babadook, something scary after 2010"
INVENTED = "You should also watch Zorblax Returns (1987)."


def script() -> list[Any]:
    return [
        tool_call_message("recommend", {"k": 3, "genres": ["horror"]}, call_id="r1"),
        f"Try The Witch, a slow-burn horror film. It is a good fit. {INVENTED} It is great.",
    ]


def _agent(fakes: Any, llm: Any) -> CRSAgent:
    return CRSAgent.create(
        None,
        variant="agent",
        llm=llm,
        toolkit=fakes.make_toolkit(),
        checkpointer=InMemorySaver(),
        store=InMemoryStore(),
    )


def test_the_stream_is_the_reply_and_a_refused_sentence_never_goes_out(fakes: Any) -> None:
    events = list(_agent(fakes, ScriptedChatModel(script(), token_latency_s=0.001)).stream_turn(ASK, thread_id="t"))
    plain = _agent(fakes, ScriptedChatModel(script())).turn(ASK, thread_id="t")
    deltas = [e.text for e in events if isinstance(e, ReplyDelta)]
    done = events[-1]
    assert isinstance(done, TurnDone) and [type(e) for e in events].count(TurnDone) == 1
    assert [e.name for e in events if isinstance(e, ToolStarted)] == ["recommend"]
    assert events.index(next(e for e in events if isinstance(e, ToolStarted))) < events.index(
        next(e for e in events if isinstance(e, ReplyDelta))
    )
    assert deltas == ["Try The Witch, a slow-burn horror film.", " It is a good fit."]
    assert "".join(deltas) == done.result.reply == plain.reply
    assert "Zorblax" not in "".join(deltas) and "It is great" not in done.result.reply
    assert done.result.fallback is False and [r.item_id for r in done.result.recommendations] == [fakes.WITCH]
    assert any("guard cut the reply after 2 sentence(s)" in n for n in done.result.notes)


def test_async_stream_matches_and_the_checkpoint_holds_the_reply(fakes: Any) -> None:
    agent = _agent(fakes, ScriptedChatModel(script(), token_latency_s=0.001))

    async def collect() -> list[Any]:
        return [e async for e in agent.astream_turn(ASK, thread_id="t")]

    events = asyncio.run(collect())
    reply = events[-1].result.reply
    assert "".join(e.text for e in events if isinstance(e, ReplyDelta)) == reply
    stored = agent.graph.get_state({"configurable": {"thread_id": "t"}}).values["messages"]
    assert [m.type for m in stored] == ["human", "ai"] and stored[-1].text == reply


def test_a_reply_the_guard_refuses_sends_nothing_and_the_fallback_follows(fakes: Any) -> None:
    llm = ScriptedChatModel(
        [
            tool_call_message("recommend", {"k": 2}, call_id="r1"),
            "You should watch Toy Story (1995) and The Matrix (1999). The Witch is good too.",
        ]
    )
    events = list(_agent(fakes, llm).stream_turn("a horror film after 2010 please", thread_id="t"))
    assert not [e for e in events if isinstance(e, ReplyDelta)]
    result = events[-1].result
    assert result.fallback_reason == "guard_rejected" and result.reply and "Matrix" not in result.reply


def test_text_before_a_tool_call_is_held_until_it_is_grounded(fakes: Any) -> None:
    llm = ScriptedChatModel(
        [
            tool_call_message("recommend", {"k": 3}, call_id="r1", content="Let me look for horror films. "),
            "The Witch is a slow-burn horror film.",
        ],
        token_latency_s=0.001,
    )
    events = list(_agent(fakes, llm).stream_turn(ASK, thread_id="t"))
    llm.assert_exhausted()
    assert [e.text for e in events if isinstance(e, ReplyDelta)] == ["The Witch is a slow-burn horror film."]
    assert "Let me look" not in events[-1].result.reply


def test_a_refused_sentence_ends_the_answer_before_anything_was_sent(fakes: Any) -> None:
    def answers() -> list[Any]:
        return [
            tool_call_message(
                "recommend",
                {"k": 3},
                call_id="r0",
                content=f"{INVENTED} It is a classic. Another sentence here. And one more. ",
            )
        ]

    llm = ScriptedChatModel(answers(), token_latency_s=0.001)
    events = list(_agent(fakes, llm).stream_turn(ASK, thread_id="t"))
    plain = _agent(fakes, ScriptedChatModel(answers())).turn(ASK, thread_id="t")
    streamed = events[-1].result
    assert not [e for e in events if isinstance(e, (ReplyDelta, ToolStarted))]  # its tool call never ran
    assert llm.stream_ends == []  # the LLM's stream was closed before its end
    assert streamed.fallback_reason == plain.fallback_reason == "guard_rejected"
    assert streamed.reply == plain.reply and streamed.usage.tool_calls == plain.usage.tool_calls == 0
    said = [e["content"] for e in streamed.trace if e["type"] == "llm"]
    assert said == [e["content"] for e in plain.trace if e["type"] == "llm"] == [INVENTED]


def test_after_a_tool_a_reply_without_items_streams_sentence_by_sentence(fakes: Any) -> None:
    llm = ScriptedChatModel(
        [
            tool_call_message("suggest_question", {}, call_id="q1"),
            "What kind of horror do you like? Slow burn or jump scares? Tell me more.",
        ],
        token_latency_s=0.001,
    )
    events = list(_agent(fakes, llm).stream_turn("hi, a movie for tonight?", thread_id="t"))
    deltas = [e.text for e in events if isinstance(e, ReplyDelta)]
    assert deltas == ["What kind of horror do you like?", " Slow burn or jump scares?", " Tell me more."]
    assert events[-1].result.reply == "".join(deltas) and not events[-1].result.fallback


def test_a_reply_to_a_request_for_items_without_a_tool_is_not_read_past_its_second_sentence(fakes: Any) -> None:
    ramble = "Sure, I can help. Horror is a great genre. Many people like it. It has a long history. The end."
    llm = ScriptedChatModel([ramble], token_latency_s=0.001)
    events = list(_agent(fakes, llm).stream_turn("Can you recommend a horror film from after 2010?", thread_id="t"))
    result = events[-1].result
    assert not [e for e in events if isinstance(e, ReplyDelta)] and llm.stream_ends == []  # the stream was closed
    assert result.fallback_reason == "guard_rejected" and result.recommendations  # the policy recommended
    assert [e["content"] for e in result.trace if e["type"] == "llm"] == ["Sure, I can help. Horror is a great genre."]
    preamble = ScriptedChatModel(
        [
            tool_call_message("recommend", {"k": 3}, call_id="r1", content="Sure, let me look. "),
            "The Witch is a slow-burn horror film.",
        ]
    )
    res = _agent(fakes, preamble).turn("Can you recommend a horror film from after 2010?", thread_id="t2")
    assert not res.fallback and res.reply == "The Witch is a slow-burn horror film."  # a one-sentence preamble is fine


def test_tool_calls_written_after_a_released_reply_are_not_run(fakes: Any) -> None:
    def answers() -> list[Any]:
        return [
            tool_call_message("recommend", {"k": 3}, call_id="r1"),
            tool_call_message(
                "get_items",
                {"ids": [fakes.WITCH]},
                call_id="g1",
                content="Try The Witch, a slow-burn horror film. It is great. ",
            ),
        ]

    events = list(_agent(fakes, ScriptedChatModel(answers(), token_latency_s=0.001)).stream_turn(ASK, thread_id="t"))
    streamed = events[-1].result
    plain = _agent(fakes, ScriptedChatModel(answers())).turn(ASK, thread_id="t")
    for res in (streamed, plain):
        assert res.reply == "Try The Witch, a slow-burn horror film." and not res.fallback
        assert res.usage.tool_calls == 1 and "agent: the tool calls written after the reply were not run" in res.notes
        last = [e for e in res.trace if e["type"] == "llm"][-1]
        assert last["tool_calls"] == [] and last["content"] == "Try The Witch, a slow-burn horror film. It is great. "
    assert [e.name for e in events if isinstance(e, ToolStarted)] == ["recommend"]


def test_a_repaired_false_claim_streams_as_repaired(fakes: Any) -> None:
    answer = [
        tool_call_message("recommend", {"k": 3}, call_id="r1"),
        "You might like:\n1. Get Out (2017) — a 1985 musical directed by Steven Spielberg. It is a good fit.",
    ]
    events = list(_agent(fakes, ScriptedChatModel(answer, token_latency_s=0.001)).stream_turn(ASK, thread_id="t"))
    plain = _agent(fakes, ScriptedChatModel(answer)).turn(ASK, thread_id="t")
    streamed = "".join(e.text for e in events if isinstance(e, ReplyDelta))
    assert streamed == plain.reply and plain.fallback is False
    assert streamed.startswith("You might like:\n1. Get Out (2017) — ") and streamed.endswith(" It is a good fit.")
    assert "Spielberg" not in streamed and "musical" not in streamed


def test_a_list_line_goes_out_once_its_title_is_written(fakes: Any) -> None:
    answer = [
        tool_call_message("recommend", {"k": 3}, call_id="r1"),
        "You might like:\n1. Get Out (2017) — a horror film by Jordan Peele.\n2. The Witch (2015) — a slow burn.",
    ]
    events = list(_agent(fakes, ScriptedChatModel(answer, token_latency_s=0.001)).stream_turn(ASK, thread_id="t"))
    plain = _agent(fakes, ScriptedChatModel(answer)).turn(ASK, thread_id="t")
    deltas = [e.text for e in events if isinstance(e, ReplyDelta)]
    assert deltas[0] == "You might like:\n1. Get Out (2017)"
    assert "".join(deltas) == plain.reply and plain.reply.startswith("You might like:\n1. Get Out (2017) — ")
