"""The belief state: what the agent believes the user wants, and how updates merge.

A belief is plain, JSON-able data so it can be checkpointed, shown to callers and tested.
Nodes never edit a belief; they return a partial *update* and :func:`merge_belief` (the
reducer of the ``belief`` channel) folds it in:

* keyed opinions (``genres``, ``people``, ``brands``, ``items``) and hard ``constraints`` are
  ordered dicts: an update's keys replace the old values and move to the end, so the latest
  statement wins and the order records recency;
* lists (``soft``, ``rejected``, ``mentioned``, ``recommended``, ``asked``) are ordered unions.

Both rules are associative and idempotent. Contradictions between constraints (a ``year_min``
after a ``year_max``) are kept in the data and settled when read (:func:`resolved_constraints`):
the bound stated last wins. An item carries exactly one opinion, so an item is never both liked
and disliked.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal

from typing_extensions import TypedDict  # pydantic (LangGraph Studio's schemas) needs it on Python < 3.12

from crsagent.tools.catalog.schema import ItemFilter

__all__ = [
    "Belief",
    "ItemOpinion",
    "Opinion",
    "ItemSource",
    "DICT_FIELDS",
    "LIST_FIELDS",
    "CONSTRAINT_KEYS",
    "merge_belief",
    "resolved_constraints",
    "liked_ids",
    "disliked_ids",
    "excluded_ids",
    "liked_genres",
    "disliked_genres",
    "liked_people",
    "belief_filter",
    "evidence_count",
    "soft_text",
    "belief_view",
]

Opinion = Literal["liked", "disliked", "corrected"]
ItemSource = Literal["linker", "llm", "user-reject", "profile", "reference", "correction"]
Polarity = Literal["like", "dislike"]


class ItemOpinion(TypedDict):
    """The user's opinion of one item and where the agent learnt it."""

    opinion: Opinion
    source: str


class Belief(TypedDict, total=False):
    """The belief state (every field optional; an empty dict is the empty belief).

    Attributes:
        constraints: hard constraints: ``year_min``, ``year_max``, ``min_rating``, ``brand``,
            ``text`` (office: the kind of product, words its title or description contains)
            (None clears a constraint); read them with :func:`resolved_constraints`.
        genres: genre -> ``like`` / ``dislike`` (liked genres filter with "any", disliked exclude).
        people: person -> ``like`` / ``dislike`` (soft: they boost or lower the ranking).
        brands: brand -> ``like`` / ``dislike`` (office; the last liked brand is a hard constraint).
        items: item id -> opinion and source (``linker``, ``llm``, ``user-reject``, ``profile``,
            ``reference`` for "more like the first", ``correction``); ``corrected`` marks an
            item the agent misread and the user corrected (neither liked nor disliked).
        soft: soft preferences as the user's own words, oldest first.
        rejected: recommendations the user rejected; never recommended again.
        mentioned: items anyone mentioned in the dialogue; not recommended again.
        recommended: items the agent recommended so far.
        asked: attributes the agent already asked about.
    """

    constraints: dict[str, Any]
    genres: dict[str, Polarity]
    people: dict[str, Polarity]
    brands: dict[str, Polarity]
    items: dict[str, ItemOpinion]
    soft: list[str]
    rejected: list[str]
    mentioned: list[str]
    recommended: list[str]
    asked: list[str]


DICT_FIELDS: tuple[str, ...] = ("constraints", "genres", "people", "brands", "items")
LIST_FIELDS: tuple[str, ...] = ("soft", "rejected", "mentioned", "recommended", "asked")
CONSTRAINT_KEYS: tuple[str, ...] = ("year_min", "year_max", "min_rating", "brand", "text")
SOFT_KEEP = 5  # soft-preference texts used when reading


def _merge_dict(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in old.items() if k not in new}
    out.update(new)
    return out


def _merge_list(old: Iterable[Any], new: Iterable[Any]) -> list[Any]:
    out: list[Any] = []
    seen: set[Any] = set()
    for x in (*old, *new):
        if x not in seen:
            out.append(x)
            seen.add(x)
    return out


def merge_belief(old: Belief | None, new: Belief | None) -> Belief:
    """The ``belief`` channel's reducer: fold an update into a belief (pure).

    Args:
        old: the current belief (None is empty).
        new: a partial update (None or empty changes nothing).

    Returns:
        A new belief; neither argument is modified.
    """
    prev: Mapping[str, Any] = old or {}
    upd: Mapping[str, Any] = new or {}
    out: dict[str, Any] = {}
    for f in DICT_FIELDS:
        if f in prev or f in upd:
            out[f] = _merge_dict(prev.get(f) or {}, upd.get(f) or {})
    for f in LIST_FIELDS:
        if f in prev or f in upd:
            out[f] = _merge_list(prev.get(f) or [], upd.get(f) or [])
    return out  # type: ignore[return-value]


