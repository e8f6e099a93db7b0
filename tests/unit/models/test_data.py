"""Interaction loading: hold-out rule, ReDial likes, the dialogue split, the interaction matrix."""

from __future__ import annotations

import json
from collections import Counter

from crsagent.tools.cf.data import UserHistory, holdout_last, interaction_matrix, redial_liked, redial_liked_sessions
from crsagent.tools.intent.split import HELDOUT, TRAIN, dialogue_split


def test_holdout_removes_last_positive_and_what_follows():
    h = UserHistory("ml-1", ["i1", "i2", "i3", "i4"], [4.0, 5.0, 4.5, 2.0], "movielens")
    train, targets = holdout_last([h])
    assert targets == {"ml-1": "i3"}
    assert train[0].items == ["i1", "i2"] and train[0].ratings == [4.0, 5.0]
    # a user with a single positive keeps everything (nothing left to train on)
    lone = UserHistory("ml-2", ["i1", "i2"], [2.0, 4.0], "movielens")
    train, targets = holdout_last([lone])
    assert targets == {} and train[0].items == ["i1", "i2"]


def test_holdout_keeps_redial_pseudo_users_and_uses_next_item_for_implicit_data():
    office = UserHistory("amz-A", ["amz-1", "amz-2", "amz-3"], None, "amazon")
    redial = UserHistory("redial-1", ["tt1", "tt2"], None, "redial")
    train, targets = holdout_last([office, redial])
    assert targets == {"amz-A": "amz-3"}
    assert train[0].items == ["amz-1", "amz-2"] and train[1].items == ["tt1", "tt2"]


def test_interaction_matrix_counts_positives_once():
    h = UserHistory("u", ["i1", "i2", "i1", "zz"], [4.0, 1.0, 5.0, 5.0], "movielens")
    m = interaction_matrix([h], {"i1": 0, "i2": 1})
    assert m.shape == (1, 2) and m.toarray().tolist() == [[1.0, 0.0]]


def test_redial_liked_prefers_the_seekers_answers():
    d = {
        "movieMentions": {"1": "A (2000)", "2": "B (2001)", "3": "C (2002)"},
        "initiatorQuestions": {"1": {"liked": 1}, "2": {"liked": 0}},
        "respondentQuestions": {"2": {"liked": 1}, "3": {"liked": 1}},
    }
    assert redial_liked(d, {"1": "tt1", "2": "tt2", "3": "tt3"}) == ["tt1", "tt3"]


def test_dialogue_split_is_stable_and_about_half(tmp_path):
    ids = [str(10000 + i) for i in range(2000)]
    counts = Counter(dialogue_split(i) for i in ids)
    assert set(counts) == {TRAIN, HELDOUT}
    assert 0.45 < counts[TRAIN] / len(ids) < 0.55
    assert [dialogue_split(i) for i in ids[:50]] == [dialogue_split(int(i)) for i in ids[:50]]


def test_redial_sessions_follow_the_split(tmp_path):
    rows = []
    for cid in range(40):
        rows.append(
            {
                "conversationId": str(cid),
                "movieMentions": {"1": "A", "2": "B"},
                "initiatorQuestions": {"1": {"liked": 1}, "2": {"liked": 1}},
                "messages": [],
            }
        )
    (tmp_path / "redial").mkdir()
    (tmp_path / "redial" / "dev_dialogues.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    id_map = {"1": "tt1", "2": "tt2"}
    train = redial_liked_sessions(tmp_path, "train", id_map)
    held = redial_liked_sessions(tmp_path, "heldout", id_map)
    assert len(train) + len(held) == 40 and train and held
    assert all(dialogue_split(h.user_id.removeprefix("redial-")) == TRAIN for h in train)
    assert train[0].items == ["tt1", "tt2"]
