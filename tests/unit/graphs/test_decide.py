"""The decide node: the policy table and information-gain elicitation."""

from __future__ import annotations

import math
from typing import Any

import pytest

from crsagent.graphs.dialogue.elicitation import bucketed_entropy, choose_question
from crsagent.graphs.nodes.decide import MAX_QUESTIONS, make_decide, policy
from crsagent.graphs.variants import VARIANT_SPECS

LIKED = {"items": {"tt0000001": {"opinion": "liked", "source": "linker"}}}
ONE_CONSTRAINT = {"genres": {"horror": "like"}}
TWO_CONSTRAINTS = {"genres": {"horror": "like"}, "constraints": {"year_min": 2011}}


@pytest.mark.parametrize(
    ("dialogue_act", "belief", "focus", "expected"),
    [
        ("elicit", {}, [], "elicit"),
        ("elicit", ONE_CONSTRAINT, [], "elicit"),
        ("elicit", TWO_CONSTRAINTS, [], "recommend"),
        ("elicit", LIKED, [], "recommend"),
        ("recommend", {}, [], "elicit"),
        ("recommend", ONE_CONSTRAINT, [], "recommend"),
        ("reject", {}, [], "recommend"),
        ("chitchat", {}, [], "elicit"),
        ("chitchat", LIKED, [], "chitchat"),
        ("ask_fact", {}, ["tt0000003"], "answer"),
        ("ask_fact", LIKED, [], "recommend"),
        ("explain", {}, ["tt0000003"], "explain"),
        ("explain", {}, [], "elicit"),
        ("elicit", {"asked": ["genre", "decade"][:MAX_QUESTIONS]}, [], "recommend"),
    ],
)
def test_policy(dialogue_act: str, belief: Any, focus: list[str], expected: str) -> None:
    assert policy(dialogue_act, belief, focus) == expected


def test_bucketed_entropy() -> None:
    assert bucketed_entropy([["a"], ["a"]])[0] == 0.0
    h, opts = bucketed_entropy([["a"], ["b"], ["c"], ["d"]])
    assert math.isclose(h, 2.0) and set(opts) == {"a", "b", "c", "d"}
    # a long tail collapses into one bucket: 20 distinct values, top 2 kept -> 3 buckets
    h_tail, _ = bucketed_entropy([[str(i)] for i in range(20)], top=2)
    assert h_tail < math.log2(20) and h_tail <= math.log2(3) + 1e-9
    assert bucketed_entropy([[], []]) == (0.0, ())


def test_question_maximises_entropy_and_skips_asked(toolkit: Any) -> None:
    items = list(toolkit.items().values())
    q = choose_question("movies", items, {})
    assert q is not None
    from crsagent.graphs.dialogue.elicitation import attribute_values

    others = [
        bucketed_entropy(attribute_values(i, a) for i in items)[0] for a in ("genre", "decade", "director", "actor")
    ]
    assert q.entropy == pytest.approx(max(others), abs=1e-3)
    q2 = choose_question("movies", items, {"asked": [q.attribute]})
    assert q2 is not None and q2.attribute != q.attribute
    assert choose_question("movies", items, {"asked": ["genre", "decade", "director", "actor"]}) is None


def test_constrained_attributes_are_not_asked(toolkit: Any) -> None:
    items = list(toolkit.items().values())
    q = choose_question("movies", items, {"genres": {"horror": "like"}, "people": {"Jordan Peele": "like"}})
    assert q is not None and q.attribute == "decade"


def test_decide_node_asks_and_records_the_attribute(runtime: Any) -> None:
    out = make_decide(VARIANT_SPECS["crs-only"])({"dialogue_act": "elicit", "belief": {}}, runtime)
    assert out["action"] == "elicit"
    assert out["belief"] == {"asked": [out["question"]["attribute"]]}
    assert out["question"]["options"] and out["question"]["text"].endswith("?")


def test_decide_recommends_when_nothing_is_left_to_ask(runtime: Any) -> None:
    asked = {"asked": ["genre", "decade", "director", "actor"][:1]}
    belief = {
        **asked,
        "genres": {"horror": "like"},
        "people": {"Ari Aster": "like"},
        "constraints": {"year_min": 2018, "year_max": 2018},
    }
    # one liked genre + person + years is enough evidence anyway; force the elicit path with the dialogue act
    out = make_decide(VARIANT_SPECS["crs-only"])({"dialogue_act": "elicit", "belief": belief}, runtime)
    assert out["action"] == "recommend"
