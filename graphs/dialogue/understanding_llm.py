"""The LLM's reading of a message, kept only where it is grounded (LLM variants).

One structured answer (:class:`NeedsExtraction`) whose values are kept only when grounded —
titles must link to the catalogue, genres must be catalogue genres, people and brands must
appear in the message, a year range needs a year cue in the message — and which never
overrides what the deterministic reading (:mod:`crsagent.graphs.dialogue.understanding`) found.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from crsagent.agent.domains import domain_spec
from crsagent.graphs.dialogue.belief import Belief, merge_belief
from crsagent.graphs.dialogue.cues import DialogueAct, has_year_cue

if TYPE_CHECKING:  # pragma: no cover
    from crsagent.tools.toolkit import Toolkit

__all__ = ["NeedsExtraction", "llm_update", "link_title", "MAX_LIST"]

_YEAR_OK = range(1870, 2101)
MAX_LIST = 8  # values kept per list of an LLM extraction


class NeedsExtraction(BaseModel):
    """What the user's last message says about what they want (answer in JSON)."""

    model_config = ConfigDict(extra="ignore")

    dialogue_act: DialogueAct = Field(
        default="elicit",
        description="elicit: states preferences; recommend: asks for a recommendation; reject: turns down "
        "the last suggestion; ask_fact: asks a fact about an item; explain: asks why an item was suggested; "
        "chitchat: small talk.",
    )
    liked_titles: list[str] = Field(default_factory=list, description="titles the user likes")
    disliked_titles: list[str] = Field(default_factory=list, description="titles the user dislikes")
    liked_genres: list[str] = Field(default_factory=list, description="genres or categories wanted")
    disliked_genres: list[str] = Field(default_factory=list, description="genres not wanted")
    people: list[str] = Field(default_factory=list, description="directors, actors or brands named")
    year_min: int | None = Field(default=None, description="earliest release year wanted")
    year_max: int | None = Field(default=None, description="latest release year wanted")
    preferences: str = Field(default="", description="other wishes in a few words")


def link_title(toolkit: Toolkit, title: str) -> str | None:
    """The catalogue id of a title an LLM wrote, or None when it does not clearly link."""
    if toolkit.linker is None or not title.strip():
        return None
    mentions = toolkit.linker.link(title)
    if not mentions:
        return None
    best = max(mentions, key=lambda m: (m.end - m.start, m.confidence))
    core = re.sub(r"\(?\b(1[89]|20)\d\d\)?", "", title).strip(" .,'\"")
    return best.item_id if (best.end - best.start) >= 0.6 * max(len(core), 1) else None


def _extract(toolkit: Toolkit, text: str) -> Any:
    lex = toolkit.lexicon
    return lex.extract(text) if lex is not None else None


def _canon_genres(toolkit: Toolkit, values: Sequence[str]) -> list[str]:
    vocab = toolkit.genre_vocab()
    out: list[str] = []
    for v in values:
        g = v.strip().lower()
        if g in vocab:
            out.append(g)
            continue
        ex = _extract(toolkit, g)
        out.extend(x for x in (getattr(ex, "genres_liked", None) or []) if x in vocab)
    return list(dict.fromkeys(out))


def llm_update(toolkit: Toolkit, text: str, ex: NeedsExtraction, known: Belief) -> Belief:
    """The grounded part of an LLM extraction, as a belief update that adds to ``known``.

    Args:
        toolkit: the domain's tools.
        text: the user message the LLM read.
        ex: the LLM's extraction.
        known: the deterministic update of the same message (it wins every conflict).

    Returns:
        A belief update with only the values the deterministic reading did not already settle.
    """
    low = text.lower()
    ex = ex.model_copy(
        update={
            "liked_titles": ex.liked_titles[:MAX_LIST],
            "disliked_titles": ex.disliked_titles[:MAX_LIST],
            "liked_genres": ex.liked_genres[:MAX_LIST],
            "disliked_genres": ex.disliked_genres[:MAX_LIST],
            "people": ex.people[:MAX_LIST],
            "preferences": ex.preferences[:300],
        }
    )
    known_items = known.get("items") or {}
    items: dict[str, Any] = {}
    for titles, opinion in ((ex.liked_titles, "liked"), (ex.disliked_titles, "disliked")):
        for t in titles:
            iid = link_title(toolkit, t)
            if iid and iid not in known_items and iid not in items:
                items[iid] = {"opinion": opinion, "source": "llm"}
    up: dict[str, Any] = {}
    if items:
        up["items"] = items
        up["mentioned"] = list(items)
    known_genres = known.get("genres") or {}
    genres = {g: "like" for g in _canon_genres(toolkit, ex.liked_genres) if g not in known_genres}
    genres.update({g: "dislike" for g in _canon_genres(toolkit, ex.disliked_genres) if g not in known_genres})
    if genres:
        up["genres"] = genres
    known_people = {p.lower() for p in (known.get("people") or {})}
    people = {
        p.strip(): "like"
        for p in ex.people
        if p.strip() and p.strip().lower() not in known_people and _grounded_name(p, low)
    }
    if people:
        up[domain_spec(toolkit.domain).people_slot] = people
    cons: dict[str, Any] = {}
    known_cons = known.get("constraints") or {}
    if has_year_cue(text) and not known_cons:
        lo = ex.year_min if ex.year_min in _YEAR_OK else None
        hi = ex.year_max if ex.year_max in _YEAR_OK else None
        if lo is not None and hi is not None and lo > hi:
            lo, hi = hi, lo
        if lo is not None:
            cons["year_min"] = lo
        if hi is not None:
            cons["year_max"] = hi
    if cons:
        up["constraints"] = cons
    pref = ex.preferences.strip()
    if pref and not known.get("soft") and len(pref.split()) >= 2:
        up["soft"] = [pref]
    return merge_belief({}, up)  # type: ignore[arg-type]


def _grounded_name(name: str, low_text: str) -> bool:
    parts = [p for p in re.split(r"\W+", name.lower()) if len(p) >= 3]
    return bool(parts) and any(p in low_text for p in parts)
