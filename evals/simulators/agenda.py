"""A deterministic, agenda-based simulated user.

The user's agenda is the target's attributes (genre, decade, second genre, lead actor,
director). It reveals them one at a time: the one the agent asks about, or the next one on
its own. A wrong recommendation is rejected by naming an attribute of the target the
recommended item violates. The title is never said: an attribute whose wording would leak
it is dropped from the agenda.
"""

from __future__ import annotations

import re
import zlib

from crsagent.agent.turns import TurnResult
from crsagent.evals.simulators.base import (
    Attribute,
    AttributeKind,
    ItemLookup,
    Linker,
    Target,
    UserReply,
    is_target_recommended,
    item_satisfies,
    leaks_title,
)

__all__ = ["AgendaSimulator", "AgendaUser", "asked_kind"]

_ASKS: tuple[tuple[AttributeKind, re.Pattern[str]], ...] = (
    ("brand", re.compile(r"\b(brand|brands|maker|manufacturer)\b", re.I)),
    ("product", re.compile(r"\b(which product|what product|what kind of product|category|looking for)\b", re.I)),
    ("director", re.compile(r"\b(director|directed|filmmaker)\b", re.I)),
    ("actor", re.compile(r"\b(actor|actress|actors|star|stars|starring|cast|who.{0,10}\bin)\b", re.I)),
    ("decade", re.compile(r"\b(year|years|decade|era|old|older|new|newer|recent|classic|when)\b", re.I)),
    ("genre", re.compile(r"\b(genre|genres|kind|type|sort|mood)\b", re.I)),
)

_OPENINGS = (
    "Hi! I'm looking for {phrase}.",
    "Hello, can you recommend {phrase}?",
    "Hey, I'd like to watch {phrase} tonight.",
)
_GENERIC_OPENING = "Hi! Can you recommend a movie for me?"
_ACCEPT = "Yes, that's exactly what I was looking for. Thanks!"


def asked_kind(text: str) -> AttributeKind | None:
    """Which attribute kind an agent's question asks about, if any (question turns only)."""
    if "?" not in text:
        return None
    for kind, pattern in _ASKS:
        if pattern.search(text):
            return kind
    return None


class AgendaUser:
    """One agenda-driven user in one dialogue (see the module docstring).

    Args:
        target: what the user wants.
        item_lookup: catalogue look-up, to see what a recommended item violates.
        linker: optional entity linker for leak checks.
        seed: picks the opening wording.
    """

    def __init__(self, target: Target, item_lookup: ItemLookup, *, linker: Linker | None = None, seed: int = 0):
        self.target = target
        self.item_lookup = item_lookup
        self.linker = linker
        self.seed = seed
        self.agenda: list[Attribute] = [a for a in target.attributes() if not leaks_title(a.phrase(), target, linker)]
        self.revealed: list[Attribute] = []
        self.last_named: Attribute | None = None

    def _pending(self, kind: AttributeKind | None = None) -> list[Attribute]:
        return [a for a in self.agenda if a not in self.revealed and (kind is None or a.kind == kind)]

    def _say(self, text: str, accepted: bool = False) -> UserReply:
        if leaks_title(text, self.target, self.linker):  # defensive: templates plus agenda never should
            text = "Can you recommend something else?"
        return UserReply(text=text, accepted=accepted)

    def _reveal(self, attr: Attribute) -> Attribute:
        if attr not in self.revealed:
            self.revealed.append(attr)
        return attr

    def first_message(self) -> UserReply:
        """Open with the first attribute of the agenda."""
        pending = self._pending()
        if not pending:
            return self._say(_GENERIC_OPENING)
        attr = self._reveal(pending[0])
        openings = _OPENINGS[:2] if attr.kind in ("product", "brand") else _OPENINGS  # nobody "watches" a stapler
        template = openings[zlib.crc32(f"{self.target.item_id}:{self.seed}".encode()) % len(openings)]
        return self._say(template.format(phrase=attr.phrase()))

    def violated(self, item_id: str) -> Attribute | None:
        """An attribute a recommended item violates: revealed ones first, but not the one named
        in the previous rejection when another is violated too (so an ignored request leads to
        new information rather than the same sentence)."""
        item = self.item_lookup(item_id)
        if item is None:
            return None
        bad = [a for a in self.revealed + self._pending() if not item_satisfies(item, a)]
        fresh = [a for a in bad if a != self.last_named]
        return (fresh or bad)[0] if bad else None

    def reply(self, result: TurnResult) -> UserReply:
        """Accept the target, reject a wrong recommendation by a violated attribute, or answer/reveal."""
        if is_target_recommended(result, self.target, self.linker):
            return self._say(_ACCEPT, accepted=True)
        if result.recommendations:
            for rec in result.recommendations:
                attr = self.violated(rec.item_id)
                if attr is not None:
                    self.last_named = self._reveal(attr)
                    return self._say(f"No, that's not it. I want {attr.phrase()}.")
            nxt = self._pending()
            if nxt:
                return self._say(f"Not quite. I'd like {self._reveal(nxt[0]).phrase()}.")
            return self._say("Not quite, I've seen those. Anything else like that?")
        kind = asked_kind(result.reply)
        if kind is not None:
            options = self._pending(kind) or [a for a in self.revealed if a.kind == kind]
            if options:
                return self._say(f"I'd like {self._reveal(options[0]).phrase()}.")
            if kind in ("actor", "director"):
                return self._say("I don't mind who is in it.")
        nxt = self._pending()
        if nxt:
            return self._say(f"I'd like {self._reveal(nxt[0]).phrase()}.")
        return self._say("That's all I know. Can you recommend something?")


class AgendaSimulator:
    """Factory of :class:`AgendaUser` (``name = "agenda"``). Uses no LLM.

    Args:
        item_lookup: catalogue look-up by id.
        linker: optional entity linker for leak checks.
    """

    name = "agenda"

    def __init__(self, item_lookup: ItemLookup, *, linker: Linker | None = None):
        self.item_lookup = item_lookup
        self.linker = linker

    def new_user(self, target: Target, *, seed: int = 0, persona: str | None = None) -> AgendaUser:
        """A fresh agenda user for ``target`` (``persona`` is ignored)."""
        return AgendaUser(target, self.item_lookup, linker=self.linker, seed=seed)
