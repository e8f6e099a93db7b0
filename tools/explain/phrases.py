"""Sentence builders for explanations. Each returns ``(sentence, facts, allowed)``.

Every value a sentence states comes from an :class:`~crsagent.tools.catalog.schema.Item`
field or from the :class:`~crsagent.tools.explain.schema.Evidence`, and is listed in ``facts``;
``allowed`` holds strings quoted from elsewhere (a liked item's title, the user's own words,
a verbatim piece of the record's plot) that the fact checker masks.
"""

from __future__ import annotations

import re
from collections.abc import Set as AbstractSet

from crsagent.agent.domains import MOVIES, domain_spec
from crsagent.tools.catalog.schema import Item
from crsagent.tools.explain.lexicon import canonical_genre
from crsagent.tools.explain.schema import Evidence, Fact

__all__ = [
    "Sentence",
    "join",
    "describe",
    "neighbour_cf",
    "neighbour_content",
    "intent",
    "soft_match",
    "rating",
    "quote",
    "summary",
]

Sentence = tuple[str, list[Fact], list[str]]
_GENRE_WORD = {"children": "children's", "film-noir": "noir", "sci-fi": "sci-fi"}


def join(words: list[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    words = [w for w in words if w]
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeio" or word.startswith(("8", "18")) else "a"


def _genre_phrase(genres: list[str]) -> str:
    return "/".join(_GENRE_WORD.get(g, g) for g in genres)


def _matched_genres(item: Item, ev: Evidence) -> list[str]:
    wanted = {canonical_genre(g) for g in ev.genres}
    return [g for g in item.genres if canonical_genre(g) in wanted]


def _matched_people(item: Item, ev: Evidence) -> dict[str, list[str]]:
    wanted = {p.casefold() for p in ev.people}
    return {
        r: [p for p in getattr(item, r) if p.casefold() in wanted or p.split()[-1].casefold() in wanted]
        for r in ("directors", "writers", "cast")
    }


def describe(item: Item, ev: Evidence | None = None, prefer: AbstractSet[str] = frozenset()) -> tuple[Sentence, int]:
    """``<Title> is a 2014 horror film directed by Jennifer Kent.`` with the matched facts first.

    Args:
        item: the item.
        ev: the evidence; genres and people it names are stated first.
        prefer: canonical genres to state when the evidence names none of the item's
            (the liked items' genres).

    Returns:
        The sentence and how many of its facts match the evidence (its strength).
    """
    ev = ev or Evidence()
    facts: list[Fact] = []
    matches = 0
    if domain_spec(item.domain).product_words:
        text = f"{item.title} is a product"
        if item.brand:
            text += f" from {item.brand}"
            facts.append(Fact(field="brand", value=item.brand))
            matches += int(any(b.casefold() == item.brand.casefold() for b in ev.brands))
        if item.categories:
            text += f" in {item.categories[-1]}"
            facts.append(Fact(field="categories", value=item.categories[-1]))
        return (text + ".", facts, []), matches
    genres = _matched_genres(item, ev)
    matches += len(genres)
    genres = genres or [g for g in item.genres if canonical_genre(g) in prefer][:2] or item.genres[:2]
    people = _matched_people(item, ev)
    matches += sum(len(v) for v in people.values())
    directors = people["directors"] or item.directors[:1]
    parts = []
    if item.year:
        parts.append(str(item.year))
        facts.append(Fact(field="year", value=item.year))
    if genres:
        parts.append(_genre_phrase(genres))
        facts.extend(Fact(field="genres", value=g) for g in genres)
    parts.append("film")
    text = f"{item.title} is {_article(parts[0])} {' '.join(parts)}"
    writers = [w for w in people["writers"] if w not in directors]
    if directors:
        both = bool(people["writers"]) and all(d in people["writers"] for d in directors)
        text += f" {'written and directed' if both else 'directed'} by {join(directors)}"
        facts.extend(Fact(field="directors", value=d) for d in directors)
        if both:
            facts.extend(Fact(field="writers", value=d) for d in directors)
    if people["cast"]:
        text += f", starring {join(people['cast'])}"
        facts.extend(Fact(field="cast", value=c) for c in people["cast"])
    if writers:
        text += f", written by {join(writers)}"
        facts.extend(Fact(field="writers", value=w) for w in writers)
    if item.year and ev.year_ok(item.year):
        text += ", which fits the years you asked for"
        matches += 1
    return (text + ".", facts, []), matches


def neighbour_cf(item: Item, liked: Item) -> Sentence:
    """``Because you liked X: viewers who enjoyed it also enjoyed Y.`` (a CF neighbour)."""
    who = domain_spec(item.domain).also_phrase
    text = f"Because you liked {liked.display_title}: {who} {item.title}."
    return text, [Fact(field="liked_neighbour", value=liked.display_title, source="cf")], [liked.display_title]


def neighbour_content(item: Item, liked: Item) -> Sentence | None:
    """``Like X, which you liked, it was directed by D.`` (shared director or genres), or None."""
    shared_dir = [d for d in item.directors if d in liked.directors]
    facts = [Fact(field="liked_neighbour", value=liked.display_title, source="evidence")]
    if shared_dir:
        facts.append(Fact(field="directors", value=shared_dir[0]))
        text = f"Like {liked.display_title}, which you liked, it was directed by {shared_dir[0]}."
        return text, facts, [liked.display_title]
    liked_genres = {canonical_genre(g) for g in liked.genres}
    shared = [g for g in item.genres if canonical_genre(g) in liked_genres][:2]
    if not shared or not domain_spec(item.domain).genre_likeness:
        return None
    facts.extend(Fact(field="genres", value=g) for g in shared)
    genre = _genre_phrase(shared)
    text = f"Like {liked.display_title}, which you liked, it is {_article(genre)} {genre} film."
    return text, facts, [liked.display_title]


def intent(label: str) -> Sentence:
    """``It suits your current taste for "<intent>".``"""
    return (
        f'It suits your current taste for "{label}".',
        [Fact(field="intent", value=label, source="evidence")],
        [label],
    )


def soft_match(pref: str) -> Sentence:
    """``It came up as a close match for what you described ("...").``"""
    return (
        f'It came up as a close match for what you described ("{pref}").',
        [Fact(field="soft_preference", value=pref, source="evidence")],
        [pref],
    )


def rating(item: Item) -> Sentence | None:
    """``MovieLens users rate it 3.9/5 across 120 ratings.``, or None when unrated."""
    if item.rating_mean is None or item.rating_count <= 0:
        return None
    text = f"MovieLens users rate it {item.rating_mean:.1f}/5 across {item.rating_count} ratings."
    return (
        text,
        [
            Fact(field="rating_mean", value=round(item.rating_mean, 1)),
            Fact(field="rating_count", value=item.rating_count),
        ],
        [],
    )


def quote(item: Item, limit: int = 240) -> Sentence | None:
    """The first sentence(s) of the plot or description, verbatim, cut at a word under ``limit``."""
    plot = " ".join(item.plot.split())
    if not plot:
        return None
    parts = re.split(r"(?<=[.!?])\s+", plot)
    if len(parts) > 1 and parts[0].casefold().startswith(item.title.casefold()[:40]):
        parts = parts[1:]  # office descriptions often open with the title again
    text = parts[0]
    for p in parts[1:]:
        if len(text) + 1 + len(p) > limit:
            break
        text += " " + p
    if len(text) > limit:
        text = text[:limit].rsplit(" ", 1)[0]
        return text + "\u2026", [Fact(field="plot", value=text)], [text]
    return text, [Fact(field="plot", value=text)], [text]


def summary(ev: Evidence, liked: list[Item], disliked: list[Item]) -> list[Sentence]:
    """Sentences of a user summary (REGEN), each from the evidence or a liked item's record."""
    specs = [domain_spec(i.domain) for i in liked + disliked]
    spec = next((s for s in specs if s.product_words), specs[0] if specs else MOVIES)
    out: list[Sentence] = []
    if liked:
        titles = [i.display_title for i in liked[:4]]
        verb = spec.liked_verb
        out.append(
            (f"You {verb} {join(titles)}.", [Fact(field="liked", value=t, source="evidence") for t in titles], titles)
        )
    if disliked:
        titles = [i.display_title for i in disliked[:3]]
        out.append(
            (
                f"You did not care for {join(titles)}.",
                [Fact(field="disliked", value=t, source="evidence") for t in titles],
                titles,
            )
        )
    want: list[str] = []
    facts: list[Fact] = []
    if ev.genres:
        want.append(f"{_genre_phrase(ev.genres)} {spec.plural}")
        facts.extend(Fact(field="genres", value=g, source="evidence") for g in ev.genres)
    if ev.people:
        want.append(f"work by {join(ev.people)}")
        facts.extend(Fact(field="people", value=p, source="evidence") for p in ev.people)
    if ev.brands:
        want.append(f"products from {join(ev.brands)}")
        facts.extend(Fact(field="brands", value=b, source="evidence") for b in ev.brands)
    if not want and (ev.year_min or ev.year_max):
        want.append(spec.plural)
    if want:
        years = ""
        if ev.year_min and ev.year_max:
            years = f", released between {ev.year_min} and {ev.year_max}"
        elif ev.year_min:
            years = f", released in {ev.year_min} or later"
        elif ev.year_max:
            years = f", released in {ev.year_max} or earlier"
        facts.extend(
            Fact(field=k, value=v, source="evidence")
            for k, v in (("year_min", ev.year_min), ("year_max", ev.year_max))
            if v
        )
        out.append((f"You are looking for {join(want)}{years}.", facts, []))
    if ev.soft_preferences:
        prefs = ev.soft_preferences[:3]
        out.append(
            (
                f"In your words: {join([repr(p) for p in prefs])}.",
                [Fact(field="soft_preference", value=p, source="evidence") for p in prefs],
                prefs,
            )
        )
    if ev.intent:
        out.append(
            (
                f'Your current taste: "{ev.intent}".',
                [Fact(field="intent", value=ev.intent, source="evidence")],
                [ev.intent],
            )
        )
    return out
