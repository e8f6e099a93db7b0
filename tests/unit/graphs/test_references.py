"""Issue 21 readers: comparatives, corrections, clean soft preferences, closing lines, answers."""

from __future__ import annotations

from typing import Any

from crsagent.graphs.dialogue.cues import (
    asked_field,
    comparatives,
    is_correction,
    is_greeting_only,
    points_at_all,
    points_at_one,
)
from crsagent.graphs.dialogue.elicitation import Question, answer_lead, closing_text
from crsagent.graphs.dialogue.moves import unavailable_asked
from crsagent.graphs.dialogue.templates import template_reply
from crsagent.graphs.dialogue.understanding import clean_soft, read_user_message


def test_comparatives_give_direction_and_base_word() -> None:
    assert [(c.direction, c.word) for c in comparatives("Something scarier?")] == [("more", "scary")]
    assert ("less", "violent") in [(c.direction, c.word) for c in comparatives("less violent please")]
    assert ("more", "light") in [(c.direction, c.word) for c in comparatives("a lighter one")]
    assert all(not c.explicit for c in comparatives("the thriller Monster"))
    assert unavailable_asked("a cheaper one") == ["price"] and unavailable_asked("something shorter") == ["runtime"]


def test_cues_for_references_corrections_and_questions() -> None:
    assert points_at_one("not that one") and not points_at_all("not that one")
    assert points_at_all("none of these") and is_correction("no, the Rob Zombie one")
    assert is_correction("I meant the 1995 Heat") and not is_correction("I loved Heat")
    assert asked_field("who directed it?") == "directors" and asked_field("how long is it?") == "runtime"
    assert is_greeting_only("thanks, that's great") and not is_greeting_only("thanks, any horror?")


def test_soft_preferences_are_clean_clauses() -> None:
    text = "I loved The Babadook, any horror from after 2010?"
    spans = [(8, 20), (37, 47)]  # the title, "after 2010"
    assert clean_soft(text, spans) == "any horror"
    assert clean_soft("Not the second one, I don't like. Something scarier?") == "Something scarier"
    assert (
        clean_soft("I loved Alien and Aliens. Something similar please", [(8, 13), (18, 24)])
        == "Something similar please"
    )
    assert clean_soft("anything but horror, something from the 90s", [(36, 43)]) == ""


def test_references_resolve_against_the_last_list(toolkit: Any, fakes: Any) -> None:
    last = [fakes.GET_OUT, fakes.US, fakes.ALIEN]
    assert read_user_message(toolkit, "not the last one", last).update["rejected"] == [fakes.ALIEN]
    r = read_user_message(toolkit, "not Alien, the other one", last)
    assert r.dialogue_act == "reject" and r.update["rejected"] == [fakes.ALIEN]
    liked = read_user_message(toolkit, "more like the first one", last).update["items"]
    assert liked == {fakes.GET_OUT: {"opinion": "liked", "source": "reference"}}
    q = read_user_message(toolkit, "what's the weather like?", last)
    assert q.dialogue_act == "chitchat" and "soft" not in q.update


def test_closing_lines_vary_and_answers_lead_with_the_field(toolkit: Any, fakes: Any) -> None:
    q = Question("director", 1.5, ("Jordan Peele", "Ari Aster"))
    first = closing_text(q, "movies", {})
    assert first.startswith("To narrow it down: is there a director")
    plain = closing_text(None, "movies", {})
    assert closing_text(None, "movies", {}, avoid=plain) != plain
    assert "prices" in closing_text(None, "office", {}, ["price"])
    item = toolkit.item(fakes.GET_OUT)
    assert answer_lead(item, "directors") == "Get Out (2017) was directed by Jordan Peele."
    assert "running times" in answer_lead(item, "runtime")


def test_an_explanation_sentence_is_said_once_per_reply() -> None:
    same = "Like The Babadook (2014), which you liked, it is a horror film."
    recs = [
        {"title": "A", "explanation": f"A is a 2014 film. {same}"},
        {"title": "B", "explanation": f"B is a 2015 film. {same}"},
    ]
    reply = template_reply("recommend", domain="movies", recommendations=recs, question="Any director you like?")
    assert reply.count(same) == 1 and reply.endswith("Any director you like?")
