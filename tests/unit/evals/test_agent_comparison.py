"""``eval agent`` on several models in one sitting: rows, shared material, per-sample outcomes."""

from __future__ import annotations

import pytest

from crsagent.agent.errors import LLMUnavailableError
from crsagent.agent.turns import TurnResult, Usage
from crsagent.evals.agent_eval import check_turns, flat_figures, run_agent_comparison
from crsagent.evals.datasets import load_turns


class _Runner:
    """A replay runner: ``ranking`` for every history; ``fallback`` marks its turns; ``fail`` raises on call n."""

    variant = "agent"

    def __init__(self, ranking: list[str], *, fallback: bool = False, fail: int | None = None) -> None:
        self.ranking, self.fallback, self.fail = ranking, fallback, fail
        self.histories: list[tuple[str, ...]] = []

    def run_history(self, messages, *, user_id=None, ranking_k=50):
        self.histories.append(tuple(m.content for m in messages))
        if self.fail is not None and len(self.histories) == self.fail:
            raise LLMUnavailableError("down")
        from crsagent.agent.turns import Recommendation

        return TurnResult(
            reply="ok",
            action="recommend",
            fallback=self.fallback,
            fallback_reason="guard_rejected" if self.fallback else None,
            ranking=[Recommendation(item_id=i, title="x", score=1.0) for i in self.ranking],
            usage=Usage(llm_calls=1, total_tokens=10),
        )


@pytest.fixture(scope="module")
def held_turns(turns_path):
    turns = [t for t in check_turns(load_turns(turns_path), 40, seed=0) if t.rec][:6]
    assert len(turns) == 6
    return turns


def test_rows_per_model_then_crs_only_on_the_same_turns(held_turns, resolver) -> None:
    truth = [i for t in held_turns for title in t.rec if (i := resolver.resolve(title))]
    runners = {"tuned": _Runner(truth[:10]), "base": _Runner([], fallback=True)}
    crs = _Runner(truth[:10])
    rows = run_agent_comparison(
        runners.__getitem__, lambda: crs, ["tuned", "base"], held_turns, resolver, [], dialogues=0, seed=0
    )
    assert [(r["variant"], r["model"]) for r in rows] == [("agent", "tuned"), ("agent", "base"), ("crs-only", None)]
    # every model saw exactly the histories crs-only saw, in the same order
    assert runners["tuned"].histories == runners["base"].histories == crs.histories and len(crs.histories) == 6
    tuned, base, crs_row = rows
    assert tuned["replay_recall@10"] > 0 and base["replay_recall@10"] == 0.0
    assert tuned["replay_recall@10"] == crs_row["replay_recall@10"]
    assert (
        set(tuned["samples"]["replay_ranks"])
        == set(base["samples"]["replay_ranks"])
        == set(crs_row["samples"]["replay_ranks"])
    )
    assert tuned["fallback_rate"] == 0.0 and base["fallback_rate"] == 1.0
    assert [t["fallback"] for t in base["samples"]["turns"]] == [True] * 6
    assert {t["source"] for t in tuned["samples"]["turns"]} == {"replay"}
    assert (
        tuned["teacher_action_agreement"] == 1.0 and base["teacher_action_agreement"] is None
    )  # fallbacks don't count
    flat = flat_figures(tuned, crs_row)
    assert (
        flat["crs_only_replay_recall@10"] == crs_row["replay_recall@10"]
        and "samples" not in flat
        and "model" not in flat
    )


def test_one_model_failing_a_turn_does_not_drop_it_for_the_others(held_turns, resolver) -> None:
    runners = {"a": _Runner(["x"], fail=2), "b": _Runner(["x"])}
    rows = run_agent_comparison(
        runners.__getitem__, lambda: _Runner(["x"]), ["a", "b"], held_turns, resolver, [], dialogues=0, seed=0
    )
    assert rows[0]["replay_errors"] == 1 and rows[1]["replay_errors"] == 0
    assert len(rows[0]["samples"]["replay_ranks"]) < len(rows[1]["samples"]["replay_ranks"])
    assert rows[0]["turns"] == 5 and rows[1]["turns"] == 6


@pytest.mark.parametrize("models", [[], ["a", "a"]])
def test_models_must_be_distinct_and_present(models, held_turns, resolver) -> None:
    with pytest.raises(ValueError):
        run_agent_comparison(
            lambda m: _Runner([]), lambda: _Runner([]), models, held_turns, resolver, [], dialogues=0, seed=0
        )


class _SimRunner:
    """A simulator-facing runner that recommends ``ids`` every turn (or nothing)."""

    variant = "agent"

    def __init__(self, ids: list[str]) -> None:
        self.ids, self.threads = ids, []  # type: list[str], list[str]

    def turn(self, text, *, thread_id, user_id=None):
        from crsagent.agent.turns import Recommendation

        self.threads.append(thread_id)
        recs = [Recommendation(item_id=i, title="x", score=1.0) for i in self.ids]
        return TurnResult(
            reply="Here.",
            action="recommend" if recs else "elicit",
            recommendations=recs,
            usage=Usage(llm_calls=1, total_tokens=10),
        )


def test_llm_simulator_rows_beside_the_agenda_ones(redial_items) -> None:
    from crsagent.agent.testing import ScriptedChatModel
    from crsagent.evals.agent_eval import simulator_targets
    from crsagent.evals.simulators import LLMSimulator

    targets = [t.item_id for t in simulator_targets(redial_items, 2, seed=5)]
    runners = {"tuned": _SimRunner(targets), "base": _SimRunner([])}
    crs = _SimRunner(targets)
    # users speak first (2 dialogues x 3 runners), then only the base agent's users reply (2 x 2 turns)
    llm = ScriptedChatModel(["Something tense and clever, please."] * 6 + ["Not quite, another one?"] * 4)
    rows = run_agent_comparison(
        runners.__getitem__,
        lambda: crs,
        ["tuned", "base"],
        [],
        None,
        redial_items,
        dialogues=0,
        seed=5,
        max_turns=3,
        llm_dialogues=2,
        llm_simulator=LLMSimulator(llm),
    )
    tuned, base, crs_row = rows
    assert tuned["llm_sim_targets"] == targets and tuned["llm_sim_dialogues"] == 2
    assert (tuned["llm_sim_success_at_5"], base["llm_sim_success_at_5"], crs_row["llm_sim_success_at_5"]) == (
        1.0,
        0.0,
        1.0,
    )
    assert base["samples"]["llm_sim_success"] == [0, 0] and tuned["samples"]["llm_sim_success"] == [1, 1]
    assert tuned["sim_success_at_5"] is None  # no agenda dialogues asked
    assert len(runners["base"].threads) == 6 and all("llm_sim" in t for t in runners["base"].threads)
    llm.assert_exhausted()
    assert flat_figures(tuned, crs_row)["crs_only_llm_sim_success_at_5"] == 1.0
    with pytest.raises(ValueError):
        run_agent_comparison(
            runners.__getitem__, lambda: crs, ["tuned"], [], None, redial_items, dialogues=0, seed=5, llm_dialogues=1
        )
