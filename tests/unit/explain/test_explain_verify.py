"""The fact checker: generated explanations pass it; planted false facts do not."""

from __future__ import annotations

import random

import pytest

from crsagent.tools.explain import Evidence, Explainer, verify, verify_reply, verify_summary
from crsagent.tools.explain.lexicon import find_genres, find_names

BABADOOK, IT_FOLLOWS, SHINING, SPACE_ODYSSEY = "tt2321549", "tt3235888", "tt0081505", "tt0062622"


def _sample(catalog, n: int, seed: int):
    rnd = random.Random(seed)
    return rnd.sample(sorted(catalog.items.values(), key=lambda i: i.item_id), n)


def _evidence_for(item, catalog, rnd: random.Random) -> Evidence:
    others = rnd.sample(sorted(catalog.items), 3)
    return Evidence(
        liked_ids=others,
        genres=item.genres[:1] + ["horror"],
        people=item.directors[:1] + item.cast[:1],
        brands=[item.brand] if item.brand else [],
        year_min=item.year - 2 if item.year else None,
        soft_preferences=["something creepy"],
        intent="dark psychological stories",
        signals={item.item_id: {"vector": 0.6, "cf": 0.3, "intent": 0.2, "popularity": 0.1}},
    )


@pytest.mark.parametrize("domain", ["movies", "office"])
def test_every_generated_explanation_passes_verify(domain, movie_catalog, office_catalog):
    catalog = movie_catalog if domain == "movies" else office_catalog
    explainer = Explainer(catalog)
    rnd = random.Random(7)
    sample = _sample(catalog, 250, seed=3)
    stated_facts = 0
    for item in sample:
        ev = _evidence_for(item, catalog, rnd)
        liked_titles = [catalog.items[i].display_title for i in ev.liked_ids]
        for kind in ("purchase_reason", "endorsement"):
            ex = explainer.explain(item.item_id, ev, kind)
            quoted = [str(f.value) for f in ex.facts if f.field == "plot"]
            allowed = liked_titles + quoted + ev.soft_preferences + [ev.intent]
            assert verify(ex.text, item, allowed) == [], ex.text
            assert ex.item_id == item.item_id and ex.kind == kind
            stated_facts += sum(f.source == "item" for f in ex.facts)
        summary = explainer.explain(None, ev, "user_summary")
        liked = [catalog.items[i] for i in ev.liked_ids]
        assert verify_summary(summary.text, ev, liked) == [], summary.text
    # the explanations say something: on average several record facts per item
    assert stated_facts / len(sample) >= (5 if domain == "movies" else 2)


def test_item_facts_are_taken_from_the_record(movie_catalog):
    explainer = Explainer(movie_catalog)
    for item in _sample(movie_catalog, 60, seed=11):
        ex = explainer.explain(item.item_id, Evidence(genres=item.genres[:2]), "endorsement")
        for fact in ex.facts:
            assert fact.source == "item"
            value = getattr(item, fact.field if fact.field != "plot" else "plot")
            if isinstance(value, list):
                assert fact.value in value
            elif fact.field == "plot":
                assert str(fact.value) in value
            elif fact.field == "rating_mean":
                assert abs(fact.value - value) < 0.051
            else:
                assert fact.value == value


def test_planted_false_year_is_caught(movie_catalog):
    for item in _sample(movie_catalog, 40, seed=5):
        if not item.year:
            continue
        true_text = f"{item.title} came out in {item.year}."
        assert verify(true_text, item) == []
        wrong = item.year + 7
        problems = verify(f"{item.title} came out in {wrong}.", item)
        assert len(problems) == 1 and str(wrong) in problems[0]


def test_planted_false_genre_is_caught(movie_catalog):
    item = movie_catalog.get_item(BABADOOK)
    assert verify("The Babadook is a horror film.", item) == []
    problems = verify("The Babadook is a romantic comedy.", item)
    assert any("'romance'" in p for p in problems) and any("'comedy'" in p for p in problems)
    assert verify("A sci-fi thriller.", item) != []
    # an ambiguous word outside a genre context is no claim ...
    assert verify("A story about a war veteran and her family.", item) == []
    # ... but next to a film word it is
    assert verify("It is a war film.", item) != []


