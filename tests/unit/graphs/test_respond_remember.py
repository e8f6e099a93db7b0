"""The respond node (templates, LLM replies, fallbacks) and the remember node (profile memory)."""

from __future__ import annotations

from typing import Any

from langchain_core.messages import HumanMessage

from crsagent.agent.memory import (
    Profile,
    ProfileFacts,
    load_profile,
    merge_facts,
    summarize,
)
from crsagent.agent.testing import ScriptedChatModel
from crsagent.graphs.context import CRSContext
from crsagent.graphs.nodes.remember import aremember, remember
from crsagent.graphs.nodes.respond import make_respond
from crsagent.graphs.nodes.understand import AGENT_KEY
from crsagent.graphs.variants import VARIANT_SPECS


def _rec(fakes: Any, *ids: str) -> list[dict[str, Any]]:
    return [
        {"item_id": i, "title": fakes.BY_ID[i].display_title, "score": 1.0, "explanation": "", "signals": {}}
        for i in ids
    ]


def _cands(*ids: str) -> list[dict[str, Any]]:
    return [{"item_id": i, "score": 1.0 - k / 10, "signals": {"cf": 1.0}} for k, i in enumerate(ids)]


def test_template_reply_names_the_recommendations_and_records_them(runtime: Any, fakes: Any) -> None:
    state = {
        "action": "recommend",
        "recommendations": _rec(fakes, fakes.GET_OUT, fakes.US),
        "candidates": _cands(fakes.GET_OUT, fakes.US),
        "messages": [HumanMessage(content="hi")],
    }
    out = make_respond(VARIANT_SPECS["crs-only"])(state, runtime)
    msg = out["messages"][0]
    assert "Get Out (2017)" in msg.content and "Us (2019)" in msg.content
    assert msg.additional_kwargs[AGENT_KEY]["recommended"] == [fakes.GET_OUT, fakes.US]
    assert out["belief"] == {"recommended": [fakes.GET_OUT, fakes.US], "mentioned": [fakes.GET_OUT, fakes.US]}


def test_elicit_and_answer_templates(runtime: Any, fakes: Any) -> None:
    respond = make_respond(VARIANT_SPECS["crs-only"])
    q = {"action": "elicit", "question": {"text": "What kind of movie?"}}
    assert respond(q, runtime)["messages"][0].content == "What kind of movie?"
    a = respond({"action": "answer", "focus": [fakes.GET_OUT]}, runtime)["messages"][0].content
    assert "Jordan Peele" in a and "Get Out (2017)" in a


def _llm_runtime(runtime: Any, llm: Any) -> Any:
    return type(runtime)(context=CRSContext(toolkit=runtime.context.toolkit, llm=llm), store=runtime.store)


def test_llm_reply_is_guarded_and_its_choice_becomes_the_recommendations(runtime: Any, fakes: Any) -> None:
    llm = ScriptedChatModel(["Try Us, it is creepy. Or The Shining!"])
    state = {
        "action": "recommend",
        "recommendations": _rec(fakes, fakes.GET_OUT),
        "candidates": _cands(fakes.GET_OUT, fakes.US),
        "belief": {},
        "messages": [HumanMessage(content="scary")],
    }
    out = make_respond(VARIANT_SPECS["crs-assists-llm"])(state, _llm_runtime(runtime, llm))
    assert out["messages"][0].content == "Try Us, it is creepy."
    assert [r["item_id"] for r in out["recommendations"]] == [fakes.US]
    assert "Get Out" in llm.requests[0].messages[0].content  # the candidates were in the prompt
    assert any("guard" in n for n in out["usage"]["notes"])


def test_sentences_with_false_facts_are_removed(runtime: Any, fakes: Any) -> None:
    llm = ScriptedChatModel(["Us (2019) is a horror film by Jordan Peele. Get Out is a 1994 comedy."])
    state = {
        "action": "recommend",
        "recommendations": _rec(fakes, fakes.US),
        "candidates": _cands(fakes.GET_OUT, fakes.US),
        "belief": {},
        "messages": [HumanMessage(content="scary")],
    }
    out = make_respond(VARIANT_SPECS["full"])(state, _llm_runtime(runtime, llm))
    assert out["messages"][0].content == "Us (2019) is a horror film by Jordan Peele."
    assert [r["item_id"] for r in out["recommendations"]] == [fakes.US]
    assert any("1994" in n or "comedy" in n for n in out["usage"]["notes"])


def test_llm_reply_without_a_grounded_item_falls_back_to_the_template(runtime: Any, fakes: Any) -> None:
    llm = ScriptedChatModel(["You should watch Alien."])
    state = {
        "action": "recommend",
        "recommendations": _rec(fakes, fakes.GET_OUT),
        "candidates": _cands(fakes.GET_OUT),
        "belief": {},
        "messages": [HumanMessage(content="scary")],
    }
    out = make_respond(VARIANT_SPECS["full"])(state, _llm_runtime(runtime, llm))
    assert "Get Out" in out["messages"][0].content and "Alien" not in out["messages"][0].content
    assert [r["item_id"] for r in out["recommendations"]] == [fakes.GET_OUT]
    assert out["usage"]["degraded"]  # the LLM failed its task: the template answered


