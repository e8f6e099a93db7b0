"""``crsagent eval trajectories`` over the real builds: tuning half only, the node's own messages, deterministic."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from crsagent.agent.cli import app
from crsagent.agent.settings import Settings
from crsagent.evals.agent_eval import TRAJECTORY_TARGETS, check_turns, simulator_targets
from crsagent.evals.datasets import catalog_items, load_turns
from crsagent.evals.simulators import select_targets
from crsagent.evals.teacher import Teacher
from crsagent.evals.trajectories import (
    QUESTION_SIM_DIALOGUES,
    QUESTION_SIM_SEED,
    QUESTION_VALIDATION_SIM_SEED,
    TRAJECTORY_SIM_SEED,
    VALIDATION_SIM_SEED,
    redial_trajectories,
    simulator_trajectories,
)
from crsagent.tools.intent.split import HELDOUT, TRAIN, dialogue_split
from crsagent.tools.toolkit import Toolkit


@pytest.fixture(scope="module")
def produced(
    movies_home: Settings, office_home: Settings, tmp_path_factory: pytest.TempPathFactory
) -> tuple[list[dict], dict, Path]:
    out = tmp_path_factory.mktemp("traj") / "t.jsonl"
    args = [
        "eval",
        "trajectories",
        "--home",
        str(movies_home.home),
        "--json",
        str(out),
        "--turns",
        "40",
        "--sim-dialogues",
        "2",
        "--sim-question-dialogues",
        "1",
        "--max-turns",
        "3",
        "--seed",
        "3",
    ]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout.strip().splitlines()[-1])
    records = [json.loads(line) for line in out.read_text().splitlines()]
    return records, summary, out


def test_redial_trajectories_come_from_the_tuning_half_only(produced, movies_home: Settings) -> None:
    records, summary, _ = produced
    redial = [r for r in records if r["source"] == "redial"]
    assert redial, summary
    assert all(dialogue_split(r["dialog_id"]) == TRAIN for r in redial)
    held = {
        t.dialog_id
        for t in load_turns(movies_home.data_dir / "redial" / "dev_turns.jsonl")
        if dialogue_split(t.dialog_id) == HELDOUT
    }
    assert held and not held & {r["dialog_id"] for r in redial}
    assert summary["redial_turns"] == 40 and summary["redial_split"].startswith("train")


def test_a_check_half_turn_is_refused(movies_home: Settings) -> None:
    turns = load_turns(movies_home.data_dir / "redial" / "dev_turns.jsonl")
    held = [t for t in turns if dialogue_split(t.dialog_id) == HELDOUT][:1]
    teacher = Teacher(Toolkit.load(movies_home, "movies", eager=True))
    with pytest.raises(ValueError, match="not in the tuning half"):
        list(redial_trajectories(teacher, held))


def test_the_validation_split_draws_the_check_half_and_unseen_seeds(movies_home: Settings, tmp_path: Path) -> None:
    out = tmp_path / "valid.jsonl"
    args = [
        "eval",
        "trajectories",
        "--home",
        str(movies_home.home),
        "--json",
        str(out),
        "--split",
        "check",
        "--turns",
        "12",
        "--sim-dialogues",
        "1",
        "--sim-question-dialogues",
        "1",
        "--max-turns",
        "2",
        "--seed",
        "3",
    ]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout.strip().splitlines()[-1])
    records = [json.loads(line) for line in out.read_text().splitlines()]
    redial = [r for r in records if r["source"] == "redial"]
    assert redial and all(dialogue_split(r["dialog_id"]) == HELDOUT and r["split"] == HELDOUT for r in redial)
    assert summary["sim_seeds"] == {"movies": VALIDATION_SIM_SEED, "office": VALIDATION_SIM_SEED + 1}
    assert {r["seed"] for r in records if r["source"] == "agenda"} <= {VALIDATION_SIM_SEED, VALIDATION_SIM_SEED + 1}
    assert summary["question_seeds"] == {
        "movies": QUESTION_VALIDATION_SIM_SEED,
        "office": QUESTION_VALIDATION_SIM_SEED + 1,
    }
    assert {r["seed"] for r in records if r["source"] == "curious"} <= {
        QUESTION_VALIDATION_SIM_SEED,
        QUESTION_VALIDATION_SIM_SEED + 1,
    }
    bad = CliRunner().invoke(
        app, ["eval", "trajectories", "--home", str(movies_home.home), "--json", str(out), "--split", "test"]
    )
    assert bad.exit_code != 0 and "--split" in bad.output


def test_records_carry_the_bundled_models_compact_listing_and_the_belief(produced) -> None:
    records, _, _ = produced
    for r in records:
        names = [t["function"]["name"] for t in r["tools"]]
        assert "vector_search" not in names and "search_products" not in names  # the bundled profile omits them
        assert "maximum" not in json.dumps(r["tools"]) and "anyOf" not in json.dumps(r["tools"])  # compact schemas
        assert isinstance(r["belief"], dict)
    assert any(r["belief"].get("liked") or r["belief"].get("genres_liked") for r in records)


def test_records_hold_the_agent_nodes_messages_and_the_teachers_tool_calls(produced) -> None:
    records, summary, _ = produced
    assert set(summary["per_domain"]) == {"movies", "office"}
    assert summary["per_source"]["agenda"] >= 2 and summary["per_tool"].get("recommend", 0) >= 1
    for r in records:
        msgs = r["messages"]
        assert msgs[0]["role"] == "system" and "recommender" in msgs[0]["content"]
        assert msgs[-1]["role"] == "assistant" and msgs[-1]["content"].strip()
        names = {t["function"]["name"] for t in r["tools"]}
        assert {"recommend", "suggest_question", "get_items"} <= names
        calls = [c for m in msgs if m.get("tool_calls") for c in m["tool_calls"]]
        answered = {m["tool_call_id"] for m in msgs if m["role"] == "tool"}
        assert {c["id"] for c in calls} == answered  # every call has its ToolNode result
        assert [c["function"]["name"] for c in calls] == r["tools_called"]
        if r["action"] == "recommend":
            assert r["tools_called"] == ["recommend"]
            shown = json.loads(next(m["content"] for m in msgs if m["role"] == "tool"))["items"]
            assert any(it["title"].split(" (")[0] in msgs[-1]["content"] for it in shown)


def test_the_file_is_deterministic_for_a_seed(produced, movies_home: Settings, tmp_path: Path) -> None:
    _, _, first = produced
    again = tmp_path / "again.jsonl"
    args = [
        "eval",
        "trajectories",
        "--home",
        str(movies_home.home),
        "--json",
        str(again),
        "--turns",
        "40",
        "--sim-dialogues",
        "2",
        "--sim-question-dialogues",
        "1",
        "--max-turns",
        "3",
        "--seed",
        "3",
    ]
    assert CliRunner().invoke(app, args).exit_code == 0
    assert again.read_bytes() == first.read_bytes()


def test_eval_agent_material_is_held_out_from_the_trajectories(movies_home: Settings) -> None:
    items = catalog_items(movies_home)
    used = {t.item_id for t in select_targets(items, TRAJECTORY_TARGETS, seed=TRAJECTORY_SIM_SEED)}
    asked = {t.item_id for t in select_targets(items, QUESTION_SIM_DIALOGUES, seed=QUESTION_SIM_SEED)}
    picked = simulator_targets(items, 20, seed=0)
    assert len(picked) == 20 and not (used | asked) & {t.item_id for t in picked}
    for seed in (TRAJECTORY_SIM_SEED, QUESTION_SIM_SEED):
        with pytest.raises(ValueError):
            simulator_targets(items, 3, seed=seed)
    turns = check_turns(load_turns(movies_home.data_dir / "redial" / "dev_turns.jsonl"), 25, seed=0)
    assert len(turns) == 25 and all(dialogue_split(t.dialog_id) == HELDOUT for t in turns)


def test_curious_users_give_question_turns_the_teacher_answers_with_the_right_tool(movies_home: Settings) -> None:
    from collections import Counter

    teacher = Teacher(Toolkit.load(movies_home, "movies", eager=True))
    dropped: Counter[str] = Counter()
    records = list(
        simulator_trajectories(
            teacher, catalog_items(movies_home), 4, QUESTION_SIM_SEED, max_turns=4, dropped=dropped, curious=True
        )
    )
    assert records and {r["source"] for r in records} == {"curious"}
    assert {r["seed"] for r in records} <= set(range(QUESTION_SIM_SEED, QUESTION_SIM_SEED + 4))
    tool = {"answer": "get_items", "explain": "explain_items"}
    questions = [r for r in records if r["action"] in tool]
    assert questions, (Counter(r["action"] for r in records), dropped)
    for r in questions:
        assert r["tools_called"] == [tool[r["action"]]], r["id"]
        asked = [m for m in r["messages"] if m["role"] == "user"][-1]["content"]
        assert asked.endswith("?"), asked
        looked_up = json.loads(next(m["content"] for m in r["messages"] if m["role"] == "tool"))
        assert looked_up, r["id"]
    for r in records:
        if r["action"] == "chitchat":
            assert r["tools_called"] == []
