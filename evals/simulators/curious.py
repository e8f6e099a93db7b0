"""A curious agenda user: asks about recommended items and makes small talk, then goes on.

:class:`CuriousUser` is an :class:`~crsagent.evals.simulators.agenda.AgendaUser` that, when the
agent shows a new list that misses the target, sometimes asks about one of its items first (who
directed it, when it came out, who is in it, what it is about, why it was picked; for office
products: which brand it is, why that one) or says a short thank-you, and only then rejects the
list as the agenda user would. It sometimes opens with a greeting before its first request.

Every choice is a hash of the target id, the seed, the turn number and a tag, so a (target,
seed) pair always gives the same dialogue against the same agent. Items are named by title
mostly, sometimes by position ("the second one"); a question whose wording would leak the
target's title (a namesake in the list) names the item by position instead. The wordings are
kept apart from the behaviour suite's user lines (``evals/conversations``), which stay held out.
It is for training trajectories (``crsagent eval trajectories --sim-question-dialogues``).
"""

from __future__ import annotations

import hashlib
from typing import Any

from crsagent.agent.turns import TurnResult
from crsagent.evals.simulators.agenda import AgendaSimulator, AgendaUser
from crsagent.evals.simulators.base import ItemLookup, Linker, Target, UserReply, leaks_title

__all__ = ["QUESTIONS", "CHITCHAT", "GREETINGS", "ORDINALS", "CuriousUser", "CuriousSimulator"]

#: Question kind -> wordings (``{ref}``: the item's title or "the second one"), per domain.
#: Each wording is read by the deterministic policy's cues as the intended act and field.
QUESTIONS: dict[str, dict[str, tuple[str, ...]]] = {
    "movies": {
        "directors": ("Who was the director of {ref}?", "Who made {ref}?"),
        "year": ("When was {ref} released?", "Which year did {ref} come out?"),
        "cast": ("Who stars in {ref}?", "Who plays in {ref}?"),
        "plot": ("Could you tell me more about {ref}?", "Can you tell me about {ref}?"),
        "why": ("How come you suggested {ref}?", "What makes {ref} a good match for me?"),
    },
    "office": {
        "brand": ("Which brand makes {ref}?", "What brand is {ref}?"),
        "why": ("How come you suggested {ref}?", "What makes {ref} a good fit for me?"),
    },
}
#: Short thank-you lines after a list (greeting-only: the policy's chit-chat).
CHITCHAT: tuple[str, ...] = ("Nice, thank you!", "Great, thank you!", "Sounds good, thanks!", "Okay, thank you.")
#: Greetings the user may send before its first request.
GREETINGS: tuple[str, ...] = ("Hey there!", "Good evening!", "Hi, good afternoon!")
#: Position words for "the <ordinal> one" (index into the list).
ORDINALS: tuple[str, ...] = ("first", "second", "third")

_FIELD_OF = {"directors": "directors", "cast": "cast", "year": "year", "plot": "plot", "brand": "brand"}


def _roll(*parts: object) -> int:
    """A deterministic pseudo-random number from the parts (a BLAKE2b digest of their ``:``-joined
    text; not crc32, whose values for texts that differ only in the tag are linearly related, so
    one choice would bias the next)."""
    return int.from_bytes(hashlib.blake2b(":".join(str(p) for p in parts).encode(), digest_size=8).digest(), "big")


