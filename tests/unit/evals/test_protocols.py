"""The replay protocols on hand-made dialogues: dedup vs filtered Recall, SR and RDL, seeker labels.

Every expected number below is worked out by hand in the comments next to it.
"""

from __future__ import annotations

import json

import pytest

from crsagent.agent.errors import DataError
from crsagent.evals.datasets import ReplayTurn, TitleResolver
from crsagent.evals.metrics import REWARD_LIKED, REWARD_SEEN, reward_per_dialogue_length, seeker_reward, success_rate
from crsagent.evals.protocols import dialogue_top1, load_seeker_rewards, summarize, top1_fields
from crsagent.evals.replay import run_replay


def test_seeker_reward_codes():
    assert seeker_reward({"liked": 1, "seen": 1}) == REWARD_LIKED == 1.0
    assert seeker_reward({"liked": 1, "seen": 2}) == 1.0  # liked without saying seen still counts as liked
    assert seeker_reward({"liked": 0, "seen": 1}) == REWARD_SEEN == 0.5  # seen, disliked
    assert seeker_reward({"liked": 2, "seen": 1}) == 0.5
    assert seeker_reward({"liked": 0, "seen": 0}) == 0.0
    assert seeker_reward({"liked": 2, "seen": 2}) == 0.0
    assert seeker_reward({}) == 0.0


def test_sr_and_rdl_by_hand():
    rewards = {"d1": {"a": 1.0, "b": 0.5}, "d2": {"c": 0.5}, "d3": {"e": 1.0}}
    top1 = {
        "d1": ["x", "a", "b"],  # rewards 0, 1, .5 -> success; RDL (0 + 1 + .5) / 3 = .5
        "d2": ["c", None],  # .5, 0 (no ranking) -> success; RDL .5 / 2 = .25
        "d3": ["x", "y"],  # 0, 0 -> no success; RDL 0
        "d4": ["a"],  # no labels: not scored
    }
    assert success_rate(top1, rewards) == pytest.approx(2 / 3)
    assert reward_per_dialogue_length(top1, rewards) == pytest.approx((0.5 + 0.25 + 0.0) / 3)
    assert success_rate({"d4": ["a"]}, rewards) is None
    assert reward_per_dialogue_length({}, rewards) is None


def _items(fake_item_cls):
    return [
        fake_item_cls(i, t, y, popularity=p)
        for i, t, y, p in (
            ("bab", "The Babadook", 2014, 5.0),
            ("shi", "The Shining", 1980, 4.0),
            ("ext", "The Exorcist", 1973, 3.0),
            ("oth", "The Others", 2001, 2.0),
            ("fol", "It Follows", 2014, 1.0),
        )
    ]


def _turns():
    """Two dialogues: d1 with two recommender turns, d2 with one."""
    return [
        ReplayTurn(
            dialog_id="d1",
            turn_id=2,
            context=["", "Hi", "I loved The Babadook (2014)"],
            entity=["The Babadook (2014)"],
            rec=["The Shining (1980)"],
        ),
        ReplayTurn(
            dialog_id="d1",
            turn_id=4,
            context=["", "Hi", "I loved The Babadook (2014)", "Try The Shining (1980)", "Seen it, more?"],
            entity=["The Babadook (2014)", "The Shining (1980)"],
            rec=["The Shining (1980)", "The Exorcist (1973)"],
        ),
        ReplayTurn(
            dialog_id="d2",
            turn_id=2,
            context=["", "Hello", "Something like It Follows (2014)"],
            entity=["It Follows (2014)"],
            rec=["The Others (2001)"],
        ),
    ]


RANKINGS = {
    # d1 turn 2: the mentioned Babadook first (a re-mention), The Shining second
    "I loved The Babadook (2014)": ["bab", "shi", "ext", "oth", "fol"],
    # d1 turn 4: The Shining (mentioned) first, Babadook (mentioned) second, The Exorcist third
    "Seen it, more?": ["shi", "bab", "ext", "oth", "fol"],
    # d2: It Follows (mentioned) first, The Others second
    "Something like It Follows (2014)": ["fol", "oth", "bab", "shi", "ext"],
}

REWARDS = {
    "d1": {"bab": 1.0, "shi": 0.5, "ext": 0.0},  # the seeker liked Babadook, had seen The Shining
    "d2": {"fol": 1.0, "oth": 0.0},
}


