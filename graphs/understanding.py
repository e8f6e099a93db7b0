"""Needs understanding: a user message -> a belief update, an intent and the items in focus.

Deterministic reading (every variant): the entity linker finds catalogue items, the attribute
lexicon finds genres, people, year ranges and brands (with negation), and cues
(:mod:`crsagent.graphs.cues`) find rejections, questions and requests. LLM reading (LLM
variants): one structured answer (:class:`NeedsExtraction`) whose values are kept only when
grounded — titles must link to the catalogue, genres must be catalogue genres, people and
brands must appear in the message, a year range needs a year cue in the message — and which
never overrides what the deterministic reading found.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from crsagent.graphs.belief import Belief, merge_belief
from crsagent.graphs.cues import (
    Intent,
    detect_intent,
    has_negative,
    has_year_cue,
    requested_directly,
    is_rejection,
    negative_near,
    ordinal_refs,
    refers_back,
)
from crsagent.tools.linker.common_words import FUNCTION_WORDS
from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:  # pragma: no cover
    from crsagent.tools.toolkit import Toolkit

__all__ = [
    "NeedsExtraction",
    "Reading",
    "read_user_message",
    "read_assistant_message",
    "profile_seed",
    "llm_update",
    "link_title",
]

_FILLER = frozenset(
    "love loved like liked enjoy enjoyed seen watched saw want wanted looking look please recommend "
    "suggest suggestion movie movies film films thanks thank hi hello hey something anything".split()
)
_SEEN = re.compile(r"\b(seen|watched|saw)\b")
_POSITIVE = re.compile(r"\b(lov(e|ed)|lik(e|ed)|enjoy(ed)?|great|good|favou?rite|amazing)\b")
_YEAR_OK = range(1870, 2101)
MAX_LIST = 8  # values kept per list of an LLM extraction


class NeedsExtraction(BaseModel):
    """What the user's last message says about what they want (answer in JSON)."""

    model_config = ConfigDict(extra="ignore")

    intent: Intent = Field(
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


@dataclass
class Reading:
    """The deterministic reading of one user message.

    Attributes:
        update: the belief update.
        intent: the detected intent.
        cue: whether a cue decided the intent (False: ``elicit`` by default).
        focus: items a question or explanation is about.
        mentioned: items linked in the message.
    """

    update: Belief
    intent: Intent
    cue: bool
    focus: list[str] = field(default_factory=list)
    mentioned: list[str] = field(default_factory=list)


def _extract(toolkit: Toolkit, text: str) -> Any:
    lex = toolkit.lexicon
    return lex.extract(text) if lex is not None else None


def _lexicon_update(ex: Any) -> Belief:
    if ex is None:
        return {}
    up: dict[str, Any] = {}
    genres = {g: "like" for g in getattr(ex, "genres_liked", []) or []}
    genres.update({g: "dislike" for g in getattr(ex, "genres_disliked", []) or []})
    if genres:
        up["genres"] = genres
    people = {p: "like" for p in getattr(ex, "people", []) or []}
    people.update({p: "dislike" for p in getattr(ex, "people_disliked", []) or []})
    if people:
        up["people"] = people
    brands = {b: "like" for b in getattr(ex, "brands", []) or []}
    brands.update({b: "dislike" for b in getattr(ex, "brands_disliked", []) or []})
    if brands:
        up["brands"] = brands
    cons: dict[str, Any] = {}
    for key in ("year_min", "year_max"):
        v = getattr(ex, key, None)
        if v is not None and int(v) in _YEAR_OK:
            cons[key] = int(v)
    if cons:
        up["constraints"] = cons
    return up  # type: ignore[return-value]


def _soft(text: str, spans: Sequence[tuple[int, int]]) -> str:
    """The message without titles and year phrases, when a descriptive word is left."""
    out, pos = [], 0
    for s, e in sorted(spans):
        out.append(text[pos:s])
        pos = max(pos, e)
    out.append(text[pos:])
    soft = re.sub(r"\s+([,.;!?])", r"\1", re.sub(r"\s+", " ", " ".join(out))).strip(" ,.;")
    words = re.findall(r"[a-z][a-z'-]+", soft.lower())
    content = [w for w in words if w.replace("'", "") not in FUNCTION_WORDS and w not in _FILLER]
    return soft if content else ""


def read_user_message(toolkit: Toolkit, text: str, last_recs: Sequence[str] = ()) -> Reading:
    """Read one user message deterministically.

    Args:
        toolkit: the domain's tools (linker, lexicon).
        text: the message.
        last_recs: what the agent recommended just before (for rejections and "the first one").

    Returns:
        The reading.
    """
    last_recs = list(last_recs)
    mentions = toolkit.linker.link(text) if toolkit.linker is not None and text.strip() else []
    ids = list(dict.fromkeys(m.item_id for m in mentions))
    intent, cue = detect_intent(text, has_recent_recs=bool(last_recs))
    ex = _extract(toolkit, text)
    update: dict[str, Any] = dict(_lexicon_update(ex))
    year_spans = [(m.start, m.end) for m in getattr(ex, "matches", None) or [] if getattr(m, "kind", "") == "year"]
    focus: list[str] = []
    items: dict[str, Any] = {}
    if intent == "reject":
        picked = [last_recs[i] for i in ordinal_refs(text, len(last_recs))]
        picked += [i for i in ids if i in last_recs and i not in picked]
        targets = picked or last_recs
        update["rejected"] = list(targets)
        low = text.lower()
        positive = bool(_POSITIVE.search(low)) and not has_negative(low)
        if has_negative(low) or not (positive or _SEEN.search(low)):
            items.update({i: {"opinion": "disliked", "source": "user-reject"} for i in targets})
        ids = [i for i in ids if i not in targets]
    if intent in ("ask_fact", "explain"):
        focus = [last_recs[i] for i in ordinal_refs(text, len(last_recs))]
        focus += [i for i in ids if i not in focus]
        if not focus and last_recs and (refers_back(text) or intent == "explain"):
            focus = last_recs[:1]
    else:
        for m in mentions:
            if m.item_id in items or requested_directly(text, m.start):
                continue  # "recommend X" names X without an opinion of it: mentioned only
            neg = negative_near(text, m.start, m.end)
            items[m.item_id] = {"opinion": "disliked" if neg else "liked", "source": "linker"}
    if items:
        update["items"] = items
    if ids:
        update["mentioned"] = ids
    if intent in ("elicit", "recommend", "reject"):
        soft = _soft(text, [(m.start, m.end) for m in mentions] + year_spans)
        if soft and not (intent == "reject" and is_rejection(soft) and len(soft.split()) <= 6):
            update["soft"] = [soft]
    return Reading(update=update, intent=intent, cue=cue, focus=focus, mentioned=ids)  # type: ignore[arg-type]


def read_assistant_message(toolkit: Toolkit, text: str) -> list[str]:
    """Items an assistant message (of a replayed history) mentions."""
    if toolkit.linker is None or not text.strip():
        return []
    return list(dict.fromkeys(m.item_id for m in toolkit.linker.link(text)))


def profile_seed(profile: dict[str, Any] | None) -> Belief:
    """The belief a new thread starts from, seeded from the user's profile memory.

    Liked and disliked items and disliked genres carry over; favourite genres and people
    become soft preferences (a new conversation may want something else).
    """
    if not profile:
        return {}
    facts = profile.get("facts") or {}
    items: dict[str, Any] = {}
    for i in facts.get("liked") or []:
        items[i] = {"opinion": "liked", "source": "profile"}
    for i in facts.get("disliked") or []:
        items[i] = {"opinion": "disliked", "source": "profile"}
    seed: dict[str, Any] = {}
    if items:
        seed["items"] = items
    if facts.get("rejected"):
        seed["rejected"] = list(facts["rejected"])
    if facts.get("genres_disliked"):
        seed["genres"] = {g: "dislike" for g in facts["genres_disliked"]}
    soft = " ".join((facts.get("genres_liked") or []) + (facts.get("people_liked") or []))
    if soft.strip():
        seed["soft"] = [soft.strip()]
    return seed  # type: ignore[return-value]


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
    if people and toolkit.domain == "office":
        up["brands"] = people
    elif people:
        up["people"] = people
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
