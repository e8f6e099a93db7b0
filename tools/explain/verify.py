"""The fact checker: every year, genre, rating and name a text states must be in the record.

:func:`verify` checks a text about one item against that item's record; the graph also runs it
on explanations the LLM writes. :func:`verify_summary` checks a user summary against the
evidence and the liked items' records. Both return human-readable violations (empty: passed).

Strings in ``allowed`` (titles of the user's liked items, quoted record text, the user's own
words) are masked before checking: they are grounded by where they come from.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from crsagent.tools.catalog.schema import Item
from crsagent.tools.explain.lexicon import (
    canonical_genre,
    find_decades,
    find_genres,
    find_names,
    find_rating_counts,
    find_ratings,
    find_years,
    norm_name,
)
from crsagent.tools.explain.schema import Evidence

__all__ = ["GroundTruth", "ground_truth_of", "verify", "verify_reply", "verify_summary", "check_text"]

_ROLES = ("directors", "writers", "cast")
_MASK = " \u2016 "  # a non-word separator: masked text never joins neighbouring words


@dataclass
class GroundTruth:
    """The checkable facts of a record (or of a user's evidence).

    Attributes:
        label: what is checked, for messages (an item's display title, or "the user profile").
        years: years that may be stated.
        genres: canonical genres that may be stated.
        people: role -> names (``directors``, ``writers``, ``cast``).
        others: other names that may appear (brands).
        haystack: record text (title, plot, categories); a name found in it is grounded.
        rating_mean: the mean rating, None when unrated (then no rating may be stated).
        rating_count: the number of ratings.
    """

    label: str
    years: set[int] = field(default_factory=set)
    genres: set[str] = field(default_factory=set)
    people: dict[str, list[str]] = field(default_factory=lambda: {r: [] for r in _ROLES})
    others: list[str] = field(default_factory=list)
    haystack: str = ""
    rating_mean: float | None = None
    rating_count: int | None = None


def ground_truth_of(item: Item) -> GroundTruth:
    """The checkable facts of one catalogue item."""
    text = " \n ".join([item.title, item.plot, " ".join(item.categories), item.brand or ""])
    years = {item.year} if item.year else set()
    years |= set(find_years(item.plot))  # a year the record's own text states
    return GroundTruth(
        label=item.display_title,
        years=years,
        genres={canonical_genre(g) for g in item.genres},
        people={"directors": list(item.directors), "writers": list(item.writers), "cast": list(item.cast)},
        others=[item.brand] if item.brand else [],
        haystack=norm_name(text),
        rating_mean=item.rating_mean,
        rating_count=item.rating_count,
    )


def _mask(text: str, allowed: Iterable[str]) -> str:
    """Replace every whole-word occurrence of an allowed string (longest first) by a separator."""
    strings = sorted({a.strip().lower() for a in allowed if a and a.strip()}, key=len, reverse=True)
    low = text.lower()
    if not strings:
        return text
    if len(low) != len(text):  # a case mapping changed the length: fall back to a regex
        pattern = r"(?<!\w)(?:" + "|".join(re.escape(s) for s in strings) + r")(?!\w)"
        return re.sub(pattern, _MASK, text, flags=re.IGNORECASE)
    taken = [False] * len(text)
    spans: list[tuple[int, int]] = []
    for s in strings:
        start = low.find(s)
        while start >= 0:
            end = start + len(s)
            free = not any(taken[start:end])
            bounded = (start == 0 or not _is_word(low[start - 1])) and (end == len(low) or not _is_word(low[end]))
            if free and bounded:
                spans.append((start, end))
                taken[start:end] = [True] * (end - start)
            start = low.find(s, start + 1)
    out, pos = [], 0
    for start, end in sorted(spans):
        out.append(text[pos:start])
        out.append(_MASK)
        pos = end
    out.append(text[pos:])
    return "".join(out)


def _is_word(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def _name_matches(span: str, names: Iterable[str]) -> bool:
    """A span names a person when its words are a run of the name's words.

    "Jennifer Kent", "Kent" and "Jennifer" name Jennifer Kent; "Jennifer Lopez" does not. A
    span of three or more words also matches when a run of at least two of its words does,
    after dropping at most two words at its ends ("Classic Stanley Kubrick").
    """
    words = norm_name(span).split()
    if not words:
        return False
    targets = [f" {norm_name(n)} " for n in names]
    runs = [words]
    if len(words) >= 3:
        runs += [words[a : len(words) - b] for a in range(3) for b in range(3 - a) if len(words) - a - b >= 2]
    return any(f" {' '.join(run)} " in t for run in runs for t in targets)


def check_text(text: str, truth: GroundTruth, allowed: Iterable[str] = ()) -> list[str]:
    """Check a text against a :class:`GroundTruth`.

    Args:
        text: the text to check.
        truth: the facts that may be stated.
        allowed: strings masked before checking (grounded elsewhere).

    Returns:
        One message per unsupported statement; empty when the text passes.
    """
    masked = _mask(text, allowed)
    problems: list[str] = []
    for y in find_years(masked):
        if y not in truth.years:
            known = sorted(truth.years) or "none"
            problems.append(f"year {y} is not in the record of {truth.label} (years: {known})")
    for d in find_decades(masked):
        if not any(d <= y < d + 10 for y in truth.years):
            problems.append(f"the {d}s do not match the record of {truth.label}")
    names_masked = _mask(masked, [n for r in _ROLES for n in truth.people.get(r, [])] + truth.others)
    for g in find_genres(names_masked):  # "directed by Thriller Manju" claims no genre
        if g not in truth.genres:
            problems.append(f"genre '{g}' is not a genre of {truth.label} (genres: {sorted(truth.genres)})")
    for r in find_ratings(masked):
        if truth.rating_mean is None or abs(r - truth.rating_mean) > 0.051:
            problems.append(f"rating {r}/5 does not match the record of {truth.label} ({truth.rating_mean})")
    for c in find_rating_counts(masked):
        if truth.rating_count is None or c != truth.rating_count:
            problems.append(f"{c} ratings does not match the record of {truth.label} ({truth.rating_count})")
    everyone = [n for r in _ROLES for n in truth.people.get(r, [])] + truth.others
    for span in find_names(masked):
        if span.role in _ROLES:
            if not _name_matches(span.text, truth.people.get(span.role, []) + truth.others):
                role = span.role.rstrip("s") if span.role != "cast" else "cast member"
                problems.append(f"'{span.text}' is not a {role} of {truth.label}")
            continue
        if _name_matches(span.text, everyone):
            continue
        if _name_matches(span.text, [truth.haystack]):
            continue
        problems.append(f"name '{span.text}' is not in the record of {truth.label}")
    return problems


def verify(text: str, item: Item, allowed: Iterable[str] = ()) -> list[str]:
    """Check that every year, genre, rating and name in ``text`` is in ``item``'s record.

    The item's own title is always allowed. Use ``allowed`` for the titles of the user's liked
    items and other strings the text quotes from elsewhere.

    Args:
        text: an explanation (generated or LLM-written).
        item: the item it is about.
        allowed: strings grounded elsewhere, masked before checking.

    Returns:
        Violations (empty when the text passes).
    """
    return check_text(text, ground_truth_of(item), [item.display_title, item.title, *allowed])


def verify_reply(text: str, items: Iterable[Item], allowed: Iterable[str] = ()) -> list[str]:
    """Check a reply that talks about several items against the union of their records.

    Weaker than :func:`verify` per item (a year of one item stated about another passes), but
    it catches what no recommended item supports: an invented year, genre, rating or name.

    Args:
        text: the reply.
        items: the items the reply may talk about (the recommended ones).
        allowed: further grounded strings (liked titles, the user's words).

    Returns:
        Violations (empty when the text passes).
    """
    items = list(items)
    truth = GroundTruth(label=" / ".join(i.display_title for i in items) or "no item")
    parts = [ground_truth_of(i) for i in items]
    for p in parts:
        truth.years |= p.years
        truth.genres |= p.genres
        for r in _ROLES:
            truth.people[r].extend(p.people[r])
        truth.others.extend(p.others)
    truth.haystack = " \n ".join(p.haystack for p in parts)
    rated = [i for i in items if i.rating_mean is not None]
    if len(rated) == 1:
        truth.rating_mean, truth.rating_count = rated[0].rating_mean, rated[0].rating_count
    quoted = [t for i in items for t in (i.display_title, i.title)]
    problems = check_text(text, truth, [*quoted, *allowed])
    if len(rated) > 1:  # several ratings: accept any item's
        ok_r = {round(i.rating_mean, 1) for i in rated}  # type: ignore[arg-type]
        ok_c = {i.rating_count for i in rated}
        problems = [p for p in problems if not _rating_ok(p, ok_r, ok_c)]
    return problems


def _rating_ok(problem: str, ratings: set[float], counts: set[int]) -> bool:
    m = re.match(r"rating ([\d.]+)/5 does not match", problem)
    if m:
        return any(abs(float(m.group(1)) - r) <= 0.051 for r in ratings)
    m = re.match(r"(\d+) ratings does not match", problem)
    return m is not None and int(m.group(1)) in counts


def verify_summary(text: str, evidence: Evidence, liked: Iterable[Item] = (), allowed: Iterable[str] = ()) -> list[str]:
    """Check a user summary against the evidence and the records of the liked items.

    Args:
        text: the summary.
        evidence: the user's evidence (genres, people, year bounds, intent, soft preferences).
        liked: records of the liked items (their titles, years, genres and people are allowed).
        allowed: further grounded strings.

    Returns:
        Violations (empty when the text passes).
    """
    liked = list(liked)
    truth = GroundTruth(label="the user profile")
    truth.years = {y for y in (evidence.year_min, evidence.year_max) if y} | {i.year for i in liked if i.year}
    truth.genres = {canonical_genre(g) for g in evidence.genres} | {canonical_genre(g) for i in liked for g in i.genres}
    for r in _ROLES:  # the user named people without roles: any role may be stated
        truth.people[r].extend(evidence.people)
        for i in liked:
            truth.people[r].extend(getattr(i, r))
    truth.others = list(evidence.brands) + [i.brand for i in liked if i.brand]
    truth.haystack = norm_name(" \n ".join([*evidence.soft_preferences, evidence.intent or ""]))
    quoted = [*(i.display_title for i in liked), *(i.title for i in liked), *evidence.soft_preferences]
    if evidence.intent:
        quoted.append(evidence.intent)
    return check_text(text, truth, [*quoted, *allowed])
