"""The sentence gate: the grounding guard applied to a reply while it is being written.

A reply streams out one sentence at a time, and only after the guard has passed it. The gate
is fed the reply's text as it arrives (token by token, or all at once) and releases text when
a sentence is complete and the guard's verdict on the reply so far allows it:

* **holding** (nothing released yet): a sentence that fails the guard fails the whole reply
  (nothing was sent, the turn falls back; the answer is not read further, so tool calls
  written after it are not run); a prefix the guard passes but that cannot carry the
  turn on its own yet (it names none of the items ``recommend`` returned, say) is held; the
  first prefix that can carry the turn is released at once.
* **sending**: each further sentence that passes is released; the first one that fails ends
  the reply there (it is never sent, and nothing after it is read).

A list line goes out before it is complete when a ``head`` finder is given: once the line's first
"Title (Year)" is written, its words up to there are judged as if the sentence ended there, and
released when they may be sent. The rest of the line follows when it is complete and passes; a
line that then fails ends the reply after its head. The text fed whole releases the same: a
list line the guard refuses there is released up to its head when the head alone passes.

A verdict may carry the prefix as the guard rewrote it (a sentence whose false claim about an
item was replaced by the item's grounded reason): the gate then releases the rewritten text.
The released text is the reply. Feeding the same text token by token or in one piece releases
the same text, so a streamed turn and a non-streamed one give the same reply.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from crsagent.graphs.dialogue.grounding import split_sentences

__all__ = ["Verdict", "Judge", "Head", "SentenceGate", "gate_text", "STREAM_KEY", "ReplyStreamer"]


@dataclass(frozen=True)
class Verdict:
    """The guard's verdict on a reply prefix (whole sentences).

    Attributes:
        status: ``ok`` (it may be sent), ``hold`` (it passes, but cannot carry the turn yet),
            ``fail`` (its last sentence breaks a rule).
        note: why it holds or fails.
        text: the prefix as the guard rewrote it (None: as written); rewriting keeps every
            earlier sentence as it was rewritten before.
    """

    status: Literal["ok", "hold", "fail"]
    note: str = ""
    text: str | None = None


#: ``judge(prefix, final) -> Verdict``: the guard over a reply prefix of whole sentences
#: (``final``: the prefix is the whole reply).
Judge = Callable[[str, bool], Verdict]
#: ``head(sentence) -> length``: how much of a sentence may be judged on its own before the rest
#: of it is written (0: nothing; see the module docstring).
Head = Callable[[str], int]


class SentenceGate:
    """Releases a reply sentence by sentence, as the guard allows (see the module docstring).

    Args:
        judge: the guard's verdict on a prefix.
        head: where a sentence's releasable head ends (None: whole sentences only).

    Attributes:
        released: the text released so far (the reply, once :meth:`finish` ran).
        state: ``holding``, ``sending``, ``failed`` (nothing released, the reply failed),
            ``cut`` (a sentence failed after some were released) or ``done``.
        note: the verdict's note that failed or cut the reply ('' otherwise).
        sentences: sentences released.
        refused_at: where the sentence the guard refused ends in the text fed (None: none was);
            the answer is not read past it.
        rewritten: sentences released as the guard rewrote them.
    """

    def __init__(self, judge: Judge, head: Head | None = None) -> None:
        self.judge = judge
        self.head = head
        self.text = ""
        self.released = ""
        self.state: Literal["holding", "sending", "failed", "cut", "done"] = "holding"
        self.note = ""
        self.sentences = 0
        self.refused_at: int | None = None
        self.rewritten = 0
        self._start: int | None = None  # where the reply's first sentence starts
        self._end = 0  # where the last judged sentence ends
        self._judged = 0  # sentences judged
        self._headed = -1  # the start of the open sentence whose head was looked for

    @property
    def closed(self) -> bool:
        """True when no more text can change the outcome (failed, cut or done)."""
        return self.state in ("failed", "cut", "done")

    def feed(self, delta: str) -> str:
        """Add text; return what this releases ('' while a sentence is incomplete or held)."""
        if self.closed or not delta:
            return ""
        self.text += delta
        spans = split_sentences(self.text)
        out = self._judge(spans[:-1], final=False)  # the last span may still grow
        if self.head is not None and not self.closed and len(spans) == self._judged + 1:
            out += self._early(*spans[-1])
        return out

    def _early(self, s: int, e: int) -> str:
        """Release the head of the open sentence ``text[s:e]`` once it is written and may be sent."""
        if s == self._headed or not (n := self.head(self.text[s:e]) if self.head else 0):
            return ""
        self._headed = s
        return self._release_head(s, n)

    def _release_head(self, s: int, n: int) -> str:
        """Judge the prefix through a sentence's head (``text[s:s+n]``); release it when it may go."""
        start = s if self._start is None else self._start
        verdict = self.judge(self.text[start : s + n], False)
        view = self.text[start : s + n] if verdict.text is None else verdict.text
        if verdict.status != "ok" or not view.startswith(self.released):
            return ""
        piece = view[len(self.released) :]
        self._start, self.state, self._end, self.note = start, "sending", s + n, ""
        self.released += piece
        return piece

    def finish(self) -> str:
        """The text is complete: judge its last sentence; return what this releases."""
        if self.closed:
            return ""
        out = self._judge(split_sentences(self.text), final=True)
        if self.state == "holding":
            self.state, self.note = "failed", self.note or "nothing usable in the reply"
        elif self.state == "sending":
            self.state = "done"
        return out

    def _judge(self, spans: list[tuple[int, int]], final: bool) -> str:
        out = ""
        todo = spans[self._judged :]
        for k, (s, e) in enumerate(todo):
            if self.closed:
                break
            if self._start is None:
                self._start = s
            e = s + len(self.text[s:e].rstrip())
            verdict = self.judge(self.text[self._start : e], final and k == len(todo) - 1)
            self._judged += 1
            if verdict.status == "fail":
                if self._end <= s and self.head is not None and (n := self.head(self.text[s:e])):
                    out += self._release_head(s, n)  # as the stream would have released it
                self.state = "failed" if self.state == "holding" else "cut"
                self.note, self.refused_at = verdict.note, e
                break
            if verdict.status == "hold" and self.state == "holding":
                self.note = verdict.note
                continue
            view = self.text[self._start : e] if verdict.text is None else verdict.text
            if not view.startswith(self.released):  # an earlier sentence would change: end the reply
                self.state, self.note, self.refused_at = "cut", "the guard rewrote a released sentence", e
                break
            piece = view[len(self.released) :]
            if verdict.text is not None and piece != self.text[(self._end if self.released else self._start) : e]:
                self.rewritten += 1
            self.state, self._end, self.note = "sending", e, ""
            self.released += piece
            self.sentences = self._judged
            out += piece
        return out


