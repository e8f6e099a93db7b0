"""The learned ranker: feature rows, co-mention and item-similarity signals, the model artifact,
its use in ``rank_candidates`` and the cross-fitted replay's routing."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from crsagent.agent.errors import DataError
from crsagent.evals.crossfit import CrossFitRunner, LeakageError, other_half
from crsagent.evals.tuning.ranker_data import TurnRows, evaluate_rows, fold_of, stack
from crsagent.graphs.ranking import DEFAULT_WEIGHTS, SignalTable, rank_candidates, remention_candidates, skipped_signals
from crsagent.graphs.ranking.features import FEATURES, feature_rows
from crsagent.tools.intent.split import dialogue_split
from crsagent.tools.prior.itemsim import ItemSim, learn_itemsim
from crsagent.tools.prior.redial import RedialPrior, learn_prior, load_prior
from crsagent.tools.ranker.model import LearnedRanker, RankerParams, train_ranker

COL = {f: c for c, f in enumerate(FEATURES)}
TRAIN_IDS = [str(i) for i in range(1, 60) if dialogue_split(str(i)) == "train"]
HELDOUT_IDS = [str(i) for i in range(1, 60) if dialogue_split(str(i)) == "heldout"]


def _dialogue(cid: str, texts: list[tuple[int, str]]) -> dict[str, Any]:
    return {
        "conversationId": cid,
        "initiatorWorkerId": 1,
        "respondentWorkerId": 2,
        "messages": [{"senderWorkerId": w, "text": t} for w, t in texts],
    }


# -- features -------------------------------------------------------------------------
def test_feature_rows_normalise_signals_keep_raw_values_and_mark_re_mentions() -> None:
    table = SignalTable()
    table.add("cf", {"a": 2.0, "b": 1.0, "c": 0.0})
    table.add("trans", {"b": 0.3})
    table.add("popularity", {"a": 0.9, "b": 0.5, "c": 0.1})
    table.add("attr", {"a": -1.0})
    ids, m, signals = feature_rows(table, {"e": (1.0, 0), "f": (0.5, 1)}, {"e": 0.7, "f": 0.2}, n_context=2, n_liked=1)
    assert ids == ["a", "b", "c", "e", "f"]
    assert m.shape == (5, len(FEATURES))
    assert m[:, COL["cf"]].tolist() == [1.0, 0.5, 0.0, 0.0, 0.0]  # min-max over the items cf returned
    assert m[:, COL["cf_raw"]].tolist() == [2.0, 1.0, 0.0, 0.0, 0.0]
    assert m[1, COL["trans"]] == 1.0 and m[1, COL["trans_raw"]] == pytest.approx(0.3)  # one item: all 1
    assert m[:, COL["popularity"]].tolist() == [0.9, 0.5, 0.1, 0.7, 0.2]  # fixed scale, never re-normalised
    assert m[0, COL["attr"]] == -1.0
    assert m[:, COL["n_signals"]].tolist() == [1.0, 2.0, 1.0, 0.0, 0.0]  # popularity and attr do not count
    assert m[:, COL["remention"]].tolist() == [0.0, 0.0, 0.0, 1.0, 0.5]
    assert m[:, COL["remention_rank"]].tolist() == [-1.0, -1.0, -1.0, 0.0, 1.0]
    assert set(m[:, COL["n_context"]]) == {2.0} and set(m[:, COL["n_liked"]]) == {1.0}
    assert signals["b"]["cf"] == 0.5 and "e" not in signals


def test_feature_rows_follow_a_models_column_subset() -> None:
    table = SignalTable()
    table.add("crew", {"a": 4.0, "b": 2.0})
    cols = ("popularity", "crew_raw", "crew")
    ids, m, _ = feature_rows(table, {}, {}, 0, 0, cols)
    assert ids == ["a", "b"] and m.tolist() == [[0.0, 4.0, 1.0], [0.0, 2.0, 0.0]]


# -- ReDial co-mention, the artifact form of the prior, MovieLens item similarity ---------
def test_co_mentions_count_dialogues_of_the_kept_half_symmetrically() -> None:
    ids = {"1": "a", "2": "b", "3": "c"}
    dialogues = [
        _dialogue(TRAIN_IDS[0], [(1, "@1 and @2"), (2, "@3")]),
        _dialogue(TRAIN_IDS[1], [(1, "@1"), (2, "@2")]),
        _dialogue(HELDOUT_IDS[0], [(1, "@2"), (2, "@3")]),
    ]
    p = learn_prior(dialogues, ids)
    assert p.comention["a"] == {"b": 2.0, "c": 1.0} and p.comention["c"] == {"a": 1.0, "b": 1.0}
    assert p.top_comentions(["a"], 5) == pytest.approx({"b": 2 / 4, "c": 1 / 4})  # damped row shares
    assert p.top_comentions(["a"], 5, exclude={"b"}) == pytest.approx({"c": 1 / 4})
    one = learn_prior(dialogues, ids, keep=lambda cid: cid == TRAIN_IDS[1])
    assert one.dialogues == 1 and one.comention == {"a": {"b": 1.0}, "b": {"a": 1.0}}


def test_prior_counts_round_trip_and_take_the_smoothing_base_from_the_data_folder(tmp_path) -> None:
    p = learn_prior([_dialogue(TRAIN_IDS[0], [(1, "@1"), (2, "@2 @3")])], {"1": "a", "2": "b", "3": "c"})
    (tmp_path / "redial").mkdir()
    (tmp_path / "redial" / "movies_with_mentions.csv").write_text("movieId,movieName,nbMentions\n1,A,6\n2,B,2\n")
    back = load_prior(tmp_path, {"1": "a", "2": "b", "3": "c"}, counts=p.to_dict())
    assert back.suggested == p.suggested and back.transitions == p.transitions and back.comention == p.comention
    assert back.remention_rates == p.remention_rates and back.dialogues == 1
    assert back.base == pytest.approx({"a": 1.5, "b": 0.5})  # 8 mentions rescaled to the 2 suggestions


def test_item_similarity_keeps_co_rated_neighbours_and_its_file_round_trips(tmp_path) -> None:
    baskets = [["a", "b"], ["a", "b"], ["a", "b", "c"], ["c", "d"], ["d"]]
    sim = learn_itemsim(baskets, neighbours=2, shrink=1.0)
    a = sim.scores(["a"])
    assert set(a) == {"b", "c"} and a["b"] > a["c"] > 0  # b: three shared users, c: one
    assert "a" not in a and "d" not in a  # never itself; nobody rated a and d
    assert sim.top_scores(["a", "d"], 1, candidate_ids=["c", "d"], exclude={"a", "d"}) == pytest.approx(
        {"c": sim.scores(["a"])["c"] + sim.scores(["d"])["c"]}
    )
    sim.save(tmp_path)
    back = ItemSim.load(tmp_path)
    assert back.ids == sim.ids and back.scores(["c"]) == pytest.approx(sim.scores(["c"]))


# -- the model artifact -------------------------------------------------------------------
def _toy_rows(n_turns: int, seed: int) -> tuple[np.ndarray, np.ndarray, list[int]]:
    rng = np.random.default_rng(seed)
    xs, ys = [], []
    for _ in range(n_turns):
        x = rng.random((20, 3))
        y = np.zeros(20)
        y[int(np.argmax(x[:, 1]))] = 1.0  # the label follows feature 1 only
        xs.append(x)
        ys.append(y)
    return np.concatenate(xs), np.concatenate(ys), [20] * n_turns


def _toy_ranker(tmp_path) -> LearnedRanker:
    booster, info = train_ranker(
        _toy_rows(150, 0),
        _toy_rows(40, 1),
        ("f0", "f1", "f2"),
        RankerParams(rounds=60, early_stopping=10, min_data_in_leaf=5),
    )
    return LearnedRanker(booster, ("f0", "f1", "f2"), frozenset({"7", "9"}), "heldout", info)


def test_a_trained_model_learns_the_signal_and_survives_save_and_load(tmp_path) -> None:
    model = _toy_ranker(tmp_path)
    assert 1 <= model.info["rounds"] <= 60 and model.info["turns"] == 150 and model.info["valid_turns"] == 40
    x, y, _ = _toy_rows(30, 2)
    hits = sum(
        int(np.argmax(model.score(x[t * 20 : (t + 1) * 20])) == np.argmax(y[t * 20 : (t + 1) * 20])) for t in range(30)
    )
    assert hits >= 25  # the top-scored row is the labelled one in most held-out groups
    model.save(tmp_path)
    back = LearnedRanker.load(tmp_path, "heldout")
    assert back.features == model.features and back.trained_on == {"7", "9"} and back.fold == "heldout"
    assert np.allclose(back.score(x), model.score(x))
    with pytest.raises(DataError):
        back.score(x[:, :2])
    with pytest.raises(DataError):
        LearnedRanker.load(tmp_path, "train")


def test_offline_evaluation_counts_plain_and_dedup_samples() -> None:
    rows = [
        TurnRows(
            "1",
            ["a", "b", "m"],
            np.zeros((3, 1)),
            np.array([0.0, 1.0, 1.0]),
            ["b", "m", None],
            frozenset({"m"}),
            np.array([0.1, 0.2, 0.3]),
        )
    ]
    got = evaluate_rows(rows, lambda m: np.array([3.0, 2.0, 1.0]), ks=(1, 2))
    assert got["n"] == 3 and got["dedup_n"] == 1  # m was mentioned; the unmapped title is a plain miss
    assert got["recall@1"] == 0.0 and got["recall@2"] == pytest.approx(1 / 3, abs=1e-4)
    assert got["dedup_recall@2"] == 1.0
    m, y, groups = stack(rows + [TurnRows("2", ["z"], np.zeros((1, 1)), np.zeros(1), ["q"], frozenset(), np.zeros(1))])
    assert groups == [3] and y.tolist() == [0.0, 1.0, 1.0]  # a turn without a labelled row is left out


# -- serving ------------------------------------------------------------------------------
class _ByFeature:
    """A stand-in model: the score is one feature's column (the rest are ignored)."""

    def __init__(self, feature: str, sign: float = 1.0) -> None:
        self.features = FEATURES
        self.col, self.sign = FEATURES.index(feature), sign
        self.calls = 0

    def score(self, m: np.ndarray) -> np.ndarray:
        self.calls += 1
        return self.sign * m[:, self.col]


