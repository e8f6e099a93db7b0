"""The ReDial linking protocol: case preparation and micro precision / recall."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from crsagent.agent.errors import DataError
from crsagent.evals.linker_eval import evaluate, load_audit, load_cases


def _dialogue(cid: str, seeker: int, messages: list[tuple[int, str]], mentions: dict[str, str]) -> str:
    return json.dumps({
        "conversationId": cid, "initiatorWorkerId": seeker, "respondentWorkerId": 99, "movieMentions": mentions,
        "messages": [{"senderWorkerId": w, "text": t, "turn_id": i} for i, (w, t) in enumerate(messages)],
    })  # fmt: skip


@pytest.fixture()
def dialogues(tmp_path: Path) -> Path:
    path = tmp_path / "d.jsonl"
    path.write_text(
        "\n".join(
            [
                _dialogue(
                    "1",
                    7,
                    [(99, "hi, seen @111?"), (7, "I loved @111 and @222"), (7, "no thanks")],
                    {"111": "The Babadook (2014)", "222": "Why Him%3f  (2016)"},
                ),
                _dialogue("2", 8, [(8, "what about @333 ?"), (99, "try @111")], {"333": "Heat (1995)"}),
            ]
        )  # fmt: skip
        + "\n"
    )
    return path


def test_cases_take_seeker_messages_and_lower_case_titles(dialogues: Path) -> None:
    cases = load_cases(dialogues, {"111": "tt1", "222": "tt2"})
    assert [c.text for c in cases] == ["I loved the babadook and why him?", "no thanks", "what about heat ?"]
    first = cases[0]
    assert first.gold == frozenset({"tt1", "tt2"}) and first.unmapped == 0
    assert [first.text[a:b] for a, b, _ in first.spans] == ["the babadook", "why him?"]
    assert cases[2].gold == frozenset() and cases[2].unmapped == 1  # 333 is not in the catalogue
    assert len(load_cases(dialogues, {}, limit=1)) == 2
    assert [c.dialogue_id for c in load_cases(dialogues, {}, every=2)] == ["1", "1"]


@dataclass
class _M:
    item_id: str
    start: int
    end: int


def test_micro_precision_recall(dialogues: Path) -> None:
    cases = load_cases(dialogues, {"111": "tt1", "222": "tt2"})

    def link(text: str) -> list[_M]:
        if text.startswith("I loved"):
            return [_M("tt1", 8, 20), _M("tt9", 25, 33)]  # one right, one wrong at a title
        if text == "no thanks":
            return [_M("tt5", 0, 2)]  # a link outside any title
        return []

    r = evaluate(link, cases)
    assert (r.true_positives, r.false_positives, r.false_negatives) == (1, 2, 2)  # tt2 missed, 333 unmapped
    assert r.precision == pytest.approx(1 / 3, abs=1e-4) and r.recall == pytest.approx(1 / 3, abs=1e-4)
    assert r.title_precision == 0.5 and r.links_outside_titles == 1
    assert r.messages == 3 and len(r.errors) == 3


def test_malformed_files_raise_data_error(tmp_path: Path) -> None:
    with pytest.raises(DataError):
        load_cases(tmp_path / "missing.jsonl", {})
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"messages": []}\n')
    with pytest.raises(DataError, match="line 1"):
        load_cases(bad, {})


def test_audit_counts_hand_labelled_links_outside_the_titles(dialogues: Path, tmp_path: Path) -> None:
    cases = load_cases(dialogues, {"111": "tt1", "222": "tt2"})

    def link(text: str) -> list[_M]:
        if text.startswith("I loved"):
            return [_M("tt1", 8, 20), _M("tt2", 25, 33), _M("tt7", 0, 1)]  # two right, one outside
        if text == "no thanks":
            return [_M("tt5", 0, 2), _M("tt6", 3, 9)]  # two outside the titles
        return []

    audit_file = tmp_path / "audit.jsonl"
    rows = [
        {"dialogue_id": "1", "turn_id": 1, "item_id": "tt7", "surface": "I", "correct": True, "why": "typed title"},
        {"dialogue_id": "1", "turn_id": 2, "item_id": "tt5", "surface": "no", "correct": False, "why": "the word"},
    ]
    audit_file.write_text("".join(json.dumps(r) + "\n" for r in rows))
    audit = load_audit(audit_file)
    assert audit == {("1", 1, "tt7"): True, ("1", 2, "tt5"): False}

    strict = evaluate(link, cases)
    assert strict.audited_precision is None and strict.audited_links == 0
    r = evaluate(link, cases, audit=audit)
    assert r.precision == strict.precision == pytest.approx(2 / 5)  # the strict figure does not change
    assert r.audited_precision == pytest.approx(3 / 5)  # tt7 labelled right; tt5 wrong; tt6 unlabelled
    assert r.audited_links == 2 and r.links_outside_titles == 3


def test_missing_audit_is_empty_and_bad_rows_raise(tmp_path: Path) -> None:
    assert load_audit(tmp_path / "none.jsonl") == {}
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"dialogue_id": "1"}\n')
    with pytest.raises(DataError, match="line 1"):
        load_audit(bad)