def gate_text(judge: Judge, text: str, *, tool_calls: bool = False, head: Head | None = None) -> SentenceGate:
    """A gate fed an answer's whole text (the non-streamed path), as :class:`ReplyStreamer` feeds
    it: finished, unless tool calls follow the text (then its last sentence is never judged)."""
    gate = SentenceGate(judge, head)
    gate.feed(text)
    if not tool_calls:
        gate.finish()
    return gate


#: The run's ``configurable`` key that asks the ``agent`` node to stream its reply.
STREAM_KEY = "crsagent_stream"


class ReplyStreamer:
    """Feeds an LLM answer's chunks to a gate and writes the text it releases.

    The answer's text ends at its first tool-call chunk (the gate is not finished then: text
    that only a final verdict would release stays unsent). An answer that released text is the
    reply: the stream stops there (its tool calls are not run), as it does once the guard
    refused a sentence (the reply ends there, or fails). Otherwise the stream goes on, so that
    the tool calls arrive whole.

    Args:
        gate: the sentence gate.
        write: LangGraph's stream writer; gets ``{"type": "reply", "text": ...}``.
    """

    def __init__(self, gate: SentenceGate, write: Callable[[Any], None]) -> None:
        self.gate = gate
        self.write = write
        self.tool_calls = False

    def _out(self, piece: str) -> None:
        if piece:
            self.write({"type": "reply", "text": piece})

    def on_chunk(self, chunk: Any) -> bool:
        """One chunk of the answer; False stops the stream."""
        if getattr(chunk, "tool_call_chunks", None):
            self.tool_calls = True
            return not self.gate.released
        if self.tool_calls:
            return True
        text = chunk.text if isinstance(chunk.text, str) else ""
        self._out(self.gate.feed(text))
        return self.gate.refused_at is None

    def end(self) -> None:
        """The answer is complete (or was stopped): judge the last sentence."""
        if not self.tool_calls:
            self._out(self.gate.finish())
