"""An LLM-played simulated user, following the iEvaLM / InteRecAgent protocol.

The LLM is told the target's attributes, a paraphrase-only plot and a persona, and plays a
user who wants that item without ever naming it. A reply that leaks the title is thrown
away and regenerated (at most ``max_regenerations`` times; after that the title is redacted,
so a leak never reaches the agent). The user accepts as soon as the agent recommends the
target (checked on the agent's structured recommendations and its text, without an LLM call).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage

from crsagent.agent.llm.calls import invoke_chat
from crsagent.agent.turns import TurnResult
from crsagent.evals.simulators.base import Linker, Target, UserReply, is_target_recommended, leaks_title, redact_title

__all__ = ["PERSONAS", "LLMSimulator", "LLMUser", "system_prompt"]

#: Personas in the spirit of iEvaLM's simulated users (chosen by seed).
PERSONAS: tuple[str, ...] = (
    "a casual viewer who answers briefly and lets the assistant lead",
    "a film buff who talks about directors and actors",
    "someone choosing a movie for a night in, who cares most about the mood",
    "a picky viewer who says clearly what is wrong with each suggestion",
    "a friendly chatter who describes the story they are in the mood for",
)

_ACCEPT = "Yes, that's the one I was looking for. Thanks!"
_FALLBACK = "Hmm, not quite. Can you suggest something else?"
_LEAK_NOTE = (
    "Your last draft said the movie's title. Write the reply again WITHOUT the title or any part of it; "
    "describe what you want instead."
)


def system_prompt(target: Target, persona: str) -> str:
    """The simulator's instructions: persona, the target's facts, and the rules."""
    facts = []
    if target.genres:
        facts.append("genres: " + ", ".join(target.genres))
    if target.year:
        facts.append(f"released in the {target.year // 10 * 10}s")
    if target.cast:
        facts.append("starring " + ", ".join(target.cast[:3]))
    if target.directors:
        facts.append("directed by " + ", ".join(target.directors[:2]))
    plot = redact_title(target.plot, target, "it")[:400] if target.plot else ""
    lines = [
        f"You are a user talking to a movie recommender assistant. You are {persona}.",
        "You have one particular movie in mind and want the assistant to recommend it.",
        "What you know about it: " + ("; ".join(facts) or "nothing specific") + ".",
    ]
    if plot:
        lines.append(f"Its story, to paraphrase (never quote): {plot}")
    lines += [
        "Rules: never say the movie's title. Reveal one or two facts at a time, answer the assistant's",
        "questions, and when it suggests other movies, say briefly why they are not what you want.",
        "Write only your next message, one or two short sentences.",
    ]
    return "\n".join(lines)


class LLMUser:
    """One LLM-played user in one dialogue.

    Args:
        target: what the user wants.
        llm: a LangChain chat model or a binding of one (the real vLLM client or a fake from
            ``crsagent.agent.testing``).
        persona: the persona text.
        linker: optional entity linker for leak checks.
        max_regenerations: retries of a leaking reply before the title is redacted.
    """

    def __init__(
        self, target: Target, llm: Any, persona: str, *, linker: Linker | None = None, max_regenerations: int = 2
    ):
        self.target = target
        self.llm = llm
        self.persona = persona
        self.linker = linker
        self.max_regenerations = max_regenerations
        self.history: list[BaseMessage] = []  # roles from the simulator's side: it is the "AI"
        self.texts: list[str] = []

    def _generate(self, extra: Sequence[BaseMessage] = ()) -> UserReply:
        base = [SystemMessage(content=system_prompt(self.target, self.persona)), *self.history, *extra]
        calls = 0
        regenerations = 0
        notes: list[BaseMessage] = []
        text = ""
        while True:
            msg = invoke_chat(self.llm, base + notes)  # typed LLM errors end the dialogue, not the run
            calls += 1
            text = str(getattr(msg, "content", msg) or "").strip()
            if not leaks_title(text, self.target, self.linker):
                break
            if regenerations >= self.max_regenerations:
                text = redact_title(text, self.target)
                if leaks_title(text, self.target, self.linker):
                    text = _FALLBACK
                break
            regenerations += 1
            notes = [AIMessage(content=text), HumanMessage(content=_LEAK_NOTE)]
        if not text:
            text = _FALLBACK
        return UserReply(text=text, llm_calls=calls, regenerations=regenerations)

    def first_message(self) -> UserReply:
        """The opening request, written by the LLM."""
        cue = HumanMessage(content="(The assistant is waiting. Start the conversation by asking for a recommendation.)")
        self.history.append(cue)
        out = self._generate()
        self.history.append(AIMessage(content=out.text))
        self.texts.append(out.text)
        return out

    def reply(self, result: TurnResult) -> UserReply:
        """Accept the target (no LLM call) or answer the agent through the LLM."""
        if is_target_recommended(result, self.target, self.linker):
            return UserReply(text=_ACCEPT, accepted=True)
        said = result.reply
        if result.recommendations:
            said += "\n(Suggested: " + ", ".join(r.title for r in result.recommendations) + ")"
        self.history.append(HumanMessage(content=said))
        out = self._generate()
        self.history.append(AIMessage(content=out.text))
        self.texts.append(out.text)
        return out


class LLMSimulator:
    """Factory of :class:`LLMUser` (``name = "llm"``).

    Args:
        llm: the chat model that plays the users.
        linker: optional entity linker for leak checks.
        max_regenerations: retries of a leaking reply.
        max_tokens: cap on each reply's length (users write one or two sentences); None
            leaves the model's default.
    """

    name = "llm"

    def __init__(
        self,
        llm: BaseChatModel,
        *,
        linker: Linker | None = None,
        max_regenerations: int = 2,
        max_tokens: int | None = 80,
    ):
        self.llm: Any = llm.bind(max_tokens=max_tokens) if max_tokens else llm
        self.linker = linker
        self.max_regenerations = max_regenerations

    def new_user(self, target: Target, *, seed: int = 0, persona: str | None = None) -> LLMUser:
        """A fresh user for ``target``; the persona is ``persona`` or one of :data:`PERSONAS` by seed."""
        chosen = persona or random.Random(seed).choice(PERSONAS)
        return LLMUser(target, self.llm, chosen, linker=self.linker, max_regenerations=self.max_regenerations)
