"""The explainer over the built catalogue (SQLite ProductDB) and the trained CF model."""

from __future__ import annotations

import random

import pytest

from crsagent.agent.errors import UnknownItemError
from crsagent.tools.explain import Evidence, Explainer, verify
from crsagent.tools.toolkit import Toolkit


@pytest.fixture(scope="module")
def toolkit(movies_home) -> Toolkit:
    return Toolkit.load(movies_home, "movies")


def test_explanations_of_real_items_pass_the_checker(toolkit):
    explainer = toolkit.explainer
    assert isinstance(explainer, Explainer)
    items = sorted(toolkit.db.all_items(), key=lambda i: i.item_id)
    rnd = random.Random(1)
    for item in rnd.sample(items, 80):
        liked = rnd.sample(items, 2)
        ev = Evidence(liked_ids=[i.item_id for i in liked], genres=item.genres[:1], year_min=1990)
        for kind in ("purchase_reason", "endorsement"):
            ex = explainer.explain(item.item_id, ev, kind)
            quoted = [str(f.value) for f in ex.facts if f.field == "plot"]
            assert verify(ex.text, item, [i.display_title for i in liked] + quoted) == [], ex.text


def test_a_real_cf_neighbour_among_the_liked_items_is_named(toolkit):
    cf = toolkit.cf
    assert cf is not None, toolkit.missing
    item = toolkit.db.get_item("tt0081505")  # The Shining
    neighbour = cf.neighbours(item.item_id, 5)[2]
    liked = toolkit.db.get_item(neighbour.item_id)
    ex = toolkit.explainer.explain(item.item_id, Evidence(liked_ids=[liked.item_id]))
    assert ex.text.startswith(f"Because you liked {liked.display_title}: viewers who enjoyed it also enjoyed")
    assert verify(ex.text, item, [liked.display_title]) == []


def test_unknown_ids_raise_from_the_real_database(toolkit):
    with pytest.raises(UnknownItemError) as err:
        toolkit.explainer.explain_many(["tt0081505", "tt9999999x"], Evidence())
    assert err.value.ids == ["tt9999999x"]
