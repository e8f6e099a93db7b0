"""Grounded explanations and item facts for a turn (explainer tool, or a signal-based fallback)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from crsagent.agent.errors import ToolInputError
from crsagent.graphs.dialogue.belief import (
    Belief,
    disliked_ids,
    liked_genres,
    liked_ids,
    liked_people,
    merge_belief,
    resolved_constraints,
    soft_text,
)

if TYPE_CHECKING:  # pragma: no cover
    from crsagent.graphs.state import Candidate
    from crsagent.tools.toolkit import Toolkit

__all__ = [
    "evidence_dict",
    "make_evidence",
    "evidence_from_runtime",
    "explain",
    "item_facts",
    "signal_reason",
    "why_text",
]

_SIGNAL_WORDS = {
    "cf": "people with similar taste liked it",
    "vector": "it matches what you described",
    "intent": "it fits the mood of the conversation",
    "attr": "it has what you asked for",
    "popularity": "it is popular",
    "prior": "recommenders often suggest it",
    "trans": "it is often recommended after the movies you mentioned",
    "crew": "it shares its director or stars with the movies you mentioned",
    "content": "it resembles the titles you mentioned",
}


def evidence_dict(belief: Belief, candidates: Sequence[Candidate] = (), intent: str | None = None) -> dict[str, Any]:
    """The explainer's evidence as plain data (``tools.explain.schema.Evidence`` fields)."""
    c = resolved_constraints(belief)
    return {
        "liked_ids": liked_ids(belief)[::-1],
        "disliked_ids": disliked_ids(belief),
        "genres": liked_genres(belief),
        "people": liked_people(belief),
        "year_min": c.get("year_min"),
        "year_max": c.get("year_max"),
        "brands": [b for b, v in (belief.get("brands") or {}).items() if v == "like"],
        "soft_preferences": [soft_text(belief)] if soft_text(belief) else [],
        "intent": intent,
        "signals": {cand["item_id"]: dict(cand["signals"]) for cand in candidates},
    }


def make_evidence(belief: Belief, candidates: Sequence[Candidate] = (), intent: str | None = None) -> Any:
    """An ``Evidence`` for the explainer."""
    from crsagent.tools.explain.schema import Evidence

    return Evidence.model_validate(evidence_dict(belief, candidates, intent))


def evidence_from_runtime(runtime: Any) -> Any:
    """The explainer's evidence from the graph state that ``ToolNode`` injects into a tool call
    (``ToolRuntime.state``: the belief, the ranked candidates and the top latent intent); empty
    evidence outside a graph over ``CRSState``. The CRS graphs give it to ``toolkit.tools``."""
    state = getattr(runtime, "state", None)
    if not isinstance(state, dict):
        state = {}
    belief = merge_belief(state.get("belief"), {})
    return make_evidence(belief, state.get("candidates") or [], state.get("intent_label"))


def signal_reason(toolkit: Toolkit, cand: Candidate | None, item_id: str) -> str:
    """A plain reason from the strongest signals (used when there is no explainer)."""
    title = toolkit.title(item_id)
    if not cand:
        return ""
    sig = {k: v for k, v in cand["signals"].items() if k != "popularity" and v > 0}
    if not sig:
        return f"{title} is a popular choice that fits your constraints."
    best = sorted(sig, key=lambda k: -sig[k])[:2]
    return f"I picked {title} because " + " and ".join(_SIGNAL_WORDS[k] for k in best if k in _SIGNAL_WORDS) + "."


def explain(
    toolkit: Toolkit,
    item_ids: Sequence[str],
    belief: Belief,
    candidates: Sequence[Candidate] = (),
    intent: str | None = None,
) -> dict[str, str]:
    """Grounded explanations of items (the explainer's purchase reasons, else signal reasons)."""
    ids = [i for i in item_ids if toolkit.has(i)]
    if not ids:
        return {}
    by_id = {c["item_id"]: c for c in candidates}
    asked = [i for i in ids if candidates and i not in by_id]  # "why X?" about an earlier suggestion
    if asked:
        out = {i: why_text(toolkit, i, belief) for i in asked}
        rest = [i for i in ids if i not in out]
        return {**out, **(explain(toolkit, rest, belief, candidates, intent) if rest else {})}
    if toolkit.explainer is not None:
        try:
            evidence = make_evidence(belief, [by_id[i] for i in ids if i in by_id], intent)
            return {e.item_id: e.text for e in toolkit.explainer.explain_many(ids, evidence, "purchase_reason")}
        except ToolInputError:
            pass
    return {i: signal_reason(toolkit, by_id.get(i), i) for i in ids}


def item_facts(toolkit: Toolkit, item_ids: Sequence[str], plot_chars: int = 300) -> list[dict[str, Any]]:
    """The record facts of items, for answers (only fields that are set)."""
    out: list[dict[str, Any]] = []
    for i in item_ids:
        it = toolkit.item(i)
        if it is None:
            continue
        d: dict[str, Any] = {"item_id": i, "title": it.display_title}
        for key in ("year", "genres", "directors", "writers", "cast", "brand", "categories", "rating_mean"):
            v = getattr(it, key)
            if v not in (None, [], ""):
                d[key] = v[:4] if isinstance(v, list) else v
        if it.plot:
            d["plot"] = it.plot[:plot_chars] + ("..." if len(it.plot) > plot_chars else "")
        out.append(d)
    return out


def _shared(values: list[str], wanted: list[str]) -> list[str]:
    low = {w.lower() for w in wanted}
    return [v for v in values if v.lower() in low]


def why_text(toolkit: Toolkit, item_id: str, belief: Belief) -> str:
    """Why an earlier suggestion fits, for "why that one?": what it shares with the user's own
    wishes and liked items, then who is in it and what it is about (the record's facts that
    a recommendation line does not give)."""
    it = toolkit.item(item_id)
    if it is None:
        return ""
    reasons: list[str] = []
    genres = _shared(it.genres, liked_genres(belief))
    if genres:
        reasons.append("you asked for " + "/".join(genres[:2]))
    people = _shared(
        [*it.directors, *it.cast, *([it.brand] if it.brand else [])],
        liked_people(belief) + [b for b, v in (belief.get("brands") or {}).items() if v == "like"],
    )
    if people:
        reasons.append("you like " + " and ".join(people[:2]))
    c = resolved_constraints(belief)
    if it.year and (c.get("year_min") or c.get("year_max")):
        reasons.append(f"its year ({it.year}) is in the range you gave")
    for other in (toolkit.item(i) for i in liked_ids(belief)[::-1]):
        if other is None or other.item_id == item_id:
            continue
        crew = _shared([*it.directors, *it.cast[:4]], [*other.directors, *other.cast[:4]])
        if crew:
            reasons.append(f"{crew[0]} is in it as in {other.display_title}, which you liked")
            break
        common = _shared(it.genres, other.genres)
        if common:
            reasons.append(f"it is {'/'.join(common[:2])} like {other.display_title}, which you liked")
            break
    lead = (
        f"I picked {it.display_title} because " + "; ".join(reasons[:3]) + "."
        if reasons
        else (f"{it.display_title} ranked near the top for what you told me so far.")
    )
    extra: list[str] = []
    if it.cast:
        extra.append("It stars " + ", ".join(it.cast[:3]) + ".")
    elif it.brand:
        extra.append(f"It is made by {it.brand}.")
    plot = " ".join((it.plot or "").split())
    if plot:
        first = plot.split(". ")[0].rstrip(".")
        extra.append(("In short: " + first[:220]).rstrip() + ("..." if len(first) > 220 else "."))
    return " ".join([lead, *extra])
