"""Synthetic dialogues for MovieLens users' held-out items."""

from __future__ import annotations

import json

from crsagent.agent.settings import default_data_dir
from crsagent.agent.turns import Recommendation, TurnResult
from crsagent.evals.resume import PartialResults
from crsagent.evals.simulators import AgendaSimulator
from crsagent.evals.synthetic import SyntheticCase, persona_for, synthetic_cases, write_synthetic


def test_cases_are_seeded_held_out_items():
    a = synthetic_cases(default_data_dir(), 4, seed=1)
    b = synthetic_cases(default_data_dir(), 4, seed=1)
    assert a == b and len(a) == 4
    for c in a:
        assert c.user_id.startswith("ml-") and c.target_id.startswith("tt")
        assert c.target_id not in c.history[-1:]  # the target is held out of the history
    assert synthetic_cases(default_data_dir(), 3, seed=1, known_ids={a[0].target_id}) == [a[0]]


def test_persona_names_recent_favourites():
    assert persona_for(["A", "B", "C", "D", "E", "F"]) == "a viewer who recently enjoyed B, C, D, E, F"
    assert persona_for([]) == "a casual viewer"


def test_write_synthetic_lines_and_resume(tmp_path, fake_item_cls, scripted_agent_cls):
    items = {
        "tt1": fake_item_cls("tt1", "Target One", 1994, ["comedy"], [], ["An Actor"]),
        "tt2": fake_item_cls("tt2", "Other", 2001, ["drama"]),
        "tt3": fake_item_cls("tt3", "Liked Before", 1990, ["comedy"]),
    }
    cases = [
        SyntheticCase("ml-1", "tt1", ("tt3",)),
        SyntheticCase("ml-2", "tt2", ("tt3",)),
        SyntheticCase("ml-3", "tt404", ()),
    ]

    def script(i, text, thread_id):
        ids = ["tt1"] if "comedy" in text else []
        return TurnResult(
            reply="What genre?" if not ids else "Try this",
            recommendations=[Recommendation(item_id=x, title=x, score=1) for x in ids],
        )

    out = tmp_path / "syn.jsonl"
    with PartialResults(tmp_path / "syn.partial.jsonl", {"n": 3}) as p:
        summary = write_synthetic(
            scripted_agent_cls(script), AgendaSimulator(items.get), cases, items.get, out, max_turns=2, partial=p
        )
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert summary["dialogues"] == 2 and summary["skipped"] == 1 and summary["success_rate"] == 0.5
    assert [r["user_id"] for r in rows] == ["ml-1", "ml-2"]
    assert rows[0]["success"] and rows[0]["history"] == ["tt3"]
    assert rows[0]["messages"][0]["role"] == "user" and "comedy" in rows[0]["user_text"]
    assert "Target One" not in rows[0]["user_text"]
    assert not rows[1]["success"] and rows[1]["turns"] == 2
    with PartialResults(tmp_path / "syn.partial.jsonl", {"n": 3}) as p:
        again = write_synthetic(
            scripted_agent_cls(lambda *a: 1 / 0), AgendaSimulator(items.get), cases, items.get, out, partial=p
        )
    assert again["dialogues"] == 2