def test_rank_candidates_uses_the_toolkits_learned_ranker_when_the_weights_ask(fakes: Any) -> None:
    belief = {"genres": {"horror": "like"}}
    fused, _ = rank_candidates(fakes.make_toolkit(), belief, k=20)
    model = _ByFeature("popularity", sign=-1.0)  # least popular first: unlike the fusion
    tk = fakes.make_toolkit(ranker=model)
    assert rank_candidates(tk, belief, k=20)[0] == fused and model.calls == 0  # serving fuses by default
    learned, _ = rank_candidates(tk, belief, k=20, weights=dataclasses.replace(DEFAULT_WEIGHTS, learned=True))
    assert model.calls == 1
    pops = [c["signals"]["popularity"] for c in learned]
    assert pops == sorted(pops) and [c["score"] for c in learned] == [-p for p in pops]
    assert {c["item_id"] for c in learned} == {c["item_id"] for c in fused}  # the same pool, reordered
    off, _ = rank_candidates(tk, belief, k=20, weights=DEFAULT_WEIGHTS)
    assert off == fused and model.calls == 1


def test_learned_rementions_share_the_models_scale(fakes: Any) -> None:
    model = _ByFeature("remention_rank")  # the older mention first, to tell it from the rate order
    tk = fakes.make_toolkit(prior=RedialPrior(remention_rates=(0.4, 0.2)), ranker=model)
    belief = {"mentioned": [fakes.ALIEN, fakes.BABADOOK]}
    got = remention_candidates(tk, belief, dataclasses.replace(DEFAULT_WEIGHTS, learned=True))
    assert [(c["item_id"], c["score"]) for c in got] == [(fakes.ALIEN, 1.0), (fakes.BABADOOK, 0.0)]
    assert got[0]["signals"] == {"remention": 0.5}


