"""The agenda simulator in the office domain: product words and brand, never the title."""

from __future__ import annotations

from crsagent.agent.turns import Recommendation, TurnResult
from crsagent.evals.simulators import select_targets
from crsagent.evals.simulators.agenda import AgendaSimulator
from crsagent.evals.simulators.base import Target, item_satisfies, product_words
from crsagent.tools.catalog.schema import Item


def _item(i: int, title: str, brand: str) -> Item:
    return Item(item_id=f"amz-{i}", domain="office", title=title, brand=brand, popularity=100 - i)


ITEMS = [
    _item(1, "EXPO 86074 Low-Odor Dry Erase Markers, Fine Point, Assorted Colors, 4-Count", "Expo"),
    _item(2, "Sharpie 30001 Permanent Markers, Fine Point, Black, 12 Count", "Sharpie"),
    _item(3, "VTech CS6124 DECT 6.0 Cordless Phone with Answering System", "VTech"),
]


def test_product_words_skip_brand_model_numbers_and_tails() -> None:
    assert product_words(ITEMS[0].title, "Expo") == "dry erase markers"
    assert product_words(ITEMS[2].title, "VTech") == "dect cordless phone"
    assert product_words("12345", None) is None


def test_office_targets_have_a_product_then_a_brand_agenda() -> None:
    targets = select_targets(ITEMS, 3, seed=0)
    assert {t.item_id for t in targets} == {"amz-1", "amz-2", "amz-3"}
    t = Target.from_item(ITEMS[0])
    assert [(a.kind, a.value) for a in t.attributes()] == [("product", "dry erase markers"), ("brand", "Expo")]
    assert item_satisfies(ITEMS[0], t.attributes()[0]) and not item_satisfies(ITEMS[1], t.attributes()[0])
    assert item_satisfies(ITEMS[0], t.attributes()[1]) and not item_satisfies(ITEMS[1], t.attributes()[1])


def test_the_office_user_opens_with_the_product_and_rejects_by_brand() -> None:
    lookup = {it.item_id: it for it in ITEMS}.get
    user = AgendaSimulator(lookup).new_user(Target.from_item(ITEMS[0]), seed=1)
    opening = user.first_message().text
    assert "dry erase markers" in opening and "watch" not in opening and "EXPO 86074" not in opening
    wrong = TurnResult(
        reply="Try these.", recommendations=[Recommendation(item_id="amz-2", title=ITEMS[1].title, score=1.0)]
    )
    reply = user.reply(wrong).text
    assert "dry erase markers" in reply or "Expo" in reply
    right = TurnResult(
        reply="Try these.", recommendations=[Recommendation(item_id="amz-1", title=ITEMS[0].title, score=1.0)]
    )
    assert user.reply(right).accepted
