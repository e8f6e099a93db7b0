"""The entity linker on the phenomena of typed chat: case, articles, typos, ambiguity, common words."""

from __future__ import annotations

import pytest

from crsagent.tools.linker.linker import EntityLinker, Mention


def ids(linker: EntityLinker, text: str) -> list[str]:
    return [m.item_id for m in linker.link(text)]


def test_lower_case_and_missing_article(linker: EntityLinker) -> None:
    text = "loved the babadook and it follows"
    ms = linker.link(text)
    assert [m.item_id for m in ms] == ["tt2321549", "tt3235888"]
    first = ms[0]
    assert isinstance(first, Mention)
    assert text[first.start : first.end] == first.surface == "the babadook"
    assert first.title == "The Babadook" and first.year == 2014
    assert 0.5 <= first.confidence <= 1.0
    assert ids(linker, "have you seen babadook?") == ["tt2321549"]
    assert ids(linker, "THE SHINING was great") == ["tt0081505"]
    assert ids(linker, "we went out on halloween") == []


def test_punctuation_hyphens_accents_and_ampersands(linker: EntityLinker) -> None:
    assert ids(linker, "schindlers list, amelie and spiderman!") == ["tt0108052", "tt0211915", "tt0145487"]
    assert ids(linker, "I watched E.T. the extra-terrestrial yesterday") == ["tt0083866"]
    assert ids(linker, "what about spider man") == ["tt0145487"]


def test_small_typos(linker: EntityLinker) -> None:
    assert ids(linker, "i loved the babadok") == ["tt2321549"]
    assert ids(linker, "shindlers list is sad") == ["tt0108052"]
    assert ids(linker, "pulp fictoin") == ["tt0110912"]  # swapped letters
    typo = linker.link("loved the shinning")[0]
    exact = linker.link("loved the shining")[0]
    assert typo.item_id == exact.item_id and typo.confidence < exact.confidence


def test_ambiguity_is_settled_by_year(linker: EntityLinker) -> None:
    assert ids(linker, "I prefer halloween (2007) honestly") == ["tt0373883"]
    assert ids(linker, "I prefer halloween 1978") == ["tt0077651"]
    m = linker.link("it (1990) was scarier")[0]
    assert m.item_id == "tt0099864" and m.surface == "it (1990)"
    assert "tt1396484" in linker.link("halloween 1978 or it 2017")[1].item_id


def test_ambiguity_is_settled_by_popularity_then_context(linker: EntityLinker) -> None:
    m = linker.link("we watched halloween last night")[0]
    assert m.item_id == "tt0077651"  # more popular
    assert m.alternatives == ["tt0373883"]
    assert ids(linker, "did you see the new halloween") == ["tt0373883"]
    assert ids(linker, "the original halloween is better") == ["tt0077651"]


def test_main_title_before_colon_and_alternative_titles(linker: EntityLinker) -> None:
    assert ids(linker, "star wars: the force awakens was fun") == ["tt2488496"]
    assert ids(linker, "i grew up with star wars") == ["tt0076759"]  # the alias beats the main title


@pytest.mark.parametrize(
    "text",
    [
        "I think it was good and I liked her in it",
        "cheer up, I love you",
        "it is so hot, the heat is unbearable",
        "can you look it up for me",
        "i love it",
        "what do you like? I like it when there is love",
        "I like Bruce Willis movies",
        "any movies with Tom Hanks?",
    ],
)
def test_no_false_positives_on_common_words(linker: EntityLinker, text: str) -> None:
    assert linker.link(text) == []


def test_common_word_titles_link_with_evidence(linker: EntityLinker) -> None:
    assert ids(linker, 'Have you seen "Up"?') == ["tt1049413"]
    assert ids(linker, "I loved It (2017)") == ["tt1396484"]
    assert ids(linker, "have you watched 'heat'") == ["tt0113277"]
    assert ids(linker, "heat (1995) is a classic") == ["tt0113277"]
    watched = [c for c in linker.candidates("have you watched heat") if c.item_id == "tt0113277"][0]
    weather = [c for c in linker.candidates("the heat outside is unbearable today") if c.item_id == "tt0113277"][0]
    assert watched.confidence > weather.confidence  # the cue word counts
    assert ids(linker, "the heat outside is unbearable today") == []
    alone = [c for c in linker.candidates("halloween is next week") if c.item_id == "tt0077651"][0]
    assert alone.confidence < 0.5
    # in a list with a confident title, the same word is linked
    assert ids(linker, "the shining and halloween were fun") == ["tt0081505", "tt0077651"]
    assert ids(linker, "pulp fiction and her were my favourites") == ["tt0110912"]  # "her" needs more


def test_overlapping_matches_keep_the_longest(linker: EntityLinker) -> None:
    ms = linker.link("i am legend was great")
    assert [m.item_id for m in ms] == ["tt0480249"]
    assert ids(linker, "back to the future") == ["tt0088763"]


def test_threshold_and_candidates(linker: EntityLinker) -> None:
    text = "the heat outside is unbearable today"
    cands = linker.candidates(text)
    assert any(c.item_id == "tt0113277" for c in cands)  # found, but below threshold
    assert ids(linker, text) == []
    assert [m.item_id for m in linker.link(text, min_confidence=0.0)][:1] == ["tt0113277"]
    assert linker.link("") == [] and linker.link("?!") == []


def test_mentions_are_deterministic_and_fast_to_build(movies) -> None:
    a = EntityLinker.from_items(movies)
    b = EntityLinker.from_items(list(reversed(movies)))
    text = "loved the babadook, pulp fiction and halloween"
    assert [m.item_id for m in a.link(text)] == [m.item_id for m in b.link(text)]
    assert len(a) == len(movies)


def test_kinds_common_nouns_and_longer_names_are_not_titles(linker: EntityLinker) -> None:
    # an indefinite article makes a common noun: names take none
    assert ids(linker, "we want a heat lamp for the patio") == []
    assert "tt0077651" not in ids(linker, "any ideas for a good halloween movie night?")
    # a plural kind after the title: a franchise or genre, even when capitalised
    assert ids(linker, "we are a family of Halloween fans, we love the Halloween movies") == []
    # capitals that run on past the title belong to a longer name
    assert ids(linker, "I can't wait for Halloween Kills this fall") == []
    # the same titles still link with the usual evidence
    assert ids(linker, "I loved Halloween, so scary") == ["tt0077651"]
    assert ids(linker, "have you seen halloween?") == ["tt0077651"]
