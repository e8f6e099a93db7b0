"""ReDial recommendation priors (tools/prior/redial.py) and the tuner's extra-signal columns."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from crsagent.evals.tuning.weights import RawTurn, evaluate, to_signals
from crsagent.graphs.ranking import SIGNALS, FusionWeights, SignalTable, collect_signals, rank_candidates
from crsagent.tools.intent.split import dialogue_split
from crsagent.tools.prior.redial import RedialPrior, learn_prior, read_mentions

# conversation ids by split (SHA-256 of the id, first byte even -> train)
TRAIN_IDS = [str(i) for i in range(1, 40) if dialogue_split(str(i)) == "train"][:2]
HELDOUT_ID = next(str(i) for i in range(1, 40) if dialogue_split(str(i)) == "heldout")
IDS = {"11": "tt11", "22": "tt22", "33": "tt33", "44": "tt44"}
SEEKER, RECOMMENDER = 1, 2
ECHO_TRAIN = [str(i) for i in range(1, 60) if dialogue_split(str(i)) == "train"]
ECHO_IDS = {"1": "a", "2": "b", "3": "c", "4": "d"}


def _dialogue(cid: str, messages: list[tuple[int, str]]) -> dict[str, Any]:
    return {
        "conversationId": cid,
        "initiatorWorkerId": SEEKER,
        "respondentWorkerId": RECOMMENDER,
        "messages": [{"senderWorkerId": w, "text": t} for w, t in messages],
    }


DIALOGUES = [
    # seeker names 33, the recommender suggests 11 and 22, the seeker repeats 11 (no new mention)
    _dialogue(TRAIN_IDS[0], [(SEEKER, "I liked @33"), (RECOMMENDER, "Try @11 or @22"), (SEEKER, "@11 sounds good")]),
    # the recommender names 11 first; 44 is the seeker's and 99 is not in the catalogue
    _dialogue(TRAIN_IDS[1], [(RECOMMENDER, "Seen @11 ?"), (SEEKER, "yes, and @44"), (RECOMMENDER, "@99 then")]),
    # held out: must not count
    _dialogue(HELDOUT_ID, [(SEEKER, "@33"), (RECOMMENDER, "@44 @44")]),
]


def test_suggestions_count_first_recommender_mentions_of_train_dialogues_only() -> None:
    p = learn_prior(DIALOGUES, IDS)
    assert p.dialogues == 2
    assert p.suggested == {"tt11": 2.0, "tt22": 1.0}  # 44 only suggested in the held-out dialogue
    assert p.transitions == {"tt33": {"tt11": 1.0, "tt22": 1.0}, "tt11": {"tt22": 1.0}}
    held = learn_prior(DIALOGUES, IDS, split="heldout")
    assert held.suggested == {"tt44": 1.0} and held.transitions == {"tt33": {"tt44": 1.0}}


def test_prior_is_log_of_suggestions_plus_rescaled_corpus_mentions() -> None:
    p = learn_prior(DIALOGUES, IDS, mentions={"11": 10, "33": 30})  # 3 suggestions over 40 mentions
    assert p.base == pytest.approx({"tt11": 0.75, "tt33": 2.25})
    got = p.prior(["tt11", "tt22", "tt33", "tt44"])
    assert got == pytest.approx({"tt11": math.log1p(2.75), "tt22": math.log1p(1.0), "tt33": math.log1p(2.25)})
    assert p.prior(["tt33", "tt44"], smoothing=0.0) == {}  # never suggested in train


def test_transitions_sum_damped_row_shares_over_the_context() -> None:
    p = learn_prior(DIALOGUES, IDS)
    assert p.transition(["tt33"]) == pytest.approx({"tt11": 1 / 3, "tt22": 1 / 3})
    assert p.transition(["tt33", "tt11", "tt33"]) == pytest.approx({"tt11": 1 / 3, "tt22": 1 / 3 + 1 / 2})
    assert p.transition(["tt33", "tt11"], ids=["tt11"]) == pytest.approx({"tt11": 1 / 3})
    assert p.transition(["tt44"]) == {}


def test_read_mentions_skips_bad_rows(tmp_path: Any) -> None:
    f = tmp_path / "m.csv"
    f.write_text("movieId,movieName,nbMentions\n11,A (2000),3\nx,B,2\n22,C (2001),\n")
    assert read_mentions(f) == {"11": 3.0}


def test_extra_signal_joins_the_pool_and_can_lift_the_target(toolkit: Any, fakes: Any) -> None:
    belief = {"genres": {"horror": "like"}, "mentioned": [fakes.GET_OUT]}
    table = SignalTable()
    table.add("cf", {fakes.SHINING: 1.0, fakes.ALIEN: 0.5})
    raw = [RawTurn(table, belief, [fakes.WITCH])]
    base = to_signals(toolkit, raw, genres_hard=True)
    assert base[0].targets == [-1]  # The Witch is in no signal's pool

    def prefer_witch(belief: Any, cand: list[str] | None, excluded: set[str], k: int) -> dict[str, float]:
        assert cand is not None and fakes.WITCH in cand and fakes.GET_OUT not in cand  # hard constraints hold
        return {fakes.WITCH: 2.0, fakes.US: 1.0}

    data = to_signals(toolkit, raw, genres_hard=True, extras={"extra": prefer_witch})
    t = data[0]
    assert t.matrix.shape[1] == len(SIGNALS) + 1 and t.targets[0] >= 0
    col = t.matrix[:, len(SIGNALS)]
    assert col[t.targets[0]] == 1.0 and sorted(col.tolist())[-2:] == [0.0, 1.0]  # min-max normalised
    attr = t.matrix[t.targets[0], SIGNALS.index("attr")]
    assert attr == 1.0  # the new pool item got its attribute score (horror)
    w_cf = np.zeros((1, len(SIGNALS) + 1))
    w_cf[0, SIGNALS.index("cf")] = 1.0
    w_prior = np.zeros((1, len(SIGNALS) + 1))
    w_prior[0, -1] = 1.0
    assert evaluate(data, w_cf, ks=(1,))[0, 0] == 0.0
    assert evaluate(data, w_prior, ks=(1,))[0, 0] == 1.0


def test_top_prior_and_transitions_respect_candidates_exclusions_and_k() -> None:
    p = learn_prior(DIALOGUES, IDS, mentions={"11": 10, "33": 30})
    assert list(p.top_prior(2)) == ["tt11", "tt33"]
    assert list(p.top_prior(5, candidate_ids=["tt22", "tt33", "tt44"], exclude={"tt33"})) == ["tt22"]
    assert p.top_transitions(["tt33", "tt11"], 1) == pytest.approx({"tt22": 1 / 3 + 1 / 2})
    assert p.top_transitions(["tt33"], 5, exclude={"tt22"}) == pytest.approx({"tt11": 1 / 3})


def _prior_for(fakes: Any) -> RedialPrior:
    # recommenders suggest Alien most; after The Babadook they suggested The Witch
    return RedialPrior(
        suggested={fakes.ALIEN: 9.0, fakes.WITCH: 1.0},
        transitions={fakes.BABADOOK: {fakes.WITCH: 3.0, fakes.GET_OUT: 1.0}},
    )


def test_collect_signals_adds_prior_and_transitions_over_the_candidates(fakes: Any) -> None:
    tk = fakes.make_toolkit(cf=None, index=None, intent=None, prior=_prior_for(fakes))
    belief = {"genres": {"horror": "like"}, "mentioned": [fakes.BABADOOK, fakes.GET_OUT]}
    table = collect_signals(tk, belief, "")
    assert table.scores["prior"] == pytest.approx({fakes.ALIEN: math.log1p(9.0), fakes.WITCH: math.log1p(1.0)})
    assert table.scores["trans"] == pytest.approx({fakes.WITCH: 3 / 5})  # Get Out is mentioned: excluded
    only_trans = FusionWeights(vector=0, cf=0, intent=0, popularity=0, attr=0, prior=0, trans=1, crew=0, content=0)
    assert rank_candidates(tk, belief, "", k=1, weights=only_trans)[0][0]["item_id"] == fakes.WITCH
    only_prior = FusionWeights(vector=0, cf=0, intent=0, popularity=0, attr=0, prior=1, trans=0, crew=0, content=0)
    assert rank_candidates(tk, belief, "", k=1, weights=only_prior)[0][0]["item_id"] == fakes.ALIEN
    comedy = collect_signals(tk, {"genres": {"comedy": "like"}, "mentioned": [fakes.BABADOOK]}, "")
    assert "prior" not in comedy.scores and "trans" not in comedy.scores  # no horror film is a candidate


class _Refuses:
    def top_prior(self, *a: Any, **k: Any) -> dict[str, float]:
        raise AssertionError("prior computed with weight 0")

    def top_transitions(self, *a: Any, **k: Any) -> dict[str, float]:
        raise AssertionError("transitions computed with weight 0")


def test_zero_weight_skips_the_prior(fakes: Any) -> None:
    tk = fakes.make_toolkit(prior=_Refuses())
    off = FusionWeights(prior=0.0, trans=0.0)
    cands, _ = rank_candidates(tk, {"genres": {"horror": "like"}}, "", k=3, weights=off)
    assert cands and all("prior" not in c["signals"] for c in cands)
    with pytest.raises(AssertionError, match="weight 0"):
        rank_candidates(tk, {"genres": {"horror": "like"}}, "", k=3)


def test_rates_count_recommender_messages_that_name_a_movie_by_recency_rank() -> None:
    dialogues = [
        # seeker names a then b; the recommender comes back to b (rank 0) and names c
        _dialogue(ECHO_TRAIN[0], [(SEEKER, "@1 and @2"), (RECOMMENDER, "@2 is great, try @3")]),
        # the recommender names d without coming back to a (rank 0)
        _dialogue(ECHO_TRAIN[1], [(SEEKER, "@1"), (RECOMMENDER, "hello"), (RECOMMENDER, "@4")]),
    ]
    p = learn_prior(dialogues, ECHO_IDS)
    # rank 0: b (hit) and a (miss) -> 1/2; rank 1: a in the first dialogue (miss) -> 0
    assert p.remention_rates[:2] == (0.5, 0.0)
    assert all(r == 0.0 for r in p.remention_rates[2:])  # never seen: no evidence of re-mentions


def test_rates_never_increase_with_age_and_remention_scores_the_latest_items() -> None:
    dialogues = [
        # rank 1 comes back more often than rank 0 here; the running minimum evens them out
        _dialogue(ECHO_TRAIN[i], [(SEEKER, "@1 @2"), (RECOMMENDER, "@1 @3")])
        for i in range(3)
    ]
    p = learn_prior(dialogues, ECHO_IDS)
    assert p.remention_rates[0] == 0.0 and p.remention_rates[1] == 0.0
    prior = RedialPrior(remention_rates=(0.4, 0.2, 0.1))
    assert prior.remention(["x", "y", "z", "w"]) == pytest.approx({"w": 1.0, "z": 0.5, "y": 0.25})  # x too old
    assert prior.remention(["x", "y", "x"]) == pytest.approx({"x": 1.0, "y": 0.5})  # repeated ids count once
    assert RedialPrior().remention(["x"]) == {}