def test_skipped_signals_follow_the_models_features_and_the_switched_off_weights() -> None:
    fused = skipped_signals(DEFAULT_WEIGHTS)
    assert {"intent", "seq", "comention", "itemsim"} <= fused and "cf" not in fused
    model = SimpleNamespace(features=("cf", "cf_raw", "seq", "popularity"))
    got = skipped_signals(DEFAULT_WEIGHTS, model)
    assert "seq" not in got and "cf" not in got and {"intent", "vector", "itemsim"} <= got
    assert "cf" in skipped_signals(dataclasses.replace(DEFAULT_WEIGHTS, cf=0.0), model)  # --signal-off cf


# -- cross-fitting ---------------------------------------------------------------------------
def test_cross_fitting_scores_each_half_with_the_other_halfs_model_and_refuses_leaks() -> None:
    train_id, held_id = TRAIN_IDS[0], HELDOUT_IDS[0]
    rankers = {
        "train": SimpleNamespace(trained_on=frozenset({train_id})),
        "heldout": SimpleNamespace(trained_on=frozenset({held_id})),
    }
    runner = CrossFitRunner({"train": "A", "heldout": "B"}, rankers)
    assert runner.for_turn(SimpleNamespace(dialog_id=held_id)) == ("A", "train")
    assert runner.for_turn(SimpleNamespace(dialog_id=train_id)) == ("B", "heldout")
    assert other_half(train_id) == "heldout" and other_half(held_id) == "train"
    leaky = CrossFitRunner(
        {"train": "A", "heldout": "B"},
        {"train": SimpleNamespace(trained_on=frozenset({held_id})), "heldout": rankers["heldout"]},
    )
    with pytest.raises(LeakageError):
        leaky.for_turn(SimpleNamespace(dialog_id=held_id))