def test_rejected_items_are_never_recommended_by_the_llm(runtime: Any, fakes: Any) -> None:
    llm = ScriptedChatModel(["Get Out again? Or Us."])
    state = {
        "action": "recommend",
        "recommendations": _rec(fakes, fakes.US),
        "candidates": _cands(fakes.GET_OUT, fakes.US),
        "belief": {"rejected": [fakes.GET_OUT]},
        "messages": [HumanMessage(content="more")],
    }
    out = make_respond(VARIANT_SPECS["full"])(state, _llm_runtime(runtime, llm))
    assert fakes.GET_OUT not in [r["item_id"] for r in out["recommendations"]]
    assert "Get Out" not in out["messages"][0].content


def test_remember_writes_the_profile_under_the_user(runtime: Any, fakes: Any) -> None:
    rt = type(runtime)(context=CRSContext(toolkit=runtime.context.toolkit, user_id="ann"), store=runtime.store)
    belief = {
        "items": {
            fakes.BABADOOK: {"opinion": "liked", "source": "linker"},
            fakes.US: {"opinion": "disliked", "source": "user-reject"},
        },
        "rejected": [fakes.US],
        "genres": {"horror": "like", "comedy": "dislike"},
    }
    out = remember({"belief": belief, "turn": 1}, rt)
    stored = load_profile(runtime.store, "ann")
    assert stored is not None and out["profile"]["user_id"] == "ann"
    assert stored.facts.liked == [fakes.BABADOOK] and stored.facts.rejected == [fakes.US]
    assert stored.facts.genres_disliked == ["comedy"] and stored.threads == 1
    assert "The Babadook (2014)" in stored.summary and "comedy" in stored.summary
    # unchanged facts write nothing
    assert remember({"belief": belief, "turn": 2, "profile": out["profile"]}, rt) == {}
    # no user: no memory
    assert remember({"belief": belief}, runtime) == {}


def test_async_remember_writes_what_remember_writes(runtime: Any, fakes: Any) -> None:
    import asyncio

    rt = type(runtime)(context=CRSContext(toolkit=runtime.context.toolkit, user_id="bo"), store=runtime.store)
    belief = {"items": {fakes.BABADOOK: {"opinion": "liked", "source": "linker"}}, "genres": {"horror": "like"}}
    out = asyncio.run(aremember({"belief": belief, "turn": 1}, rt))
    stored = load_profile(runtime.store, "bo")
    assert stored is not None and stored.facts.liked == [fakes.BABADOOK] and stored.threads == 1
    assert out["profile"] == stored.model_dump(mode="json")
    assert asyncio.run(aremember({"belief": belief, "turn": 2, "profile": out["profile"]}, rt)) == {}
    assert asyncio.run(aremember({"belief": belief}, runtime)) == {}


def test_profile_facts_merge_latest_wins() -> None:
    old = ProfileFacts(liked=["a", "b"], disliked=["c"], genres_liked=["horror"])
    new = ProfileFacts(liked=["c"], disliked=["a"], genres_disliked=["horror"])
    m = merge_facts(old, new)
    assert m.liked == ["b", "c"] and m.disliked == ["a"] and m.genres_liked == [] and m.genres_disliked == ["horror"]
    assert summarize(ProfileFacts()) == ""
    assert summarize(m, {"c": "Cee"}).startswith("The user liked Cee and b")
    assert Profile(user_id="x").facts == ProfileFacts()


def test_llm_answers_and_questions_must_stay_on_topic(runtime: Any, fakes: Any) -> None:
    respond = make_respond(VARIANT_SPECS["full"])
    base = {
        "belief": {"recommended": [fakes.US]},
        "focus": [fakes.US],
        "candidates": _cands(fakes.GET_OUT),
        "messages": [HumanMessage(content="who directed it?")],
    }
    off = respond({**base, "action": "answer"}, _llm_runtime(runtime, ScriptedChatModel(["I love chatting with you."])))
    assert "Jordan Peele" in off["messages"][0].content and off["usage"]["degraded"]  # the template answered
    on = respond(
        {**base, "action": "answer"}, _llm_runtime(runtime, ScriptedChatModel(["Us was directed by Jordan Peele."]))
    )
    assert on["messages"][0].content == "Us was directed by Jordan Peele." and not on["usage"].get("degraded")
    q = {
        "action": "elicit",
        "question": {"text": "What kind of movie?"},
        "belief": {},
        "messages": [HumanMessage(content="hi")],
    }
    bad = respond(q, _llm_runtime(runtime, ScriptedChatModel(["Hello there."])))
    assert bad["messages"][0].content == "What kind of movie?"
    good = respond(q, _llm_runtime(runtime, ScriptedChatModel(["Which genre do you fancy tonight?"])))
    assert good["messages"][0].content == "Which genre do you fancy tonight?"


def test_user_ids_with_periods_get_a_valid_store_namespace() -> None:
    from langgraph.store.memory import InMemoryStore

    from crsagent.agent.memory import Profile, ProfileFacts, load_profile, profile_namespace, save_profile

    store = InMemoryStore()
    for uid in ("1.0", "alice@example.com", "100%.sure", "plain"):
        save_profile(store, Profile(user_id=uid, facts=ProfileFacts(liked=["x"])))
        got = load_profile(store, uid)
        assert got is not None and got.user_id == uid and got.facts.liked == ["x"]
    assert profile_namespace("plain") == ("profile", "plain")
    assert profile_namespace("1.0") != profile_namespace("1%2E0")  # the encoding is one-to-one
