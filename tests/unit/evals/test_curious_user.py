"""The curious simulated user: deterministic choices, no title leak, wordings apart from the behaviour suite."""

from __future__ import annotations

import itertools

import pytest
import yaml

from crsagent.agent.turns import Recommendation, TurnResult
from crsagent.evals.behaviour import CONVERSATIONS_DIR
from crsagent.evals.simulators import Target
from crsagent.evals.simulators.base import leaks_title
from crsagent.evals.simulators.curious import CHITCHAT, GREETINGS, ORDINALS, QUESTIONS, CuriousSimulator, CuriousUser
from crsagent.graphs.dialogue.cues import asked_field, detect_act

# The suite's own titles among the list items, so a wording that copies a suite line would collide.
TITLES = ["Inception", "Titanic", "Jaws", "Split", "Heat", "Alien", "Arrival", "The Babadook", "Toy Story"]


@pytest.fixture
def catalogue(fake_item_cls):
    items = [
        fake_item_cls(f"m{i}", t, 1990 + i, ["drama"], [f"Director {i}"], [f"Actor {i}"], plot="A story.")
        for i, t in enumerate(TITLES)
    ]
    items.append(fake_item_cls("namesake", "The Shining", 1997, ["horror"], ["Mick Garris"], ["Steven Weber"]))
    return {it.item_id: it for it in items}


SHINING = Target(
    item_id="t-shining", title="The Shining", year=1980, genres=["horror", "drama"], cast=["Jack Nicholson"]
)


_TITLE_OF = {f"m{i}": t for i, t in enumerate(TITLES)} | {"namesake": "The Shining"}


def _list(ids: list[str], shown: list[str] | None = None) -> TurnResult:
    return TurnResult(
        reply="You might like: " + "; ".join(_TITLE_OF[i] for i in shown or ids),
        action="recommend",
        recommendations=[Recommendation(item_id=i, title=i, score=1.0) for i in ids],
    )


def _dialogue(user: CuriousUser, lists: list[list[str]]) -> list[str]:
    said = [user.first_message().text]
    for ids in lists:
        said.append(user.reply(_list(ids)).text)
    return said


def _suite_lines() -> set[str]:
    lines: set[str] = set()
    for path in sorted(CONVERSATIONS_DIR.glob("*.yaml")):
        for conv in yaml.safe_load(path.read_text()) or []:
            for turn in conv.get("turns") or []:
                if isinstance(turn, dict) and turn.get("user"):
                    lines.add(str(turn["user"]).strip().lower())
    return lines


def _lists() -> list[list[str]]:
    ids = [f"m{i}" for i in range(len(TITLES))]
    return [ids[i : i + 3] for i in range(0, len(ids), 3)] * 2


def test_the_same_target_and_seed_give_the_same_dialogue(catalogue) -> None:
    sim = CuriousSimulator(catalogue.get)
    for seed in range(20):
        first = _dialogue(sim.new_user(SHINING, seed=seed), _lists())
        again = _dialogue(sim.new_user(SHINING, seed=seed), _lists())
        assert first == again
    assert len({tuple(_dialogue(sim.new_user(SHINING, seed=s), _lists())) for s in range(20)}) > 1


def test_it_asks_thanks_and_goes_on_with_its_agenda(catalogue) -> None:
    sim = CuriousSimulator(catalogue.get)
    said = [t for s in range(40) for t in _dialogue(sim.new_user(SHINING, seed=s), _lists())]
    assert any(t in CHITCHAT for t in said) and any(t in GREETINGS for t in said)
    assert any(t.startswith("No, that's not it.") for t in said)  # the put-off list is still rejected
    kinds = {k for s in range(40) for k, _ in _user_asked(sim.new_user(SHINING, seed=s))}
    assert kinds == set(QUESTIONS["movies"])
    always = CuriousUser(SHINING, catalogue.get, p_question=1.0, p_greeting=0.0, seed=3)
    always.first_message()
    asked = always.reply(_list(["m0", "m1", "m2"]))
    assert always.last_asked is not None and asked.text.endswith("?")
    assert always.reply(TurnResult(reply="Director 0 directed it.", action="answer")).text.startswith("No, that's not")


def _user_asked(user: CuriousUser) -> list[tuple[str, str]]:
    _dialogue(user, _lists())
    return user.asked


def test_it_never_says_the_title_even_when_a_namesake_is_listed(catalogue) -> None:
    for seed in range(60):
        user = CuriousUser(SHINING, catalogue.get, seed=seed, p_question=1.0, p_greeting=0.5)
        for text in _dialogue(user, [["namesake", "m0", "m1"], ["m2", "namesake"], ["namesake"]]):
            assert not leaks_title(text, SHINING), text


def test_the_questions_read_as_the_intended_act_and_field() -> None:
    refs = {
        "movies": [*TITLES, "Monsters, Inc.", "the second one"],
        "office": ["Paper Mate Flair Felt Tip Pens, Medium Point (0.7mm), 14 Count", "the third one"],
    }
    for domain, kinds in QUESTIONS.items():
        for kind, wordings in kinds.items():
            for wording, ref in itertools.product(wordings, refs[domain]):
                act, _ = detect_act(wording.format(ref=ref), has_recent_recs=True)
                assert act == ("explain" if kind == "why" else "ask_fact"), (domain, wording, ref)
                if kind != "why":
                    assert asked_field(wording.format(ref=ref)) == kind, (wording, ref)
    for line in CHITCHAT:
        assert detect_act(line, has_recent_recs=True)[0] == "chitchat", line


def test_no_generated_line_is_a_behaviour_suite_line(catalogue) -> None:
    suite = _suite_lines()
    assert "who directed the first one?" in suite and "thanks, that's great" in suite  # the suite was read
    refs = [*TITLES, *(f"the {o} one" for o in ORDINALS), *(f"The {o} one" for o in ORDINALS)]
    generated = {w.format(ref=r) for kinds in QUESTIONS.values() for ws in kinds.values() for w in ws for r in refs}
    generated |= set(CHITCHAT) | set(GREETINGS)
    sim = CuriousSimulator(catalogue.get)
    generated |= {t for s in range(40) for t in _dialogue(sim.new_user(SHINING, seed=s), _lists())}
    assert not {g.strip().lower() for g in generated} & suite


def test_a_position_counts_in_the_order_the_reply_shows(catalogue) -> None:
    seen = 0
    for seed in range(80):
        user = CuriousUser(SHINING, catalogue.get, seed=seed, p_question=1.0, p_greeting=0.0)
        user.first_message()
        text = user.reply(_list(["m0", "m1", "m2"], shown=["m2", "m0", "m1"])).text  # shown order differs
        assert user.last_asked is not None
        for n, item in enumerate(["m2", "m0", "m1"]):
            if f"the {ORDINALS[n]} one" in text.lower():
                assert user.last_asked[1] == item, (text, user.last_asked)
                seen += 1
    assert seen >= 5


def test_bad_settings_are_refused(catalogue) -> None:
    with pytest.raises(ValueError, match="domain"):
        CuriousUser(SHINING, catalogue.get, domain="books")
    with pytest.raises(ValueError, match="p_question"):
        CuriousUser(SHINING, catalogue.get, p_question=1.5)