def test_folds_split_dialogues_stably() -> None:
    assert [fold_of(i) for i in TRAIN_IDS] == [fold_of(i) for i in TRAIN_IDS]
    assert set(fold_of(str(i)) for i in range(200)) == {0, 1, 2, 3}


# -- the LatentCRS scorer loads on demand ----------------------------------------------------
def test_warm_up_leaves_the_intent_scorer_to_the_first_tool_call_that_asks(fakes: Any) -> None:
    from crsagent.tools.toolkit import Toolkit

    calls: list[int] = []

    def load_intent(tk: Any) -> Any:
        calls.append(1)
        return fakes.FakeIntent()

    tk = Toolkit("movies", db=fakes.FakeDB(), cf=fakes.FakeCF(), loaders={"intent": load_intent})
    tk.warm_up()
    rank_candidates(tk, {"genres": {"horror": "like"}}, "something spooky", k=5)
    assert calls == []  # neither the start nor the ranking loaded it
    tool = next(t for t in tk.tools() if t.name == "score_intents")
    assert calls == []
    out = tool.invoke({"liked": [fakes.BABADOOK], "dialogue_text": "spooky"})
    assert calls == [1] and "spooky horror" in str(out)
    assert tk.with_handles(ranker=None).intent is not None  # a copy keeps it (loaded once, shared)
    assert calls == [1]


def test_a_dropped_component_marks_its_claim_not_reproduced_with_the_reason() -> None:
    from crsagent.evals.claims import judge_claims

    claims = {c["claim"]: c for c in judge_claims({}, not_reproduced={"Latent intents help": "no gain"})}
    assert claims["Latent intents help"]["verdict"] == "not reproduced"
    assert claims["Latent intents help"]["reason"] == "no gain"
    other = claims["CF + semantic fusion helps"]
    assert other["verdict"] == "not measured" and "reason" not in other


def test_a_model_saved_with_the_former_re_mention_feature_names_loads_under_the_new_ones(tmp_path: Any) -> None:
    rng = np.random.default_rng(0)
    old = ("cf", "echo", "echo_rank")  # as models built before the rename list them
    x = rng.normal(size=(60, 3))
    booster, info = train_ranker(
        (x[:40], (x[:40, 1] > 0).astype(float), [10] * 4), (x[40:], (x[40:, 1] > 0).astype(float), [10] * 2), old
    )
    LearnedRanker(booster, old, frozenset({"1"}), "train", info).save(tmp_path)
    back = LearnedRanker.load(tmp_path, "train")
    assert back.features == ("cf", "remention", "remention_rank")
    assert np.array_equal(back.score(x), LearnedRanker(booster, old).score(x))


def test_a_prior_saved_with_the_former_rates_key_loads() -> None:
    data = RedialPrior(remention_rates=(0.5, 0.25)).to_dict()
    assert "remention_rates" in data
    data["echo_rates"] = data.pop("remention_rates")  # prior.json as built before the rename
    assert RedialPrior.from_dict(data).remention(["a", "b"]) == {"b": 1.0, "a": 0.5}


def test_the_ranker_input_hash_spells_features_as_built_before_the_rename() -> None:
    from crsagent.graphs.ranking.features import current_name, former_name
    from crsagent.tools.ranker.stage import SERVING_FEATURES

    spelled = [former_name(f) for f in SERVING_FEATURES]
    assert "echo" in spelled and "echo_rank" in spelled and "remention" not in spelled
    assert [current_name(f) for f in spelled] == list(SERVING_FEATURES)