def test_replay_protocols_on_hand_made_dialogues(fake_item_cls, fake_runner_cls):
    resolver = TitleResolver(_items(fake_item_cls))
    runner = fake_runner_cls(lambda messages: RANKINGS[messages[-1].content])
    res = run_replay(runner, _turns(), resolver, ks=(1, 2, 3), rewards=REWARDS)
    recs = res.records
    assert [(r["top1"], r["dedup_top1"]) for r in recs] == [("bab", "shi"), ("shi", "ext"), ("fol", "oth")]
    s = res.summary
    # samples: d1t2 Shining (rank 2, new); d1t4 Shining (rank 1, mentioned), Exorcist (rank 3, new);
    # d2 The Others (rank 2, new)
    assert s["n"] == 4
    assert (s["recall@1"], s["recall@2"], s["recall@3"]) == (0.25, 0.75, 1.0)
    # dedup: the 3 new samples at their plain ranks 2, 3, 2
    assert s["dedup_n"] == 3
    assert (s["dedup_recall@1"], s["dedup_recall@2"], s["dedup_recall@3"]) == (0.0, round(2 / 3, 4), 1.0)
    # filtered: the same samples, ranked without the mentioned items: Shining 1, Exorcist 1, Others 1
    assert s["filtered_n"] == 3 and s["filtered_recall@1"] == 1.0
    # SR: d1 top-1s bab (1.0), shi (.5); d2 fol (1.0) -> both succeed
    assert s["sr"] == 1.0
    # RDL: d1 (1 + .5) / 2 = .75, d2 1 / 1 = 1 -> .875
    assert s["rdl"] == 0.875
    # dedup top-1s: d1 shi (.5), ext (0); d2 oth (0) -> SR 1/2, RDL (.25 + 0) / 2 = .125
    assert s["dedup_sr"] == 0.5 and s["dedup_rdl"] == 0.125
    assert s["sr_dialogues"] == 2
    split = run_replay(
        runner, _turns(), resolver, ks=(1,), rewards=REWARDS, splits={"d2 only": lambda r: r["dialog_id"] == "d2"}
    ).summary["splits"]["d2 only"]
    assert (split["sr"], split["rdl"], split["dedup_sr"], split["dedup_rdl"], split["dedup_n"]) == (
        1.0,
        1.0,
        0.0,
        0.0,
        1,
    )


def test_without_rewards_there_is_no_sr_and_old_records_count_as_no_prediction():
    records = [
        {
            "dialog_id": "d1",
            "turn_id": 1,
            "samples": [{"title": "t", "item_id": "a", "rank": 1, "mentioned": False, "filtered_rank": 1}],
        }
    ]
    s = summarize(records, ks=(1,))
    assert "sr" not in s and s["dedup_recall@1"] == 1.0
    s = summarize(records, ks=(1,), rewards={"d1": {"a": 1.0}})  # a record from before top-1 was stored
    assert (s["sr"], s["rdl"]) == (0.0, 0.0)
    assert dialogue_top1(records) == {"d1": [None]}


def test_top1_fields_with_an_empty_ranking(fake_item_cls):
    resolver = TitleResolver(_items(fake_item_cls))
    turn = _turns()[0]
    assert top1_fields(turn, [], resolver) == {"top1": None, "dedup_top1": None}
    assert top1_fields(turn, ["bab"], resolver) == {"top1": "bab", "dedup_top1": None}


def test_load_seeker_rewards(tmp_path, fake_item_cls):
    resolver = TitleResolver(_items(fake_item_cls))
    dialogues = [
        {
            "conversationId": 1,
            "movieMentions": {
                "10": "The Babadook (2014)",
                "11": "The Shining  (1980)",
                "12": "Unknown (1900)",
                "13": "The Exorcist (1973)",
            },
            "initiatorQuestions": {"10": {"liked": 1, "seen": 1}, "11": {"liked": 0, "seen": 1}, "12": {"liked": 1}},
            # the seeker's form wins for 10; 13 is only in the recommender's form
            "respondentQuestions": {"10": {"liked": 0, "seen": 0}, "13": {"liked": 2, "seen": 1}},
        },
        {
            "conversationId": 2,
            "movieMentions": {"10": "The Babadook (2014)"},
            "initiatorQuestions": {},
            "respondentQuestions": {},
        },
        {
            "conversationId": 3,
            "movieMentions": {"20": "The Others (2001)", "21": "The Others (2001)"},
            "initiatorQuestions": {"20": {"liked": 2, "seen": 1}, "21": {"liked": 1, "seen": 1}},
        },
    ]
    path = tmp_path / "dialogues.jsonl"
    path.write_text("".join(json.dumps(d) + "\n" for d in dialogues) + "\n")
    got = load_seeker_rewards(path, resolver.resolve)
    assert got == {"1": {"bab": 1.0, "shi": 0.5, "ext": 0.5}, "3": {"oth": 1.0}}
    with pytest.raises(DataError):
        load_seeker_rewards(tmp_path / "missing.jsonl", resolver.resolve)
    (tmp_path / "bad.jsonl").write_text('{"movieMentions": {}}\n')
    with pytest.raises(DataError):
        load_seeker_rewards(tmp_path / "bad.jsonl", resolver.resolve)


def test_bundled_dev_dialogues_have_labels_for_almost_every_dialogue(resolver):
    from crsagent.agent.settings import default_data_dir

    got = load_seeker_rewards(default_data_dir() / "redial" / "dev_dialogues.jsonl", resolver.resolve)
    assert 990 <= len(got) <= 1000  # 3 of the 1,000 dialogues have neither questionnaire
    assert all(v in (0.0, 0.5, 1.0) for scores in got.values() for v in scores.values())
