"""The explainer picks grounded reasons: a liked CF neighbour, matched attributes, the intent."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from crsagent.agent.errors import ToolInputError, UnknownItemError
from crsagent.tools.explain import Evidence, Explainer, verify

BABADOOK, IT_FOLLOWS, SHINING, FULL_METAL = "tt2321549", "tt3235888", "tt0081505", "tt0093058"


def test_unknown_item_raises_unknown_item_error(movie_catalog):
    explainer = Explainer(movie_catalog)
    with pytest.raises(UnknownItemError) as err:
        explainer.explain("tt0000000", Evidence())
    assert err.value.ids == ["tt0000000"]
    with pytest.raises(UnknownItemError) as err:
        explainer.explain_many([BABADOOK, "nope-1", "nope-2"], Evidence(), "endorsement")
    assert err.value.ids == ["nope-1", "nope-2"]


def test_bad_kind_or_missing_id_is_a_tool_input_error(movie_catalog):
    explainer = Explainer(movie_catalog)
    with pytest.raises(ToolInputError, match="unknown narrative kind"):
        explainer.explain_many([BABADOOK], Evidence(), "haiku")
    with pytest.raises(ToolInputError, match="give an item id"):
        explainer.explain(None, Evidence(), "endorsement")
    with pytest.raises(ValidationError, match="year_min"):
        Evidence(year_min=2015, year_max=2010)


def test_cf_neighbour_among_liked_items_leads(movie_catalog, table_cf):
    cf = table_cf({IT_FOLLOWS: ["tt9999999", BABADOOK, SHINING]})
    explainer = Explainer(movie_catalog, cf)
    ev = Evidence(liked_ids=[SHINING, BABADOOK], genres=["horror"])
    ex = explainer.explain(IT_FOLLOWS, ev)
    # The Babadook is the nearer CF neighbour of the two liked films
    assert ex.text.startswith("Because you liked The Babadook (2014): viewers who enjoyed it also enjoyed It Follows.")
    assert any(f.field == "liked_neighbour" and f.source == "cf" and f.value == "The Babadook (2014)" for f in ex.facts)
    assert cf.calls == [(IT_FOLLOWS, explainer.neighbour_k)]


def test_without_cf_a_liked_item_sharing_the_director_stands_in(movie_catalog):
    explainer = Explainer(movie_catalog)
    ev = Evidence(liked_ids=[SHINING])
    ex = explainer.explain(FULL_METAL, ev)
    assert "Like The Shining (1980), which you liked, it was directed by Stanley Kubrick." in ex.text
    assert any(f.field == "liked_neighbour" and f.source == "evidence" for f in ex.facts)


def test_item_without_cf_vector_falls_back_to_content(movie_catalog, table_cf):
    explainer = Explainer(movie_catalog, table_cf({}))  # neighbours() raises UnknownItemError
    ex = explainer.explain(FULL_METAL, Evidence(liked_ids=[SHINING]))
    assert "which you liked" in ex.text


def test_matched_attributes_are_stated(movie_catalog):
    explainer = Explainer(movie_catalog)
    ev = Evidence(genres=["horror"], people=["Jennifer Kent"], year_min=2010, intent="slow-burn dread")
    ex = explainer.explain(BABADOOK, ev)
    assert (
        "The Babadook is a 2014 horror film written and directed by Jennifer Kent, which fits the years you asked for."
    ) in ex.text
    assert 'It suits your current taste for "slow-burn dread".' in ex.text
    fields = {(f.field, f.value) for f in ex.facts}
    assert {
        ("year", 2014),
        ("genres", "horror"),
        ("directors", "Jennifer Kent"),
        ("intent", "slow-burn dread"),
    } <= fields
    # a genre the user did not ask for and the item does not have is never stated
    assert "comedy" not in ex.text


def test_signals_choose_the_reasons(movie_catalog):
    explainer = Explainer(movie_catalog, max_reasons=1)
    ev = Evidence(
        soft_preferences=["isolated hotel"], intent="classic horror", signals={SHINING: {"vector": 0.9, "intent": 0.1}}
    )
    assert "close match for what you described" in explainer.explain(SHINING, ev).text
    ev = ev.model_copy(update={"signals": {SHINING: {"vector": 0.1, "intent": 0.9}}})
    text = explainer.explain(SHINING, ev).text
    assert "classic horror" in text and "close match" not in text


def test_endorsement_and_user_summary(movie_catalog):
    explainer = Explainer(movie_catalog)
    endorsement = explainer.explain(SHINING, kind="endorsement")
    item = movie_catalog.get_item(SHINING)
    assert "Jack Nicholson" in endorsement.text and f"{item.rating_mean:.1f}/5" in endorsement.text
    assert verify(endorsement.text, item, [str(f.value) for f in endorsement.facts if f.field == "plot"]) == []
    ev = Evidence(liked_ids=[BABADOOK, "tt0000000"], disliked_ids=[SHINING], genres=["horror"], year_min=2010)
    summary = explainer.explain(None, ev, "user_summary")
    assert summary.item_id is None and summary.kind == "user_summary"
    assert summary.text == (
        "You liked The Babadook (2014). You did not care for The Shining (1980). "
        "You are looking for horror films, released in 2010 or later."
    )
    assert explainer.explain(None, Evidence(), "user_summary").text == "We do not know your preferences yet."


def test_office_explanations(office_catalog, table_cf):
    items = [i for i in office_catalog.items.values() if i.brand][:2]
    target, liked = items
    explainer = Explainer(office_catalog, table_cf({target.item_id: [liked.item_id]}))
    ex = explainer.explain(target.item_id, Evidence(liked_ids=[liked.item_id], brands=[target.brand]))
    assert ex.text.startswith(f"Because you liked {liked.title}: customers who bought it also bought")
    assert f"from {target.brand}" in ex.text
    assert verify(ex.text, target, [liked.title]) == []


def test_records_are_read_once_and_the_cache_is_bounded(movie_catalog):
    reads: list[list[str]] = []

    class Counting:
        def get_items(self, ids):
            reads.append(list(ids))
            return movie_catalog.get_items(ids)

    explainer = Explainer(Counting(), cache_size=2)
    ev = Evidence(liked_ids=[SHINING])
    first = explainer.explain(BABADOOK, ev)
    assert explainer.explain(BABADOOK, ev) == first
    assert reads == [[BABADOOK], [SHINING]]  # the second explanation read nothing
    explainer.explain(IT_FOLLOWS, Evidence())
    assert len(explainer._cache) == 2 and IT_FOLLOWS in explainer._cache
