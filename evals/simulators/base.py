"""What every user simulator shares: the target, its attributes, title-leak detection, the simulator protocol.

A simulated user wants one *target* item. It may describe the target's attributes (genres,
decade, actors, director) but never its title; it accepts when the agent recommends the
target. Replies that would leak the title are caught by :func:`leaks_title`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Literal, Protocol

from pydantic import BaseModel, Field
from rapidfuzz import fuzz

from crsagent.agent.domains import domain_spec
from crsagent.agent.turns import TurnResult
from crsagent.evals.datasets import normalize_title

__all__ = [
    "AttributeKind",
    "Attribute",
    "Target",
    "UserReply",
    "DialogueUser",
    "UserSimulator",
    "ItemLookup",
    "Linker",
    "leaks_title",
    "redact_title",
    "is_target_recommended",
    "item_satisfies",
    "product_words",
    "revealed_in",
    "linker_from",
]

AttributeKind = Literal["genre", "decade", "actor", "director", "product", "brand"]

#: Finds catalogue item ids mentioned in a text (for example the entity linker), optional.
Linker = Callable[[str], Iterable[str]]
#: Catalogue look-up by id (``None`` for unknown ids); the returned object has ``genres``,
#: ``year``, ``cast``, ``directors``.
ItemLookup = Callable[[str], Any]


class Attribute(BaseModel):
    """One fact about the target a simulated user can reveal."""

    kind: AttributeKind
    value: str

    def phrase(self) -> str:
        """How a user would ask for it, e.g. ``a horror movie`` or ``something from the 1990s``."""
        if self.kind == "genre":
            article = "an" if self.value[:1].lower() in "aeiou" else "a"
            return f"{article} {self.value} movie"
        if self.kind == "decade":
            return f"something from the {self.value}"
        if self.kind == "actor":
            return f"a movie with {self.value}"
        if self.kind == "product":
            return f"some {self.value}"
        if self.kind == "brand":
            return f"something from {self.value}"
        return f"a movie directed by {self.value}"


class Target(BaseModel):
    """The item a simulated user is looking for, with the facts it may reveal.

    Attributes:
        item_id: catalogue id.
        title: title without the year (never said).
        year: release year.
        genres: genre names.
        directors: director names.
        cast: leading actors.
        plot: plot summary (LLM simulator only; it is told to paraphrase).
        brand: the brand (office products).
        product: what kind of product it is, in a few words of its title (office products).
    """

    item_id: str
    title: str
    brand: str | None = None
    product: str | None = None
    year: int | None = None
    genres: list[str] = Field(default_factory=list)
    directors: list[str] = Field(default_factory=list)
    cast: list[str] = Field(default_factory=list)
    plot: str = ""

    @classmethod
    def from_item(cls, item: Any) -> Target:
        """From a catalogue :class:`~crsagent.tools.catalog.schema.Item`."""
        return cls(
            item_id=item.item_id,
            title=item.title,
            year=item.year,
            genres=list(item.genres or []),
            directors=list(getattr(item, "directors", []) or []),
            cast=list(getattr(item, "cast", []) or []),
            plot=getattr(item, "plot", "") or "",
            brand=getattr(item, "brand", None),
            product=product_words(item.title, getattr(item, "brand", None))
            if domain_spec(getattr(item, "domain", "movies")).product_words
            else None,
        )

    def attributes(self) -> list[Attribute]:
        """The agenda: first genre, decade, second genre, lead actor, director (those known);
        for an office product: what kind of product it is, then its brand."""
        out: list[Attribute] = []
        if self.product:
            out.append(Attribute(kind="product", value=self.product))
        if self.brand and self.product:
            out.append(Attribute(kind="brand", value=self.brand))
        if self.genres:
            out.append(Attribute(kind="genre", value=self.genres[0].lower()))
        if self.year:
            out.append(Attribute(kind="decade", value=f"{self.year // 10 * 10}s"))
        if len(self.genres) > 1:
            out.append(Attribute(kind="genre", value=self.genres[1].lower()))
        if self.cast:
            out.append(Attribute(kind="actor", value=self.cast[0]))
        if self.directors:
            out.append(Attribute(kind="director", value=self.directors[0]))
        return out


class UserReply(BaseModel):
    """One simulated-user message.

    Attributes:
        text: what the user says.
        accepted: the user accepts a recommendation (the dialogue ends in success).
        llm_calls: LLM calls spent on this message (regenerations included).
        regenerations: replies thrown away because they leaked the title.
    """

    text: str
    accepted: bool = False
    llm_calls: int = 0
    regenerations: int = 0


class DialogueUser(Protocol):
    """One simulated user in one dialogue."""

    target: Target

    def first_message(self) -> UserReply:
        """The opening request."""
        ...

    def reply(self, result: TurnResult) -> UserReply:
        """Answer the agent's turn."""
        ...


