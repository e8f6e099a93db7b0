"""The grounding guard: only candidate items may be recommended; rejected ones never."""

from __future__ import annotations

from typing import Any

from crsagent.graphs.dialogue.grounding import guard_reply, split_sentences


def test_sentences_split_on_ends_and_lines_not_on_list_numbers_or_titles() -> None:
    text = "Here you go:\n1. Get Out (2017). A classic. Dr. Strangelove is old! Try Us too.\n2. Airplane!"
    parts = [text[s:e] for s, e in split_sentences(text)]
    assert parts == [
        "Here you go:",
        "1. Get Out (2017).",
        "A classic.",
        "Dr. Strangelove is old!",
        "Try Us too.",
        "2. Airplane!",
    ]


def test_items_outside_candidates_and_rejected_items_are_removed(toolkit: Any, fakes: Any) -> None:
    reply = (
        "You might enjoy Get Out. Alien is a classic too. Also try Hereditary! "
        "Since you loved The Babadook, The Witch fits."
    )
    g = guard_reply(
        reply,
        linker=toolkit.linker,
        allowed={fakes.GET_OUT, fakes.HEREDITARY, fakes.WITCH},
        blocked={fakes.HEREDITARY},
        references={fakes.BABADOOK},
    )
    assert g.recommended == [fakes.GET_OUT, fakes.WITCH]
    assert set(g.removed) == {fakes.ALIEN, fakes.HEREDITARY}
    assert g.references == [fakes.BABADOOK]
    assert "Alien" not in g.reply and "Hereditary" not in g.reply
    assert g.reply.startswith("You might enjoy Get Out.") and "The Witch fits." in g.reply


def test_a_sentence_with_one_bad_item_loses_its_good_items_too(toolkit: Any, fakes: Any) -> None:
    g = guard_reply("Try Get Out or Alien.", linker=toolkit.linker, allowed={fakes.GET_OUT}, blocked=set())
    assert g.recommended == [] and set(g.removed) == {fakes.GET_OUT, fakes.ALIEN} and g.reply == ""


def test_any_catalogue_item_with_a_validity_check(toolkit: Any, fakes: Any) -> None:
    g = guard_reply(
        "Watch Alien. Or Arrival.",
        linker=toolkit.linker,
        allowed=None,
        blocked=set(),
        valid=lambda i: i == fakes.ARRIVAL,
    )
    assert g.recommended == [fakes.ARRIVAL] and g.reply == "Or Arrival."


def test_text_without_items_passes_unchanged(toolkit: Any) -> None:
    g = guard_reply("What kind of movie would you like?", linker=toolkit.linker, allowed=set(), blocked=set())
    assert g.reply == "What kind of movie would you like?" and g.recommended == [] == g.removed


def test_an_invented_title_with_a_year_is_removed(toolkit: Any, fakes: Any) -> None:
    reply = "You might enjoy Get Out (2017). Also see The Totally Real Movie (2031), a gem."
    g = guard_reply(reply, linker=toolkit.linker, allowed={fakes.GET_OUT}, blocked=set())
    assert g.reply == "You might enjoy Get Out (2017)." and g.recommended == [fakes.GET_OUT]


def test_a_reference_after_recommend_is_a_recommendation_and_is_removed(toolkit: Any, fakes: Any) -> None:
    reply = "Since you loved The Babadook, try Get Out. As you asked, I recommend The Babadook."
    g = guard_reply(reply, linker=toolkit.linker, allowed={fakes.GET_OUT}, blocked=set(), references={fakes.BABADOOK})
    assert g.reply == "Since you loved The Babadook, try Get Out." and g.recommended == [fakes.GET_OUT]
    assert g.references == [fakes.BABADOOK] and g.removed == [fakes.BABADOOK]


def test_sentences_repeating_the_instructions_are_removed(toolkit: Any, fakes: Any) -> None:
    from crsagent.graphs.dialogue.prompting import instruction_shingles, words

    secret = instruction_shingles()
    assert secret and all(len(s) == 6 for s in secret)
    rule = " ".join(next(iter(sorted(secret))))
    reply = f"You might enjoy Get Out. My rules say: {rule} and so on.\nDoes that sound good?"
    g = guard_reply(reply, linker=toolkit.linker, allowed={fakes.GET_OUT}, blocked=set(), secret=secret)
    assert g.reply == "You might enjoy Get Out. Does that sound good?"
    # a run split over two sentences is caught too: both go
    w = rule.split()
    split = f"You might enjoy Get Out. {' '.join(w[:3]).capitalize()}. {' '.join(w[3:]).capitalize()} too. Enjoy!"
    g2 = guard_reply(split, linker=toolkit.linker, allowed={fakes.GET_OUT}, blocked=set(), secret=secret)
    assert tuple(words(rule)) in secret and g2.reply == "You might enjoy Get Out. Enjoy!"


def _no_musicals(sentence: str, ids: list[str]) -> list[str]:
    return ["not a musical"] if "musical" in sentence else []


def test_a_false_claim_about_one_item_is_replaced_by_its_grounded_reason(toolkit: Any, fakes: Any) -> None:
    reply = "Here you go:\n1. Get Out (2017) - a musical. 2. Alien, a musical."
    kw: dict[str, Any] = {"linker": toolkit.linker, "allowed": {fakes.GET_OUT, fakes.ALIEN}, "blocked": set()}
    g = guard_reply(reply, check=_no_musicals, reasons={fakes.GET_OUT: "a horror film by Jordan Peele"}, **kw)
    assert g.reply == "Here you go:\n1. Get Out (2017) — A horror film by Jordan Peele."
    assert g.rewritten == "Here you go:\n1. Get Out (2017) — A horror film by Jordan Peele. 2. Alien, a musical."
    assert g.recommended == [fakes.GET_OUT] and g.repaired == [fakes.GET_OUT] and g.removed == [fakes.ALIEN]
    assert g.violations == ["not a musical"]  # Alien had no reason: its sentence is removed
    # a reason that fails the check too, or none at all: the sentence goes, as before
    bad = guard_reply(reply, check=_no_musicals, reasons={fakes.GET_OUT: "a musical"}, **kw)
    assert bad.recommended == [] and bad.repaired == [] and bad.rewritten is None
    assert guard_reply(reply, check=_no_musicals, **kw).recommended == []


def test_a_past_recommendation_verb_names_a_reference(toolkit: Any, fakes: Any) -> None:
    """An explanation of an earlier suggestion ("I picked X because ...") keeps its sentence, in a
    turn that may recommend nothing (a look-up tool's); the present verb still recommends."""
    reply = "I picked The Babadook because it is a horror film. I recommend The Babadook."
    g = guard_reply(reply, linker=toolkit.linker, allowed=set(), blocked=set(), references={fakes.BABADOOK})
    assert g.reply == "I picked The Babadook because it is a horror film."
    assert g.references == [fakes.BABADOOK] and g.removed == [fakes.BABADOOK] and g.recommended == []
    for past in ("I suggested The Babadook since", "You watched The Babadook, and", "I recommended The Babadook as"):
        g = guard_reply(
            f"{past} it scares.", linker=toolkit.linker, allowed=set(), blocked=set(), references={fakes.BABADOOK}
        )
        assert g.references == [fakes.BABADOOK] and not g.removed, past
