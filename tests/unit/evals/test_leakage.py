"""Mention counts without the evaluated dialogues, on a hand-made two-dialogue corpus."""

from __future__ import annotations

import json

import pytest

from crsagent.agent.errors import ConfigError
from crsagent.evals.leakage import MENTIONS_FILE, _link_data_dir, item_mentions, mention_counts, message_mentions
from crsagent.tools.intent.split import HELDOUT, TRAIN, dialogue_split


def _first_id(split: str) -> str:
    return next(str(i) for i in range(1000) if dialogue_split(str(i)) == split)


@pytest.fixture
def data_dir(tmp_path):
    train, held = _first_id(TRAIN), _first_id(HELDOUT)
    d = tmp_path / "data" / "redial"
    d.mkdir(parents=True)
    (d / MENTIONS_FILE).write_text("movieId,movieName,nbMentions\n1,A (2000),10\n2,B (2001),6\n3,C (2002),4\n")
    dialogues = [
        {"conversationId": train, "messages": [{"text": "I like @1 and @2"}, {"text": "then @1 again"}]},  # 1: 2, 2: 1
        {"conversationId": held, "messages": [{"text": "@2 @3"}, {"text": "@3"}]},  # 2: 1, 3: 2
    ]
    (d / "dev_dialogues.jsonl").write_text("".join(json.dumps(x) + "\n" for x in dialogues))
    (tmp_path / "data" / "other.txt").write_text("x")
    return tmp_path / "data"


def test_message_mentions_counts_every_at_id(data_dir):
    dialogues = [json.loads(line) for line in (data_dir / "redial" / "dev_dialogues.jsonl").read_text().splitlines()]
    assert message_mentions(dialogues, lambda c: True) == {"1": 2, "2": 2, "3": 2}
    assert message_mentions(dialogues, lambda c: dialogue_split(c) == HELDOUT) == {"2": 1, "3": 2}


def test_mention_count_sources(data_dir):
    assert mention_counts(data_dir, "corpus") == {"1": 10.0, "2": 6.0, "3": 4.0}
    # corpus minus the held-out dialogue's mentions: 10 - 0, 6 - 1, 4 - 2
    assert mention_counts(data_dir, "heldout-removed") == {"1": 10.0, "2": 5.0, "3": 2.0}
    # the train dialogue's mentions (2, 1, 0) rescaled to the corpus total 20 / 3
    assert mention_counts(data_dir, "train-half") == {"1": round(2 * 20 / 3), "2": round(20 / 3), "3": 0}
    with pytest.raises(ConfigError):
        mention_counts(data_dir, "everything")


def test_item_mentions_sum_the_joined_movies():
    assert item_mentions({"1": 10.0, "2": 6.0, "3": 4.0}, {"1": "tt1", "2": "tt1", "3": "tt3", "4": "tt4"}) == {
        "tt1": 16.0,
        "tt3": 4.0,
        "tt4": 0.0,
    }


def test_linked_data_dir_replaces_only_the_counts(data_dir, tmp_path):
    dst = tmp_path / "linked"
    _link_data_dir(data_dir, dst, {"1": 3.0, "2": 0.0})
    assert (dst / "other.txt").read_text() == "x" and (dst / "redial" / "dev_dialogues.jsonl").is_symlink()
    assert (dst / "redial" / MENTIONS_FILE).read_text().splitlines() == [
        "movieId,movieName,nbMentions",
        "1,A (2000),3",
        "2,B (2001),0",
        "3,C (2002),0",
    ]
    assert (data_dir / "redial" / MENTIONS_FILE).read_text().startswith("movieId,movieName,nbMentions\n1,A (2000),10")
