"""Needs elicitation: which attribute to ask about next.

The agent asks about the attribute whose answer tells it the most about the current
candidates: the one with the highest entropy of its value distribution over the top candidates
(the expected information gain of a question whose answer fixes the attribute's value equals
that entropy). Values beyond the ``TOP_VALUES`` most common share one "other" bucket, so an
attribute with a long tail of rare values (directors) does not win by being scattered.
Attributes already asked, or already constrained, are skipped.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from crsagent.agent.domains import domain_spec
from crsagent.graphs.dialogue.belief import Belief, resolved_constraints

if TYPE_CHECKING:  # pragma: no cover
    from crsagent.tools.catalog.schema import Item

__all__ = [
    "ATTRIBUTES",
    "TOP_VALUES",
    "Question",
    "attribute_values",
    "bucketed_entropy",
    "choose_question",
    "question_text",
    "closing_text",
    "answer_lead",
    "UNRECORDED",
]

#: Attributes the agent may ask about, per domain.
ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "movies": ("genre", "decade", "director", "actor"),
    "office": ("brand", "category"),
}
TOP_VALUES = 8


@dataclass(frozen=True)
class Question:
    """An elicitation question.

    Attributes:
        attribute: what is asked.
        entropy: the information gain (bits) over the candidates.
        options: the most common values among the candidates, for the question text.
    """

    attribute: str
    entropy: float
    options: tuple[str, ...]


def attribute_values(item: Item, attribute: str) -> list[str]:
    """An item's values of an attribute (empty when it has none)."""
    if attribute == "genre":
        return list(item.genres)
    if attribute == "decade":
        return [f"{item.year // 10 * 10}s"] if item.year else []
    if attribute == "director":
        return list(item.directors[:1])
    if attribute == "actor":
        return list(item.cast[:2])
    if attribute == "brand":
        return [item.brand] if item.brand else []
    if attribute == "category":
        return list(item.categories[-1:])
    return []


def bucketed_entropy(values: Iterable[Sequence[str]], top: int = TOP_VALUES) -> tuple[float, tuple[str, ...]]:
    """Entropy (bits) of a value distribution with the tail in one bucket.

    Args:
        values: each candidate's values (a multi-valued attribute counts every value).
        top: how many most common values keep their own bucket.

    Returns:
        (entropy, the most common values, best first). Items without a value do not count.
    """
    counts = Counter(v for vs in values for v in vs)
    total = sum(counts.values())
    if total == 0:
        return 0.0, ()
    common = counts.most_common(top)
    rest = total - sum(c for _, c in common)
    probs = [c / total for _, c in common] + ([rest / total] if rest else [])
    h = -sum(p * math.log2(p) for p in probs if p > 0)
    return h, tuple(v for v, _ in common)


def _constrained(belief: Belief) -> set[str]:
    c = resolved_constraints(belief)
    out: set[str] = set()
    if belief.get("genres"):
        out.add("genre")
    if "year_min" in c or "year_max" in c:
        out.add("decade")
    if belief.get("people"):
        out.update({"director", "actor"})
    if belief.get("brands") or "brand" in c:
        out.add("brand")
    return out


def choose_question(domain: str, items: Sequence[Item], belief: Belief) -> Question | None:
    """The most informative question about the candidates, or None when nothing is left to ask.

    Args:
        domain: ``movies`` or ``office``.
        items: the current top candidates.
        belief: the belief (asked and constrained attributes are skipped).
    """
    skip = set(belief.get("asked") or []) | _constrained(belief)
    best: Question | None = None
    for attr in ATTRIBUTES.get(domain, ()):
        if attr in skip:
            continue
        h, opts = bucketed_entropy(attribute_values(it, attr) for it in items)
        if h > 0 and (best is None or h > best.entropy + 1e-9):
            best = Question(attr, round(h, 4), opts[:3])
    return best


def question_text(q: Question, domain: str) -> str:
    """The question as the agent asks it."""
    noun = domain_spec(domain).noun
    opts = ", ".join(q.options[:-1]) + (f" or {q.options[-1]}" if len(q.options) > 1 else "".join(q.options))
    hint = f" For example {opts}?" if opts else ""
    if q.attribute == "genre":
        return f"What kind of {noun} are you in the mood for?{hint}"
    if q.attribute == "decade":
        return f"Do you prefer newer or older {noun}s — which era?{hint}"
    if q.attribute in ("director", "actor"):
        return f"Is there {'an' if q.attribute == 'actor' else 'a'} {q.attribute} you especially like?{hint}"
    if q.attribute == "brand":
        return f"Do you have a favourite brand?{hint}"
    return f"Which {q.attribute} are you looking for?{hint}"


#: What to say when asked about an attribute the catalogue does not record.
UNRECORDED: dict[str, str] = {
    "runtime": "I don't have running times in my catalogue",
    "price": "I don't have prices in my catalogue",
}


_INVITES: tuple[str, ...] = (
    "Does one of these appeal to you? Ask me why, or about any of them.",
    "Tell me which one sounds good, or what to change.",
    "Shall I keep going, or should I change something — the years or the genre?",
)


def closing_text(
    q: Question | None, domain: str, belief: Belief, unavailable: Sequence[str] = (), avoid: str = ""
) -> str:
    """The closing line of a recommendation: a note on what cannot be compared, then the most
    informative question left (or, with nothing left to ask, an invitation that fits the state)."""
    note = " ".join(f"{UNRECORDED[a]}, so I can't compare on that." for a in unavailable if a in UNRECORDED)
    if q is not None:
        ask = "To narrow it down: " + question_text(q, domain)[0].lower() + question_text(q, domain)[1:]
    else:
        start = 2 if belief.get("rejected") else 0
        order = [_INVITES[(start + k) % len(_INVITES)] for k in range(len(_INVITES))]
        ask = next(t for t in order if t not in avoid)
    return (note + " " + ask).strip()


def answer_lead(item: Item | None, field: str | None) -> str:
    """The first sentence of an answer: the field asked for, or that the record lacks it."""
    if item is None or field is None:
        return ""
    title = item.display_title
    if field in UNRECORDED:
        return f"{UNRECORDED[field]}, so I can't tell you that about {title}."
    value: Any = {
        "directors": item.directors,
        "cast": item.cast[:3],
        "year": item.year,
        "genres": item.genres[:3],
        "brand": item.brand,
    }.get(field)
    if field == "plot" or value in (None, [], ""):
        return "" if field == "plot" else f"My catalogue does not list the {field.rstrip('s')} of {title}."
    names = ", ".join(value) if isinstance(value, list) else str(value)
    return {
        "directors": f"{title} was directed by {names}.",
        "cast": f"{title} stars {names}.",
        "year": f"{item.title} came out in {names}.",
        "genres": f"{title} is {names.replace(', ', '/')}.",
        "brand": f"{title} is made by {names}.",
    }[field]
