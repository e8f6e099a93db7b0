"""Template replies: the crs-only voice, and the fallback whenever an LLM reply is unusable.

Every template is built only from the turn's data (candidates, facts, explanations, the
question), so a template reply is grounded by construction.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from crsagent.agent.domains import domain_spec

__all__ = ["template_reply"]


def _noun(domain: str) -> str:
    return domain_spec(domain).noun


def _recommend(recs: Sequence[Mapping[str, Any]], domain: str, closing: str = "") -> str:
    if not recs:
        return (
            f"I couldn't find a {_noun(domain)} that fits everything you asked for. "
            "Could you relax one of your wishes, for example the years or the genre?"
        )
    lines = [
        f"Here {'is' if len(recs) == 1 else 'are'} {'a suggestion' if len(recs) == 1 else 'some suggestions'} for you:"
    ]
    said: set[str] = set()
    for n, r in enumerate(recs, 1):
        why = str(r.get("explanation") or "").strip()
        sentences = [x for x in re.split(r"(?<=[.!?])\s+", why) if x and x not in said]
        said.update(sentences)  # an explanation sentence is said once per reply
        lines.append(f"{n}. {r['title']}" + (f" — {' '.join(sentences)}" if sentences else ""))
    lines.append(closing or "Would you like something different?")
    return "\n".join(lines)


def _answer(facts: Sequence[Mapping[str, Any]], lead: str = "") -> str:
    if not facts:
        return "Which one do you mean? Tell me the title and I'll look it up."
    out = [lead] if lead else []
    for f in facts:
        bits = [f["title"]]
        if f.get("genres"):
            bits.append("is a " + "/".join(f["genres"][:3]) + " title")
        people = []
        if f.get("directors"):
            people.append("directed by " + ", ".join(f["directors"][:2]))
        if f.get("cast"):
            people.append("starring " + ", ".join(f["cast"][:3]))
        if f.get("brand"):
            people.append("by " + f["brand"])
        sentence = " ".join(bits[:2]) + ((", " + ", ".join(people)) if people else "") + "."
        if f.get("rating_mean") is not None:
            sentence += f" It is rated {float(f['rating_mean']):.1f}/5 on MovieLens."
        if f.get("plot"):
            sentence += f" {f['plot']}"
        out.append(sentence)
    return "\n".join(out)


def _explain(recs: Sequence[Mapping[str, Any]]) -> str:
    if not recs:
        return "Which suggestion do you mean? Tell me its title or number."
    return "\n".join(str(r.get("explanation") or f"{r['title']} fits what you told me.") for r in recs)


def template_reply(
    action: str,
    *,
    domain: str,
    recommendations: Sequence[Mapping[str, Any]] = (),
    facts: Sequence[Mapping[str, Any]] = (),
    question: str = "",
) -> str:
    """A template reply for an action.

    Args:
        action: ``recommend``, ``elicit``, ``answer``, ``explain`` or ``chitchat``.
        domain: ``movies`` or ``office``.
        recommendations: items to name (``title`` and ``explanation``).
        facts: item facts for ``answer``.
        question: the elicitation question; for ``recommend`` the closing line, for ``answer``
            the lead sentence (the field asked for).
    """
    if action == "recommend":
        return _recommend(recommendations, domain, question)
    if action == "answer":
        return _answer(facts, question)
    if action == "explain":
        return _explain(recommendations)
    if action == "elicit":
        return question or f"Tell me about a {_noun(domain)} you enjoyed, or what you are looking for."
    return f"Happy to help you find a {_noun(domain)}! Tell me one you enjoyed, or what you're in the mood for."
