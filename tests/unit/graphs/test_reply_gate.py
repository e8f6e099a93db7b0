"""The sentence gate: the guard's verdict applied while a reply is written, sentence by sentence."""

from __future__ import annotations

import re

import pytest
from langchain_core.messages import AIMessageChunk

from crsagent.graphs.dialogue.reply_gate import ReplyStreamer, SentenceGate, Verdict, gate_text


def judge(prefix: str, final: bool = True) -> Verdict:
    """A stand-in guard: 'BAD' fails a sentence; the reply may go out once it names 'GOOD'."""
    last = re.split(r"(?<=[.!?])\s+", prefix)[-1]
    if "BAD" in last:
        return Verdict("fail", "a bad sentence")
    return Verdict("ok") if "GOOD" in prefix else Verdict("hold", "names no grounded item")


def tokens(text: str) -> list[str]:
    return re.findall(r"\S+\s*|\s+", text)


@pytest.mark.parametrize(
    "text, released, state",
    [
        ("Try GOOD one. It is fine. And a BAD one. More text.", "Try GOOD one. It is fine.", "cut"),
        ("Here you go. Try GOOD one.", "Here you go. Try GOOD one.", "done"),
        ("A BAD start. Try GOOD one.", "", "failed"),
        ("Nothing grounded here. Still nothing.", "", "failed"),
        ("Try GOOD one.\n\nAlso fine!  ", "Try GOOD one.\n\nAlso fine!", "done"),
    ],
)
def test_token_by_token_releases_what_the_whole_text_releases(text: str, released: str, state: str) -> None:
    whole = gate_text(judge, text)
    gate = SentenceGate(judge)
    pieces = [gate.feed(t) for t in tokens(text)] + [gate.finish()]
    assert whole.released == released and whole.state == state
    assert "".join(pieces) == gate.released == released and gate.state == state
    assert "BAD" not in "".join(pieces)


def test_a_sentence_goes_out_as_soon_as_it_is_complete_and_grounded() -> None:
    gate = SentenceGate(judge)
    assert gate.feed("Try GOOD one.") == ""  # the sentence may still go on
    assert gate.feed(" It") == "Try GOOD one."
    assert gate.feed(" is fine. And") == " It is fine."
    assert gate.state == "sending"


def test_the_streamer_ends_the_text_at_the_first_tool_call_and_stops_after_a_reply() -> None:
    call = AIMessageChunk(
        content="",
        tool_call_chunks=[{"name": "recommend", "args": "{}", "id": "c", "index": 0, "type": "tool_call_chunk"}],
    )
    sent: list[dict] = []
    streamer = ReplyStreamer(SentenceGate(judge), sent.append)
    assert streamer.on_chunk(AIMessageChunk(content="Try GOOD one. And"))
    assert streamer.on_chunk(call) is False  # a reply went out: its tool calls are not run
    assert sent == [{"type": "reply", "text": "Try GOOD one."}]
    held: list[dict] = []
    streamer = ReplyStreamer(SentenceGate(judge), held.append)
    assert streamer.on_chunk(AIMessageChunk(content="Try GOOD one."))  # its last sentence is never finished
    assert streamer.on_chunk(call) is True  # nothing released: the tool calls arrive whole
    streamer.end()
    assert held == [] and gate_text(judge, "Try GOOD one.", tool_calls=True).released == ""


def fixing_judge(prefix: str, final: bool = True) -> Verdict:
    """Like :func:`judge`, but 'FIXME' is rewritten to 'FIXED' (as the guard repairs a false claim)."""
    v = judge(prefix.replace("FIXME", "GOOD"), final)
    return Verdict(v.status, v.note, prefix.replace("FIXME", "FIXED") if "FIXME" in prefix else None)


def test_a_rewritten_sentence_is_released_as_rewritten_streamed_or_not() -> None:
    text = "Try GOOD one. Then FIXME it. And more.\nEnd BAD."
    whole = gate_text(fixing_judge, text)
    gate = SentenceGate(fixing_judge)
    pieces = [gate.feed(t) for t in tokens(text)] + [gate.finish()]
    assert whole.released == "".join(pieces) == "Try GOOD one. Then FIXED it. And more."
    assert whole.rewritten == gate.rewritten == 1 and gate.state == "cut"


def head(sentence: str) -> int:
    """A stand-in head finder: a list line's words through its first 'GOOD'."""
    return sentence.index("GOOD") + 4 if sentence.startswith("- ") and "GOOD" in sentence else 0


def test_a_list_lines_head_goes_out_before_the_line_is_complete() -> None:
    text = "Here:\n- GOOD one is fine.\n- GOOD two BAD.\n- GOOD three."
    gate = SentenceGate(judge, head)
    pieces = [gate.feed(t) for t in tokens(text)] + [gate.finish()]
    assert [p for p in pieces if p] == ["Here:\n- GOOD", " one is fine.", "\n- GOOD"]
    assert gate.released == "Here:\n- GOOD one is fine.\n- GOOD" and gate.state == "cut"
    whole = gate_text(judge, text, head=head)  # the line refused as a whole is released up to its head
    assert whole.released == gate.released and whole.state == "cut"
    # without a head finder the lines go out whole, and the refused one not at all
    assert gate_text(judge, text).released == "Here:\n- GOOD one is fine."
