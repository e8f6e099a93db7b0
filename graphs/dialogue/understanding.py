"""Needs understanding: a user message -> a belief update, a dialogue act and the items in focus.

Deterministic reading (every variant): the entity linker finds catalogue items, the attribute
lexicon finds genres, people, year ranges and brands (with negation), cues
(:mod:`crsagent.graphs.dialogue.cues`) find rejections, questions and requests, and
:mod:`crsagent.graphs.dialogue.moves` turns comparatives and corrections into belief moves.

References resolve against the last list the agent gave: an ordinal ("the second one") or a
title from the list names that item; "that one" names the item the conversation was last
about (a question's focus), else the top of the list; "it" names one item only after a
question about it or a list of one; "them"/"none of these", "that's not it" and a bare "no"
name the whole list. Soft preferences keep the user's own words, cut into clauses, with
titles, years, references and rejections left out (never a clause left half-empty). The
LLM's reading (LLM variants) lives in :mod:`crsagent.graphs.dialogue.understanding_llm`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from crsagent.agent.domains import domain_spec
from crsagent.graphs.dialogue.belief import Belief
from crsagent.graphs.dialogue.cues import (
    DialogueAct,
    asked_field,
    detect_act,
    has_negative,
    is_correction,
    is_rejection,
    negative_near,
    ordinal_refs,
    points_at_all,
    points_at_one,
    refers_back,
    requested_directly,
)
from crsagent.graphs.dialogue.moves import comparative_update
from crsagent.graphs.dialogue.readers import (
    aspect_only,
    cast_praised,
    correct,
    lexicon_update,
    product_kind,
    same_as,
    skip_words,
    surnames,
)
from crsagent.graphs.dialogue.understanding_llm import NeedsExtraction, link_title, llm_update
from crsagent.tools.linker.common_words import FUNCTION_WORDS

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
    "clean_soft",
]

_FILLER = frozenset(
    "love loved like liked enjoy enjoyed seen watched saw want wanted looking look please recommend "
    "suggest suggestion movie movies film films thanks thank hi hello hey something anything one ones "
    "really also maybe just good great some any".split()
)
_SEEN = re.compile(r"\b(seen|watched|saw)\b")
_POSITIVE = re.compile(r"\b(lov(e|ed)|lik(e|ed)|enjoy(ed)?|great|good|favou?rite|amazing)\b")
_CLAUSES = re.compile(r"[.;!?\n]+|,|(?<!anything)(?<!nothing)(?<!all)\s+\b(?:but|and then|though|although)\b\s+")
_EDGE = re.compile(
    r"^(?:(?:and|or|but|so|from|of|by|with|the|a|an|to|in|on|than|like|as|i|it)\b\s*)+|"
    r"(?:\s*\b(?:and|or|but|so|from|of|by|with|the|a|an|to|in|on|than|like|as|after|before|since)\b)+$"
)
_NEGATED = re.compile(r"\b(no more|not|no|anything but|except|without|enough|avoid|skip|stop)\b")
_OFF_TOPIC = re.compile(r"\?\s*$|^\s*(what|who|how|when|where|why|do|are|can|is)\b")
_FACTS = ("items", "genres", "people", "brands", "constraints")
_MORE_LIKE = re.compile(r"\b(more|something|anything|others?) like (the|that|this|it)\b")


@dataclass
class Reading:
    """The deterministic reading of one user message.

    Attributes:
        update: the belief update.
        dialogue_act: what the message does (:data:`~crsagent.graphs.dialogue.cues.DialogueAct`).
        cue: whether a cue decided the dialogue act (False: ``elicit`` by default).
        focus: items a question or explanation is about.
        mentioned: items linked in the message.
        asked: the record field a question asks for (``directors``, ``runtime`` ...), or None.
    """

    update: Belief
    dialogue_act: DialogueAct
    cue: bool
    focus: list[str] = field(default_factory=list)
    mentioned: list[str] = field(default_factory=list)
    asked: str | None = None


def _extract(toolkit: Toolkit, text: str) -> Any:
    lex = toolkit.lexicon
    return lex.extract(text) if lex is not None else None


def clean_soft(text: str, spans: Sequence[tuple[int, int]] = (), *, drop_refs: bool = True) -> str:
    """The user's descriptive words: clauses without titles, years, references or rejections.

    Args:
        text: the message.
        spans: character spans to leave out (titles, year phrases).
        drop_refs: drop clauses that point at the last list ("not the second one").

    Returns:
        The clean clauses joined with "; " ("" when no descriptive word is left).
    """
    masked = list(text)
    for s, e in spans:
        masked[s:e] = ["\0"] * (e - s)
    kept: list[str] = []
    for raw in _CLAUSES.split("".join(masked)):
        if drop_refs and raw.strip() and (is_rejection(raw) or ordinal_refs(raw, 5) or points_at_all(raw)):
            continue
        if _NEGATED.search(raw.lower()) or has_negative(raw):
            continue  # "anything but horror", "no more Nolan": the belief holds it, not the soft text
        parts = [p for p in re.split(r"\s*\0+\s*", raw) if p.strip()]
        for part in parts:
            part = re.sub(r"\s+", " ", part).strip(" ,'\"-")
            prev = None
            while prev != part:
                prev, part = part, _EDGE.sub("", part).strip(" ,'\"-")
            words = re.findall(r"[a-z][a-z'-]+", part.lower())
            content = [w for w in words if w.replace("'", "") not in FUNCTION_WORDS and w not in _FILLER]
            if content and not is_rejection(part):
                kept.append(part)
    return "; ".join(dict.fromkeys(kept))


def _resolve_one(text: str, last_recs: list[str], ids: list[str], last_focus: Sequence[str]) -> list[str]:
    """The items of the last list a message names: ordinals, titles, else "that one"/"it"."""
    picked = [last_recs[i] for i in ordinal_refs(text, len(last_recs))]
    picked += [i for i in ids if i in last_recs and i not in picked]
    if picked or points_at_all(text):
        return picked
    focus = [i for i in last_focus if i in last_recs]
    if last_recs and points_at_one(text, it_is_one=bool(focus) or len(last_recs) == 1):
        return focus[:1] or last_recs[:1]
    return []


def read_user_message(
    toolkit: Toolkit,
    text: str,
    last_recs: Sequence[str] = (),
    *,
    last_focus: Sequence[str] = (),
    known: Belief | None = None,
) -> Reading:
    """Read one user message deterministically.

    Args:
        toolkit: the domain's tools (linker, lexicon).
        text: the message.
        last_recs: the last list the agent recommended (for rejections and "the first one").
        last_focus: the items the previous turn was about (a question's focus).
        known: the belief so far (a correction corrects its latest liked item; a person
            already in it may be named by surname alone: "no more Nolan").

    Returns:
        The reading.
    """
    last_recs = list(last_recs)
    mentions = toolkit.linker.link(text) if toolkit.linker is not None and text.strip() else []
    ids = list(dict.fromkeys(m.item_id for m in mentions))
    act, cue = detect_act(text, has_recent_recs=bool(last_recs))
    low = text.lower()
    negated_recs = [
        m.item_id
        for m in mentions
        if m.item_id in last_recs and (negative_near(text, m.start, m.end) or re.search(r"\bnot\s*$", low[: m.start]))
    ]
    if act in ("elicit", "recommend") and negated_recs:
        act, cue = "reject", True  # "not Alien, the other one"
    ex = _extract(toolkit, text)
    update: dict[str, Any] = dict(lexicon_update(ex))
    year_spans = [(m.start, m.end) for m in getattr(ex, "matches", None) or [] if getattr(m, "kind", "") == "year"]
    moved, _unavailable = comparative_update(toolkit, text, last_recs)
    for key, value in moved.items():
        update[key] = {**(update.get(key) or {}), **value}
    same = same_as(toolkit, low, last_recs, _resolve_one(text, last_recs, ids, last_focus))
    for key, value in same.items():
        update[key] = {**(update.get(key) or {}), **value}
    if (moved or same) and act == "elicit":
        act, cue = "recommend", True  # "something scarier", "same brand": a new list is wanted
    focus: list[str] = []
    items: dict[str, Any] = {}
    known = known or {}
    people = surnames(text, known)
    if people:
        update["people"] = {**people, **(update.get("people") or {})}
    if is_correction(text) and not negated_recs:
        recent = [i for i, o in (known.get("items") or {}).items() if o.get("opinion") == "liked"]
        fixed = correct(toolkit, text, mentions, recent)
        if fixed:
            items.update(fixed)
            act, cue = "recommend", True  # "no, I meant the 1995 Heat" is no rejection
    if act == "reject":
        targets = negated_recs or _resolve_one(text, last_recs, ids, last_focus) or last_recs
        update["rejected"] = list(targets)
        positive = bool(_POSITIVE.search(low)) and not has_negative(low)
        if has_negative(low) or not (positive or _SEEN.search(low)):
            items.update({i: {"opinion": "disliked", "source": "user-reject"} for i in targets})
        ids = [i for i in ids if i not in targets]
    if act in ("ask_fact", "explain"):
        focus = [last_recs[i] for i in ordinal_refs(text, len(last_recs))]
        focus += [i for i in ids if i not in focus]
        if not focus and (refers_back(text) or act == "explain"):
            focus = [i for i in last_focus][:1] or last_recs[:1]
    else:
        if _MORE_LIKE.search(low) and last_recs:
            for i in _resolve_one(text, last_recs, [], last_focus):
                items.setdefault(i, {"opinion": "liked", "source": "reference"})
        for m in mentions:
            if m.item_id in items or requested_directly(text, m.start):
                continue  # "recommend X" names X without an opinion of it: mentioned only
            neg = negative_near(text, m.start, m.end)
            if neg and aspect_only(text, m.start, m.end):
                update["people"] = {**(update.get("people") or {}), **cast_praised(toolkit, text, m.item_id)}
                continue  # "didn't like the ending of X, but loved the cast": no verdict on X
            items[m.item_id] = {"opinion": "disliked" if neg else "liked", "source": "linker"}
    if items:
        update["items"] = items
    if ids:
        update["mentioned"] = ids
    if act == "elicit" and not cue and not any(update.get(k) for k in _FACTS) and _OFF_TOPIC.search(low):
        act = "chitchat"  # "what's the weather like?": nothing to recommend from, nothing to keep
    if domain_spec(toolkit.domain).product_words and act in ("elicit", "recommend") and not same:
        kind = product_kind(toolkit, text, skip_words(ex))
        if kind:
            update["constraints"] = {**(update.get("constraints") or {}), "text": kind}
    if act in ("elicit", "recommend", "reject"):
        soft = clean_soft(text, [(m.start, m.end) for m in mentions] + year_spans)
        if soft:
            update["soft"] = [soft]
    reading = Reading(update=update, dialogue_act=act, cue=cue, focus=focus, mentioned=ids)  # type: ignore[arg-type]
    reading.asked = asked_field(text) if act == "ask_fact" else None
    return reading


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
