"""The understand node: deterministic reading, grounded LLM extraction, profile seeding."""

from __future__ import annotations

from typing import Any

from langchain_core.messages import AIMessage, HumanMessage

from crsagent.agent.errors import LLMUnavailableError
from crsagent.agent.memory import Profile, ProfileFacts, save_profile
from crsagent.agent.testing import ScriptedChatModel
from crsagent.graphs.context import CRSContext
from crsagent.graphs.dialogue.belief import liked_ids, merge_belief, resolved_constraints
from crsagent.graphs.dialogue.understanding import read_user_message
from crsagent.graphs.nodes.understand import AGENT_KEY, make_understand
from crsagent.graphs.variants import VARIANT_SPECS


def test_liked_title_and_year_constraint(toolkit: Any, fakes: Any) -> None:
    r = read_user_message(toolkit, "I loved the babadook, something from after 2010")
    assert r.update["items"] == {fakes.BABADOOK: {"opinion": "liked", "source": "linker"}}
    assert resolved_constraints(r.update) == {"year_min": 2011}
    assert r.mentioned == [fakes.BABADOOK]
    assert "soft" not in r.update  # nothing descriptive is left once the title and years are gone
    r2 = read_user_message(toolkit, "I loved The Babadook, something slow and creepy")
    assert r2.update["soft"] == ["something slow and creepy"]  # clean words, no "I loved," left over


def test_an_item_asked_for_by_name_is_mentioned_without_an_opinion(toolkit: Any, fakes: Any) -> None:
    r = read_user_message(toolkit, "please recommend the babadook")
    assert r.mentioned == [fakes.BABADOOK] and fakes.BABADOOK not in (r.update.get("items") or {})
    r2 = read_user_message(toolkit, "recommend something like the babadook")
    assert r2.update["items"] == {fakes.BABADOOK: {"opinion": "liked", "source": "linker"}}


def test_negation_marks_disliked_and_genre_negation(toolkit: Any, fakes: Any) -> None:
    r = read_user_message(toolkit, "I loved It Follows but I hated Superbad. No comedy please")
    items = r.update["items"]
    assert items[fakes.IT_FOLLOWS]["opinion"] == "liked"
    assert items[fakes.SUPERBAD]["opinion"] == "disliked"
    assert r.update["genres"] == {"comedy": "dislike"}


def test_rejection_marks_the_last_recommendations(toolkit: Any, fakes: Any) -> None:
    last = [fakes.GET_OUT, fakes.US]
    # "that one" is one item: the top of the last list (issue 21), not the whole list
    r = read_user_message(toolkit, "Not that one, I don't like that.", last)
    assert r.dialogue_act == "reject" and r.cue
    assert r.update["rejected"] == [fakes.GET_OUT]
    assert r.update["items"] == {fakes.GET_OUT: {"opinion": "disliked", "source": "user-reject"}}
    # "that one" after a question about an item is that item
    focused = read_user_message(toolkit, "not that one", last, last_focus=[fakes.US])
    assert focused.update["rejected"] == [fakes.US]
    # "none of them" is the whole list
    assert read_user_message(toolkit, "none of them, I don't like those", last).update["rejected"] == last
    # "seen it" turns the item down without saying the user disliked it
    seen = read_user_message(toolkit, "Not that one, I've seen it.", last)
    assert seen.update["rejected"] == [fakes.GET_OUT] and "items" not in seen.update
    # an ordinal picks one of them
    r2 = read_user_message(toolkit, "no, not the second one", last)
    assert r2.update["rejected"] == [fakes.US]
    # without earlier recommendations "no" is not a rejection
    assert read_user_message(toolkit, "no", []).dialogue_act != "reject"


def test_questions_set_focus_without_opinions(toolkit: Any, fakes: Any) -> None:
    last = [fakes.GET_OUT, fakes.US]
    r = read_user_message(toolkit, "Why would I like the first one?", last)
    assert (r.dialogue_act, r.focus) == ("explain", [fakes.GET_OUT])
    r = read_user_message(toolkit, "Who directed Alien?", last)
    assert (r.dialogue_act, r.focus) == ("ask_fact", [fakes.ALIEN])
    assert "items" not in r.update


def _state(*texts: str, **extra: Any) -> dict[str, Any]:
    return {"messages": [HumanMessage(content=t) for t in texts], **extra}


def test_node_reads_only_new_messages_and_uses_last_recommendations(runtime: Any, fakes: Any) -> None:
    node = make_understand(VARIANT_SPECS["crs-only"])
    prev = AIMessage(content="Try Get Out.", additional_kwargs={AGENT_KEY: {"recommended": [fakes.GET_OUT]}})
    state = {
        "messages": [HumanMessage(content="I love Alien"), prev, HumanMessage(content="seen it already")],
        "cursor": 2,
        "turn": 1,
    }
    out = node(state, runtime)
    assert out["dialogue_act"] == "reject"
    assert out["belief"]["rejected"] == [fakes.GET_OUT]
    assert fakes.ALIEN not in (out["belief"].get("items") or {})  # before the cursor: already read
    assert out["cursor"] == 3 and out["turn"] == 2
    assert out["usage"]["reset"] is True