def resolved_constraints(belief: Belief) -> dict[str, Any]:
    """The hard constraints with contradictions settled (the bound stated last wins).

    Returns:
        Only set constraints; ``year_min <= year_max`` always holds.
    """
    raw = belief.get("constraints") or {}
    out = {k: v for k, v in raw.items() if k in CONSTRAINT_KEYS and v is not None}
    lo, hi = out.get("year_min"), out.get("year_max")
    if lo is not None and hi is not None and lo > hi:
        order = list(raw)
        if order.index("year_min") > order.index("year_max"):
            del out["year_max"]
        else:
            del out["year_min"]
    return out


def _opinion_ids(belief: Belief, opinion: Opinion) -> list[str]:
    return [i for i, o in (belief.get("items") or {}).items() if o.get("opinion") == opinion]


def liked_ids(belief: Belief) -> list[str]:
    """Liked item ids, oldest statement first."""
    return _opinion_ids(belief, "liked")


def disliked_ids(belief: Belief) -> list[str]:
    """Disliked item ids, oldest statement first."""
    return _opinion_ids(belief, "disliked")


def excluded_ids(belief: Belief) -> list[str]:
    """Items never to recommend: any item with an opinion, rejected, mentioned or recommended."""
    return _merge_list(
        _merge_list(list(belief.get("items") or {}), belief.get("rejected") or []),
        _merge_list(belief.get("mentioned") or [], belief.get("recommended") or []),
    )


def _polar(d: Mapping[str, str] | None, pol: str) -> list[str]:
    return [k for k, v in (d or {}).items() if v == pol]


def liked_genres(belief: Belief) -> list[str]:
    """Genres the user asked for."""
    return _polar(belief.get("genres"), "like")


def disliked_genres(belief: Belief) -> list[str]:
    """Genres the user does not want."""
    return _polar(belief.get("genres"), "dislike")


def liked_people(belief: Belief) -> list[str]:
    """People (directors, actors ...) the user likes."""
    return _polar(belief.get("people"), "like")


def belief_filter(
    belief: Belief, *, exclude: bool = True, genres_hard: bool = True, people_hard: bool = False
) -> ItemFilter:
    """The hard constraints as an :class:`ItemFilter`.

    Args:
        belief: the belief.
        exclude: also exclude every item in :func:`excluded_ids`.
        genres_hard: liked genres filter (an item needs one of them); False leaves them to ranking.
        people_hard: the person liked most recently filters (the item must involve them).
    """
    c = resolved_constraints(belief)
    liked_brands = _polar(belief.get("brands"), "like")
    people = liked_people(belief)
    return ItemFilter(
        people=people[-1:] if people_hard else [],
        genres_any=liked_genres(belief) if genres_hard else [],
        exclude_genres=[g for g in disliked_genres(belief)],
        year_min=c.get("year_min"),
        year_max=c.get("year_max"),
        min_rating=c.get("min_rating"),
        brand=c.get("brand") or (liked_brands[-1] if liked_brands else None),
        text_contains=c.get("text"),
        exclude_brands=_polar(belief.get("brands"), "dislike"),
        exclude_ids=excluded_ids(belief) if exclude else [],
    )


def evidence_count(belief: Belief) -> tuple[int, int]:
    """(number of liked items, number of constraints incl. genres, people and brands)."""
    c = resolved_constraints(belief)
    n_constraints = (
        len(c)
        + len(belief.get("genres") or {})
        + len(liked_people(belief))
        + len(belief.get("brands") or {})
        + (1 if belief.get("soft") else 0)
    )
    return len(liked_ids(belief)), n_constraints


def soft_text(belief: Belief) -> str:
    """Soft preferences as one query text (the latest few statements).

    A statement that names a person or genre the user has since turned down is left out
    (the latest statement wins: "a Nolan film" ... "no more Nolan").
    """
    bad = [p.split()[-1].lower() for p, v in (belief.get("people") or {}).items() if v == "dislike"]
    bad += [g.lower() for g in disliked_genres(belief)]
    kept = [s for s in belief.get("soft") or [] if not any(b and b in s.lower() for b in bad)]
    return " ".join(kept[-SOFT_KEEP:]).strip()


def belief_view(belief: Belief) -> dict[str, Any]:
    """A caller-facing summary of the belief (for ``TurnResult.belief``)."""
    items = belief.get("items") or {}
    return {
        "constraints": resolved_constraints(belief),
        "genres_liked": liked_genres(belief),
        "genres_disliked": disliked_genres(belief),
        "people_liked": liked_people(belief),
        "people_disliked": _polar(belief.get("people"), "dislike"),
        "brands": dict(belief.get("brands") or {}),
        "liked": [{"item_id": i, "source": items[i]["source"]} for i in liked_ids(belief)],
        "disliked": [{"item_id": i, "source": items[i]["source"]} for i in disliked_ids(belief)],
        "soft": list(belief.get("soft") or []),
        "rejected": list(belief.get("rejected") or []),
        "mentioned": list(belief.get("mentioned") or []),
        "recommended": list(belief.get("recommended") or []),
        "asked": list(belief.get("asked") or []),
    }
