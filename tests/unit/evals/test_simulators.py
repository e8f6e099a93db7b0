"""Simulated users: title never said, violated attributes named, leaks regenerated, dialogue metrics."""

from __future__ import annotations

import pytest

from crsagent.agent.testing import ScriptedChatModel
from crsagent.agent.turns import TurnResult, Usage
from crsagent.evals.simulators import AgendaSimulator, LLMSimulator, Target, leaks_title, run_simulation
from crsagent.evals.simulators.agenda import asked_kind
from crsagent.evals.simulators.base import redact_title, revealed_in
from crsagent.evals.simulators.runner import select_targets

SHINING = Target(
    item_id="t-shining",
    title="The Shining",
    year=1980,
    genres=["horror", "drama"],
    directors=["Stanley Kubrick"],
    cast=["Jack Nicholson"],
    plot="A family heads to an isolated hotel.",
)


@pytest.fixture
def catalogue(fake_item_cls):
    items = [
        fake_item_cls("t-shining", "The Shining", 1980, ["horror", "drama"], ["Stanley Kubrick"], ["Jack Nicholson"]),
        fake_item_cls("comedy05", "Funny Times", 2005, ["comedy"], ["A Director"], ["Some Actor"]),
        fake_item_cls("horror85", "Scary Night", 1985, ["horror"], ["B Director"], ["Jack Nicholson"]),
        fake_item_cls("hd87", "Dark House", 1987, ["horror", "drama"], ["C Director"], ["Other Star"]),
        fake_item_cls("kub", "Near Miss", 1980, ["horror", "drama"], ["Stanley Kubrick"], ["Jack Nicholson"]),
    ]
    return {it.item_id: it for it in items}


def result(reply="", recs=(), action="recommend", llm_calls=0, make_rec=None):
    from crsagent.agent.turns import Recommendation

    return TurnResult(
        reply=reply,
        action=action,
        usage=Usage(llm_calls=llm_calls),
        recommendations=[Recommendation(item_id=i, title=i, score=1.0) for i in recs],
    )


def test_leak_detection():
    assert leaks_title("I loved the shining so much", SHINING)
    assert leaks_title("Something like The Shinning?", SHINING)  # misspelt
    assert not leaks_title("A horror movie by Stanley Kubrick", SHINING)
    up = Target(item_id="u", title="Up")
    assert leaks_title("Have you seen Up?", up)
    assert not leaks_title("what's up with that", up)
    assert not leaks_title("I'd like something upbeat", up)
    assert redact_title("I want The Shining (1980)!", SHINING) == "I want that movie!"


def test_agenda_reveals_one_attribute_at_a_time_and_answers_questions(catalogue):
    user = AgendaSimulator(catalogue.get).new_user(SHINING)
    first = user.first_message()
    assert "horror" in first.text and not first.accepted
    assert asked_kind("What year or era do you prefer?") == "decade"
    answer = user.reply(result("Do you have a favourite actor?", action="elicit"))
    assert "Jack Nicholson" in answer.text
    answer = user.reply(result("Tell me more!", action="elicit"))
    assert "1980s" in answer.text  # next on the agenda, on its own
    assert [a.kind for a in user.revealed] == ["genre", "actor", "decade"]


def test_agenda_rejects_a_wrong_recommendation_naming_a_violated_attribute(catalogue):
    user = AgendaSimulator(catalogue.get).new_user(SHINING)
    user.first_message()
    r = user.reply(result("Try this", ["comedy05"]))
    assert r.text.startswith("No") and "horror" in r.text and not r.accepted
    r = user.reply(result("Then this", ["horror85"]))  # horror, 1980s, but not a drama
    assert "drama" in r.text
    r = user.reply(result("Then this", ["hd87"]))  # horror drama 1980s, wrong lead
    assert "Jack Nicholson" in r.text
    r = user.reply(result("Then this", ["t-shining"]))
    assert r.accepted


def test_agenda_user_never_says_the_title(catalogue, fake_item_cls):
    tricky = Target(item_id="t-drama", title="Drama", year=1999, genres=["drama", "comedy"], cast=["Drama Queen"])
    lookup = {"x": fake_item_cls("x", "X", 1950, ["western"])}.get
    for target in (SHINING, tricky):
        user = AgendaSimulator({**catalogue, "x": lookup("x")}.get).new_user(target)
        said = [user.first_message().text]
        for reply in ("What genre?", "Any actor?", "Which decade?", "Director?", "Hmm?"):
            said.append(user.reply(result(reply + " ?", action="elicit")).text)
        said.append(user.reply(result("this?", ["x"])).text)
        assert all(not leaks_title(s, target) for s in said)
        assert all(target.title.lower() not in s.lower() for s in said)