class CuriousUser(AgendaUser):
    """An agenda user that asks about recommended items and makes small talk (see the module docstring).

    Args:
        target: what the user wants.
        item_lookup: catalogue look-up (titles and facts of the recommended items).
        linker: optional entity linker for leak checks.
        seed: the seed of every choice.
        domain: ``movies`` or ``office`` (which questions it asks).
        p_question: the share of missed lists it asks about (per list, by hash).
        p_chitchat: the share of missed lists it thanks for instead (when it does not ask).
        p_greeting: the share of dialogues it opens with a greeting.

    Raises:
        ValueError: an unknown domain or a share outside [0, 1].
    """

    def __init__(
        self,
        target: Target,
        item_lookup: ItemLookup,
        *,
        linker: Linker | None = None,
        seed: int = 0,
        domain: str = "movies",
        p_question: float = 0.6,
        p_chitchat: float = 0.2,
        p_greeting: float = 0.25,
    ):
        super().__init__(target, item_lookup, linker=linker, seed=seed)
        if domain not in QUESTIONS:
            raise ValueError(f"unknown domain {domain!r}; expected one of {sorted(QUESTIONS)}")
        if not all(0.0 <= p <= 1.0 for p in (p_question, p_chitchat, p_greeting)):
            raise ValueError("p_question, p_chitchat and p_greeting must lie in [0, 1]")
        self.domain = domain
        self.p_question, self.p_chitchat, self.p_greeting = p_question, p_chitchat, p_greeting
        self.turn = 0
        self.greeted = False
        self.opened = False
        self.held: TurnResult | None = None  # the list a question or thank-you put off rejecting
        self.asked: list[tuple[str, str]] = []  # (question kind, item id), in order
        self.last_asked: tuple[str, str] | None = None  # what the last message asked, if it was a question

    def _chance(self, tag: str, p: float) -> bool:
        return _roll(self.target.item_id, self.seed, self.turn, tag) % 10_000 < p * 10_000

    def _pick(self, tag: str, n: int) -> int:
        return _roll(self.target.item_id, self.seed, self.turn, tag) % n

    def first_message(self) -> UserReply:
        """A greeting first (sometimes), else the agenda user's opening request."""
        if not self.greeted and self._chance("greet", self.p_greeting):
            self.greeted = True
            return self._say(GREETINGS[self._pick("greeting", len(GREETINGS))])
        self.opened = True
        return super().first_message()

    def _has(self, item: Any, kind: str) -> bool:
        field = _FIELD_OF.get(kind)
        return field is None or bool(getattr(item, field, None))

    def question(self, result: TurnResult) -> tuple[str, str, str] | None:
        """A question about one item of the list: (kind, item id, text), or None when none fits.

        A position ("the second one") counts in the order the reply shows the titles, which need
        not be the order of ``result.recommendations`` (long office titles the linker misses come
        last there); an item whose title the reply does not show is named by title.
        """
        recs = result.recommendations[: len(ORDINALS)]
        if not recs:
            return None
        item_id = recs[self._pick("item", len(recs))].item_id
        item = self.item_lookup(item_id)
        title = str(getattr(item, "title", "") or "")
        if item is None or not title:
            return None
        kinds = [k for k in QUESTIONS[self.domain] if self._has(item, k)]
        kind = kinds[self._pick("kind", len(kinds))]
        wordings = QUESTIONS[self.domain][kind]
        template = wordings[self._pick("wording", len(wordings))]
        shown = self._shown_order(result)
        position = f"the {ORDINALS[shown.index(item_id)]} one" if item_id in shown else None
        by_title = position is None or self._pick("ref", 3) != 0
        text = template.format(ref=title if by_title else position)
        if by_title and leaks_title(text, self.target, self.linker):
            if position is None:
                return None
            text = template.format(ref=position)
        return kind, item_id, text[0].upper() + text[1:]

    def _shown_order(self, result: TurnResult) -> list[str]:
        """The listed items in the order the reply shows their titles (at most three)."""
        at: list[tuple[int, str]] = []
        for rec in result.recommendations:
            title = str(getattr(self.item_lookup(rec.item_id), "title", "") or "")
            where = result.reply.find(title) if title else -1
            if where >= 0:
                at.append((where, rec.item_id))
        return [i for _, i in sorted(at)][: len(ORDINALS)]

    def reply(self, result: TurnResult) -> UserReply:
        """Greeted: make the request. A new list without the target: sometimes ask about an item
        or thank first. Else (and on the turn after) the agenda user's reply, the put-off list
        rejected."""
        self.turn += 1
        self.last_asked = None
        if self.greeted and not self.opened:
            self.opened = True
            return super().first_message()
        fresh = bool(result.recommendations) and result.action == "recommend"
        if fresh and self.held is None and self._missed(result):
            asked = self.question(result) if self._chance("ask", self.p_question) else None
            if asked is not None:
                self.held = result
                self.last_asked = (asked[0], asked[1])
                self.asked.append(self.last_asked)
                return self._say(asked[2])
            if self._chance("thank", self.p_chitchat):
                self.held = result
                return self._say(CHITCHAT[self._pick("chitchat", len(CHITCHAT))])
        held, self.held = self.held, None
        if held is not None and not fresh:
            result = result.model_copy(update={"recommendations": held.recommendations})
        return super().reply(result)

    def _missed(self, result: TurnResult) -> bool:
        return not any(r.item_id == self.target.item_id for r in result.recommendations) and not leaks_title(
            result.reply, self.target, self.linker
        )


class CuriousSimulator(AgendaSimulator):
    """Factory of :class:`CuriousUser` (``name = "curious"``). Uses no LLM.

    Args:
        item_lookup: catalogue look-up by id.
        domain: ``movies`` or ``office``.
        linker: optional entity linker for leak checks.
        p_question: see :class:`CuriousUser`.
        p_chitchat: see :class:`CuriousUser`.
        p_greeting: see :class:`CuriousUser`.
    """

    name = "curious"

    def __init__(
        self,
        item_lookup: ItemLookup,
        *,
        domain: str = "movies",
        linker: Linker | None = None,
        p_question: float = 0.6,
        p_chitchat: float = 0.2,
        p_greeting: float = 0.25,
    ):
        super().__init__(item_lookup, linker=linker)
        self.domain = domain
        self.shares = {"p_question": p_question, "p_chitchat": p_chitchat, "p_greeting": p_greeting}

    def new_user(self, target: Target, *, seed: int = 0, persona: str | None = None) -> CuriousUser:
        """A fresh curious user for ``target`` (``persona`` is ignored)."""
        return CuriousUser(target, self.item_lookup, linker=self.linker, seed=seed, domain=self.domain, **self.shares)
