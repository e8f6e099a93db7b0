"""Replay scoring: metrics on hand-made rankings, a 20-turn slice with a known ranking, resume."""

from __future__ import annotations

import pytest

from crsagent.evals import metrics
from crsagent.evals.datasets import ReplayTurn, load_turns
from crsagent.evals.replay import PopularityRunner, recall_from_ranks, run_replay, score_turn, summarize
from crsagent.evals.resume import PartialResults


def test_recall_from_ranks_by_hand():
    ranks = [1, 3, 10, 11, None, 50, 51]
    assert recall_from_ranks(ranks, 1) == pytest.approx(1 / 7)
    assert recall_from_ranks(ranks, 10) == pytest.approx(3 / 7)
    assert recall_from_ranks(ranks, 50) == pytest.approx(5 / 7)
    assert recall_from_ranks([], 10) == 0.0


def test_recall_from_ranks_agrees_with_metrics_module():
    ranking = [f"i{n}" for n in range(60)]
    relevant = ["i0", "i4", "i9", "i10", "i49", "i55", "zz"]
    ranks = [ranking.index(r) + 1 if r in ranking else None for r in relevant]
    for k in (1, 10, 50):
        per_sample = sum(metrics.recall_at_k(ranking, {r}, k) for r in relevant) / len(relevant)
        assert recall_from_ranks(ranks, k) == pytest.approx(per_sample)


def _turn(context, entity, rec):
    return ReplayTurn(dialog_id="d", turn_id=1, context=context, entity=entity, rec=rec)


def test_score_turn_filtered_protocol(fake_item_cls):
    from crsagent.evals.datasets import TitleResolver

    items = [
        fake_item_cls("bab", "The Babadook", 2014),
        fake_item_cls("shi", "The Shining", 1980),
        fake_item_cls("x", "X", 2000),
    ]
    res = TitleResolver(items)
    turn = _turn(
        ["", "Hi", "I loved The Babadook (2014)"],
        ["The Babadook (2014)"],
        ["The Babadook (2014)", "The Shining (1980)", "Missing Movie (1950)"],
    )
    samples = score_turn(turn, ["bab", "x", "shi"], res)
    by = {s["title"]: s for s in samples}
    assert by["The Babadook (2014)"] == {
        "title": "The Babadook (2014)",
        "item_id": "bab",
        "rank": 1,
        "mentioned": True,
        "filtered_rank": None,
    }
    assert by["The Shining (1980)"]["rank"] == 3 and by["The Shining (1980)"]["filtered_rank"] == 2
    assert by["Missing Movie (1950)"]["item_id"] is None and by["Missing Movie (1950)"]["rank"] is None
    s = summarize([{"samples": samples}], ks=(1, 2, 3))
    assert (s["recall@1"], s["recall@3"], s["n"]) == (round(1 / 3, 4), round(2 / 3, 4), 3)
    assert (s["filtered_recall@1"], s["filtered_recall@2"], s["filtered_n"]) == (0.0, 0.5, 2)
    assert s["unmapped"] == 1


# Where the slice's first ground-truth item is put in the fake ranking, per turn (None: not ranked).
POSITIONS = [1, 2, 10, 11, 50, 51, None, 1, 5, 49, 50, 3, None, 20, 1, 30, 60, 10, 9, 2]


def _slice_runner(fake_runner_cls, turns, resolver, fail_after=None):
    gold_by_last = {}
    for pos, t in zip(POSITIONS, turns):
        gold_by_last[t.context[-1].strip()] = (resolver.resolve(t.rec[0]), pos)
    filler = [f"filler{i}" for i in range(100)]

    def rank(messages):
        gold, pos = gold_by_last[messages[-1].content]
        ranking = list(filler)
        if pos is not None:
            ranking.insert(pos - 1, gold)
        return ranking

    return fake_runner_cls(rank, fail_after=fail_after, llm_calls=2)


def test_replay_on_a_20_turn_slice_gives_the_exact_recall(turns_path, resolver, fake_runner_cls):
    turns = load_turns(turns_path)[:20]
    assert len({t.context[-1].strip() for t in turns}) == 20
    runner = _slice_runner(fake_runner_cls, turns, resolver)
    result = run_replay(runner, turns, resolver)
    n = sum(len(t.rec) for t in turns)
    s = result.summary
    assert s["n"] == n and s["turns"] == 20
    assert s["recall@1"] == round(3 / n, 4)
    assert s["recall@10"] == round(10 / n, 4)
    assert s["recall@50"] == round(16 / n, 4)
    mentioned = [(t, i) for t in turns for i, title in enumerate(t.rec) if any(title in c for c in t.context)]
    assert s["filtered_n"] == n - len(mentioned)
    assert s["unmapped"] == 0 and s["errors"] == 0
    assert s["llm_calls_per_turn"] == 2.0 and s["tokens_per_turn"] == 20.0
    assert min(runner.seen_k) >= 50
    assert [r["turn_id"] for r in result.records] == [t.turn_id for t in turns]