def test_llm_user_regenerates_a_leaking_reply():
    llm = ScriptedChatModel(["I want The Shining, obviously.", "A creepy 80s horror film in a snowed-in hotel."])
    user = LLMSimulator(llm).new_user(SHINING, seed=1)
    out = user.first_message()
    assert out.text == "A creepy 80s horror film in a snowed-in hotel."
    assert (out.llm_calls, out.regenerations) == (2, 1)
    llm.assert_exhausted()
    assert llm.requests[0].kwargs.get("max_tokens") == 80
    prompt = llm.requests[0].messages[0].content
    assert "horror" in prompt and "Stanley Kubrick" in prompt and "The Shining" not in prompt


def test_llm_user_redacts_after_bounded_regenerations_and_accepts_without_a_call():
    llm = ScriptedChatModel(["The Shining!"] * 3)
    user = LLMSimulator(llm, max_regenerations=2).new_user(SHINING)
    out = user.first_message()
    assert out.llm_calls == 3 and not leaks_title(out.text, SHINING)
    acc = user.reply(result("How about this one?", ["t-shining"]))
    assert acc.accepted and acc.llm_calls == 0
    acc2 = LLMSimulator(llm).new_user(SHINING).reply(result("You'd love The Shining (1980)."))
    assert acc2.accepted  # named in the text only (llm-only replies)
    llm.assert_exhausted()


def test_simulation_metrics_by_turn(catalogue, scripted_agent_cls):
    targets = [Target.from_item(catalogue["t-shining"]), Target.from_item(catalogue["hd87"])]

    def script(i, text, thread_id):
        if i == 1:
            return result("What kind of movie?", action="elicit", llm_calls=1)
        return result("Here you go", ["t-shining", "comedy05"], llm_calls=2)

    agent = scripted_agent_cls(script)
    res = run_simulation(agent, AgendaSimulator(catalogue.get), targets, max_turns=3, item_lookup=catalogue.get)
    s = res.summary
    assert s["success_by_turn"] == {"1": 0.0, "2": 0.5, "3": 0.5}
    assert s["avg_turns"] == (2 + 4) / 2
    assert s["agent_llm_calls_per_dialogue"] == ((1 + 2) + (1 + 2 + 2)) / 2
    assert s["hit_precision"] == pytest.approx(1 / 3, abs=1e-4)  # 3 recommending turns, 1 hit
    assert res.records[0]["success_turn"] == 2 and res.records[1]["success"] is False
    assert res.records[1]["transcript"][0]["role"] == "user"
    assert len(agent.threads) == 2


def test_revealed_attributes_and_target_sampling(redial_items):
    assert [a.value for a in revealed_in(["a horror movie", "from the 80s"], SHINING)] == ["horror", "1980s"]
    a = select_targets(redial_items, 5, seed=3)
    assert [t.item_id for t in a] == [t.item_id for t in select_targets(redial_items, 5, seed=3)]
    assert all(t.genres and t.year for t in a)
    with pytest.raises(ValueError):
        select_targets(redial_items, 0)


def test_fuzzy_leak_check_does_not_fire_on_word_parts():
    psycho = Target(item_id="p", title="Psycho", year=1960)
    assert not leaks_title("I'd like a psychological thriller", psycho)
    assert leaks_title("maybe Pshycho?", psycho)


def test_agenda_names_a_new_violated_attribute_when_ignored(catalogue):
    user = AgendaSimulator(catalogue.get).new_user(SHINING)
    user.first_message()
    first = user.reply(result("Try", ["comedy05"])).text
    second = user.reply(result("Try", ["comedy05"])).text
    assert "horror" in first and "horror" not in second and second.startswith("No")


def test_an_llm_failure_ends_one_dialogue_not_the_run(scripted_agent_cls):
    from crsagent.agent.errors import LLMUnavailableError

    llm = ScriptedChatModel([LLMUnavailableError("server down"), "A scary film from the eighties, please."])
    agent = scripted_agent_cls(lambda i, text, tid: result("What genre?", action="elicit"))
    targets = [SHINING, SHINING]
    res = run_simulation(agent, LLMSimulator(llm), targets, max_turns=1)
    assert "LLMUnavailableError" in res.records[0]["error"] and not res.records[0]["success"]
    assert res.records[1]["error"] is None and res.records[1]["turns"] == 1
    assert res.summary["errors"] == 1