class UserSimulator(Protocol):
    """A factory of simulated users."""

    name: str

    def new_user(self, target: Target, *, seed: int = 0, persona: str | None = None) -> DialogueUser:
        """A fresh user that wants ``target``."""
        ...


def _boundary_search(needle: str, hay: str) -> bool:
    return re.search(r"(?<![0-9a-z])" + re.escape(needle) + r"(?![0-9a-z])", hay) is not None


def leaks_title(text: str, target: Target, linker: Linker | None = None) -> bool:
    """Whether ``text`` names the target's title.

    A normalised exact match (word boundaries) of the title, a close fuzzy match of a word
    window for titles of six characters or more (catches misspellings), a case-sensitive match for very short
    titles (``Up``, ``It``), or the linker finding the target's id.
    """
    title = target.title.strip()
    if not title or not text:
        return False
    if linker is not None and target.item_id in set(linker(text)):
        return True
    norm_title, norm_text = normalize_title(title), normalize_title(text)
    if len(norm_title) < 4:
        return re.search(r"(?<!\w)" + re.escape(title) + r"(?!\w)", text) is not None
    if _boundary_search(norm_title, " " + norm_text + " "):
        return True
    if len(norm_title) >= 6:  # misspellings: compare word windows as long as the title
        words, n = norm_text.split(), len(norm_title.split())
        for size in {max(1, n - 1), n, n + 1}:
            for i in range(len(words) - size + 1):
                if fuzz.ratio(norm_title, " ".join(words[i : i + size])) >= 88:
                    return True
    return False


def redact_title(text: str, target: Target, replacement: str = "that movie") -> str:
    """Replace verbatim occurrences of the title (any case, optional year) with ``replacement``."""
    pattern = re.escape(target.title.strip())
    if target.year:
        pattern += rf"(?:\s*\({target.year}\))?"
    return re.sub(pattern, replacement, text, flags=re.IGNORECASE)


def is_target_recommended(result: TurnResult, target: Target, linker: Linker | None = None) -> bool:
    """The agent recommended the target: in its structured recommendations, or named in its reply."""
    if any(r.item_id == target.item_id for r in result.recommendations):
        return True
    return leaks_title(result.reply, target, linker)


def product_words(title: str, brand: str | None, n: int = 3) -> str | None:
    """What kind of office product a title names: the last ``n`` plain words of its first
    part (up to a comma, "with", "for" ...), without the brand or model numbers ("EXPO 86074 Low-Odor Dry Erase
    Markers, Fine Point" -> ``dry erase markers``); None when no such word is left."""
    head = re.split(r",|\(| - | with | for | and | in ", title, maxsplit=1)[0]
    skip = {w.lower() for w in re.findall(r"[A-Za-z]+", brand or "")}
    kept = [w.lower() for w in head.split() if w.isalpha() and w.lower() not in skip]
    return " ".join(kept[-n:]) or None


def item_satisfies(item: Any, attr: Attribute) -> bool:
    """Whether a catalogue item agrees with one attribute of the target."""
    if item is None:
        return False
    if attr.kind == "genre":
        return attr.value.lower() in {g.lower() for g in (item.genres or [])}
    if attr.kind == "decade":
        return bool(item.year) and f"{item.year // 10 * 10}s" == attr.value
    if attr.kind == "brand":
        return (item.brand or "").lower() == attr.value.lower()
    if attr.kind == "product":
        title = set(re.findall(r"[a-z]+", (item.title or "").lower()))
        return all(w in title for w in attr.value.split())
    names = item.cast if attr.kind == "actor" else item.directors
    return attr.value.lower() in {n.lower() for n in (names or [])}


def revealed_in(texts: Sequence[str], target: Target) -> list[Attribute]:
    """The target's attributes that the user's messages mention (for attribute precision)."""
    blob = " " + " ".join(texts).lower() + " "
    out = []
    for attr in target.attributes():
        value = attr.value.lower()
        if attr.kind == "decade":
            short = "'" + value[2:] if len(value) == 5 else value
            hit = value in blob or short in blob or f" {value[2:]} " in blob
        else:
            hit = _boundary_search(value, blob)
        if hit:
            out.append(attr)
    return out


def linker_from(entity_linker: Any) -> Linker:
    """Adapt a :class:`~crsagent.tools.linker.linker.EntityLinker` to a :data:`Linker`.

    Every linked item and its same-title alternatives count, so a mention of the target is
    caught even when the linker prefers a more popular namesake.
    """

    def find(text: str) -> list[str]:
        out: list[str] = []
        for m in entity_linker.link(text):
            out.append(m.item_id)
            out.extend(m.alternatives)
        return out

    return find