def test_replay_resumes_after_an_interruption(tmp_path, turns_path, resolver, fake_runner_cls):
    turns = load_turns(turns_path)[:20]
    whole = run_replay(_slice_runner(fake_runner_cls, turns, resolver), turns, resolver)
    path = tmp_path / "out.partial.jsonl"
    cfg = {"variant": "fake", "n": 20}
    with pytest.raises(KeyboardInterrupt):
        with PartialResults(path, cfg) as p:
            run_replay(_slice_runner(fake_runner_cls, turns, resolver, fail_after=12), turns, resolver, partial=p)
    with PartialResults(path, cfg) as p:
        assert len(p.done) == 12
        second = _slice_runner(fake_runner_cls, turns, resolver)
        resumed = run_replay(second, turns, resolver, partial=p)
    assert second.calls == 8
    assert resumed.summary["resumed"] == 12
    for key in ("recall@1", "recall@10", "recall@50", "n", "filtered_recall@10", "filtered_n"):
        assert resumed.summary[key] == whole.summary[key]
    assert resumed.records == whole.records or [r["samples"] for r in resumed.records] == [
        r["samples"] for r in whole.records
    ]


def test_async_replay_matches_sync(turns_path, resolver, fake_runner_cls):
    turns = load_turns(turns_path)[:20]
    a = run_replay(_slice_runner(fake_runner_cls, turns, resolver), turns, resolver)
    b = run_replay(_slice_runner(fake_runner_cls, turns, resolver), turns, resolver, concurrency=4)
    assert [r["samples"] for r in a.records] == [r["samples"] for r in b.records]


def test_runner_errors_are_recorded_as_misses(turns_path, resolver, fake_runner_cls):
    from crsagent.agent.errors import LLMUnavailableError

    def boom(messages):
        raise LLMUnavailableError("server down")

    turns = load_turns(turns_path)[:3]
    res = run_replay(fake_runner_cls(boom), turns, resolver)
    assert res.summary["errors"] == 3 and res.summary["recall@50"] == 0.0
    assert "LLMUnavailableError" in res.records[0]["error"]


def test_splits_and_popularity_baseline(turns_path, resolver, redial_items):
    turns = load_turns(turns_path)[:40]
    pop = PopularityRunner(redial_items)
    first = pop.run_history([], ranking_k=3).ranking
    assert [r.score for r in first] == sorted((r.score for r in first), reverse=True)
    res = run_replay(
        pop, turns, resolver, splits={"a": lambda r: r["dialog_id"] < "5", "b": lambda r: r["dialog_id"] >= "5"}
    )
    sp = res.summary["splits"]
    assert sp["a"]["n"] + sp["b"]["n"] == res.summary["n"]


def test_bad_arguments(resolver, fake_runner_cls):
    with pytest.raises(ValueError):
        run_replay(fake_runner_cls(lambda m: []), [], resolver, concurrency=0)


def test_replay_summary_counts_fallbacks_by_reason() -> None:
    from crsagent.evals.protocols import summarize as summarize_records

    recs = [
        {"samples": [], "fallback_reason": "guard_rejected"},
        {"samples": [], "fallback_reason": None},
        {"samples": [], "fallback_reason": "guard_rejected"},
        {"samples": [], "fallback_reason": "llm_error"},
    ]
    assert summarize_records(recs)["fallbacks"] == {"guard_rejected": 2, "llm_error": 1}


def test_rank_based_recall_is_recall_at_k_of_one_relevant_item() -> None:
    from crsagent.evals.metrics import hit_at_rank, recall_at_k
    from crsagent.evals.protocols import recall_from_ranks

    ranked = ["a", "b", "c", "d"]
    for rank, item in enumerate(ranked, start=1):
        for k in (1, 2, 3, 4):
            assert hit_at_rank(rank, k) == recall_at_k(ranked, [item], k)
    assert hit_at_rank(None, 10) == 0.0
    assert recall_from_ranks([1, 3, None, 11], 10) == 0.5