def test_history_mode_links_assistant_messages(runtime: Any, fakes: Any) -> None:
    node = make_understand(VARIANT_SPECS["crs-only"])
    state = {
        "messages": [
            HumanMessage(content="I like horror"),
            AIMessage(content="Have you seen Us?"),
            HumanMessage(content="nope, seen it"),
        ]
    }
    out = node(state, runtime)
    assert out["belief"]["rejected"] == [fakes.US]
    assert fakes.US in out["belief"]["mentioned"]
    assert out["belief"]["genres"] == {"horror": "like"}


def test_profile_seeds_the_first_turn_only(runtime: Any, fakes: Any) -> None:
    save_profile(runtime.store, Profile(user_id="u1", facts=ProfileFacts(liked=[fakes.ALIEN], rejected=[fakes.US])))
    ctx = CRSContext(toolkit=runtime.context.toolkit, user_id="u1")
    rt = type(runtime)(context=ctx, store=runtime.store)
    node = make_understand(VARIANT_SPECS["crs-only"])
    out = node(_state("hello"), rt)
    b = merge_belief({}, out["belief"])
    assert liked_ids(b) == [fakes.ALIEN] and b["items"][fakes.ALIEN]["source"] == "profile"
    assert b["rejected"] == [fakes.US]
    assert node(_state("hello", turn=3), rt)["belief"].get("items") is None


def _llm_ctx(runtime: Any, llm: Any) -> Any:
    return type(runtime)(context=CRSContext(toolkit=runtime.context.toolkit, llm=llm), store=runtime.store)


def test_llm_extraction_is_grounded_and_never_overrides(runtime: Any, fakes: Any) -> None:
    answer = {
        "dialogue_act": "recommend",
        "liked_titles": ["Hereditary", "A Movie Not In The Catalogue"],
        "disliked_titles": ["The Babadook"],  # contradicts the linker: ignored
        "liked_genres": ["Thriller", "space opera"],
        "disliked_genres": [],
        "people": ["Jordan Peele", "Steven Spielberg"],  # Spielberg is not in the message
        "year_min": 1990,  # the message has no year cue: ignored
        "year_max": None,
        "preferences": "slow and creepy",
    }
    llm = ScriptedChatModel([answer])
    node = make_understand(VARIANT_SPECS["full"])
    text = "I loved The Babadook and that creepy Toni Collette film, anything like Peele's films"
    out = node(_state(text), _llm_ctx(runtime, llm))
    llm.assert_exhausted()
    b = out["belief"]
    assert b["items"][fakes.BABADOOK] == {"opinion": "liked", "source": "linker"}
    assert b["items"][fakes.HEREDITARY] == {"opinion": "liked", "source": "llm"}
    assert len(b["items"]) == 2
    assert b["genres"] == {"thriller": "like"}
    assert b["people"] == {"Jordan Peele": "like"}
    assert "constraints" not in b
    assert out["dialogue_act"] == "recommend"  # the cue ("anything like") agreed
    assert out["usage"]["llm_calls"] == 1 and not out["usage"].get("degraded")
    assert llm.requests[0].json_schema is not None  # structured output was asked for


def test_malformed_llm_output_is_repaired_once_then_degrades(runtime: Any, fakes: Any) -> None:
    llm = ScriptedChatModel(["this is not json", "still not json"])
    node = make_understand(VARIANT_SPECS["full"])
    out = node(_state("I loved The Babadook"), _llm_ctx(runtime, llm))
    llm.assert_exhausted()
    assert out["usage"]["degraded"] and out["usage"]["llm_calls"] == 2
    assert out["belief"]["items"] == {fakes.BABADOOK: {"opinion": "liked", "source": "linker"}}


def test_unreachable_llm_degrades_to_the_deterministic_reading(runtime: Any, fakes: Any) -> None:
    llm = ScriptedChatModel([LLMUnavailableError("down")])
    out = make_understand(VARIANT_SPECS["llm-assists-crs"])(_state("horror after 2010"), _llm_ctx(runtime, llm))
    assert out["usage"]["degraded"]
    assert out["belief"]["genres"] == {"horror": "like"}
    assert resolved_constraints(out["belief"]) == {"year_min": 2011}


def test_crs_only_never_calls_the_llm(runtime: Any) -> None:
    llm = ScriptedChatModel([])  # any call raises UnexpectedCallError
    out = make_understand(VARIANT_SPECS["crs-only"])(_state("I loved The Babadook"), _llm_ctx(runtime, llm))
    assert not llm.requests and out["usage"] == {"reset": True}