def test_planted_false_name_is_caught(movie_catalog):
    item = movie_catalog.get_item(BABADOOK)
    assert verify("The Babadook, directed by Jennifer Kent and starring Essie Davis.", item) == []
    assert verify("Directed by Kent.", item) == []
    problems = verify("The Babadook, directed by Steven Spielberg.", item)
    assert problems == ["'Steven Spielberg' is not a director of The Babadook (2014)"]
    # a real person in the wrong role
    assert verify("The Babadook, directed by Essie Davis.", item) != []
    # a name without a role cue, and every name of a list after a cue
    assert verify("Fans of Tom Cruise will love it.", item) != []
    problems = verify("Starring Essie Davis, Noah Wiseman and Jack Nicholson.", item)
    assert len(problems) == 1 and "Jack Nicholson" in problems[0]
    # a capitalised word next to a name does not hide it, nor make a true name fail
    shining = movie_catalog.get_item(SHINING)
    assert verify("A Classic Stanley Kubrick Horror.", shining) == []
    assert verify("A Classic Steven Spielberg Horror.", shining) != []


def test_ratings_and_decades_are_checked(movie_catalog):
    item = movie_catalog.get_item(SHINING)
    assert verify(f"Rated {item.rating_mean:.1f}/5 across {item.rating_count} ratings, an 80s classic.", item) == []
    assert verify("Rated 2.1/5.", item) != []
    assert verify(f"Across {item.rating_count + 5} ratings.", item) != []
    assert verify("A 1990s classic.", item) != []


def test_titles_and_allowed_strings_are_masked(movie_catalog):
    odyssey = movie_catalog.get_item(SPACE_ODYSSEY)
    # the year in its own title is no claim about its release year
    assert verify("2001: A Space Odyssey is a 1968 sci-fi film.", odyssey) == []
    babadook = movie_catalog.get_item(BABADOOK)
    text = "Because you liked The Shining (1980): viewers who enjoyed it also enjoyed The Babadook."
    assert verify(text, babadook) != []  # 1980 and "The Shining" are not in the Babadook's record
    assert verify(text, babadook, allowed=["The Shining (1980)"]) == []


def test_verify_summary_catches_facts_not_in_the_evidence(movie_catalog):
    liked = [movie_catalog.get_item(BABADOOK)]
    ev = Evidence(liked_ids=[BABADOOK], genres=["horror"], year_min=2010)
    assert verify_summary("You like horror films released in 2010 or later.", ev, liked) == []
    assert verify_summary("You like westerns.", ev, liked) != []
    assert verify_summary("You like films from 1995.", ev, liked) != []
    assert verify_summary("You are a fan of Jennifer Kent.", ev, liked) == []  # she made a liked film
    assert verify_summary("You are a fan of Stanley Kubrick.", ev, liked) != []


def test_lexicon_finds_claims():
    assert find_genres("a sci-fi horror-comedy; a science fiction epic") == ["sci-fi", "horror", "comedy"]
    names = find_names("directed by Jennifer Kent, starring Essie Davis and Samuel L. Jackson. Then Paris.")
    assert [(n.text, n.role) for n in names] == [
        ("Jennifer Kent", "directors"),
        ("Essie Davis", "cast"),
        ("Samuel L. Jackson", "cast"),
    ]


def test_verify_reply_checks_against_the_recommended_items(movie_catalog):
    items = [movie_catalog.get_item(BABADOOK), movie_catalog.get_item(SHINING)]
    shining = items[1]
    ok = (
        f"The Babadook (2014) is a horror film by Jennifer Kent, and The Shining, from 1980, stars "
        f"Jack Nicholson; MovieLens users rate it {shining.rating_mean:.1f}/5."
    )
    assert verify_reply(ok, items) == []
    assert verify_reply("Both are comedies from 1999.", items) != []
    problems = verify_reply("The Shining, directed by Jordan Peele.", items)
    assert problems == ["'Jordan Peele' is not a director of The Babadook (2014) / The Shining (1980)"]
