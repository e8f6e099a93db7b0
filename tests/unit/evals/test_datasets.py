"""Turn files, histories and title mapping."""

from __future__ import annotations

import json

import pytest

from crsagent.agent.errors import DataError
from crsagent.evals.datasets import (
    TitleResolver,
    context_to_messages,
    load_turns,
    normalize_title,
    select_turns,
    split_title_year,
)


def test_context_roles_alternate_back_from_the_seeker():
    msgs = context_to_messages(
        ["", "Hi, what do you like?", "Horror like The Babadook (2014)", "Try It (2017)", "Seen it"]
    )
    assert [m.role for m in msgs] == ["assistant", "user", "assistant", "user"]
    assert msgs[0].content == "Hi, what do you like?"
    assert msgs[-1].content == "Seen it"


def test_context_with_leading_empty_seeker_slot():
    msgs = context_to_messages(["", "hello, any good comedies?"])
    assert [m.role for m in msgs] == ["user"]


def test_context_without_a_seeker_utterance_is_a_data_error():
    with pytest.raises(DataError):
        context_to_messages(["", "  "])


def test_load_turns_reports_the_bad_line(tmp_path):
    good = {"dialog_id": 1, "turn_id": 2, "context": ["", "hi"], "rec": ["X (2000)"]}
    path = tmp_path / "t.jsonl"
    path.write_text(json.dumps(good) + "\n{not json\n")
    with pytest.raises(DataError, match="line 2"):
        load_turns(path)
    path.write_text(json.dumps({"dialog_id": 1, "context": "oops"}) + "\n")
    with pytest.raises(DataError, match="line 1"):
        load_turns(path)
    with pytest.raises(DataError, match="not found"):
        load_turns(tmp_path / "missing.jsonl")


def test_load_real_turns(turns_path):
    turns = load_turns(turns_path)
    assert len(turns) == 2716
    assert turns[0].key == "16162:2"
    assert turns[0].rec == ["The Shining (1980)", "What Lies Beneath (2000)"]


def test_select_turns_is_seeded_and_keeps_order(turns_path):
    turns = load_turns(turns_path)
    a = select_turns(turns, 30, seed=7)
    b = select_turns(turns, 30, seed=7)
    c = select_turns(turns, 30, seed=8)
    assert [t.key for t in a] == [t.key for t in b]
    assert [t.key for t in a] != [t.key for t in c]
    pos = [turns.index(t) for t in a]
    assert pos == sorted(pos)
    assert select_turns(turns, 5) == turns[:5]
    assert len(select_turns(turns, None)) == len(turns)


def test_title_normalisation():
    assert split_title_year("Matrix, The (1999)") == ("The Matrix", 1999)
    assert split_title_year("Back to the Future") == ("Back to the Future", None)
    assert normalize_title("The Matrix") == normalize_title("Matrix, The") == "matrix"
    assert normalize_title("Amélie") == normalize_title("Amelie")


def test_resolver_orders_its_evidence(fake_item_cls):
    items = [
        fake_item_cls("tt1", "The Shining", 1980, redial_id=10, popularity=5),
        fake_item_cls("tt2", "The Shining", 1997, popularity=1),
        fake_item_cls("tt3", "Heat", 1995, popularity=9),
        fake_item_cls("tt4", "Heat", 1986, popularity=2),
    ]
    info = {
        "10": {"name": "The Shining  (1980)", "imdb_id": "tt1"},
        "11": {"name": "Odd Name (1980)", "imdb_id": "tt9"},
    }
    r = TitleResolver(items, info)
    assert r.resolve("The Shining (1980)") == "tt1"  # by normalised title + year
    assert r.resolve("The Shining  (1980)") == "tt1"  # by ReDial record
    assert r.resolve("Shining, The (1997)") == "tt2"
    assert r.resolve("Heat") == "tt3"  # no year: most popular of that title
    assert r.resolve("Heat (1996)") == "tt3"  # one year off
    assert r.resolve("Heat (2001)") is None
    assert r.resolve("Odd Name (1980)") is None  # its IMDb id is not in the catalogue
    assert r.mentioned_ids(["", "like The Shining (1980)?"], ["horror", "The Shining (1980)"]) == {"tt1"}


def test_every_dev_rec_title_maps_to_redial_items(resolver, turns_path):
    turns = load_turns(turns_path)
    titles = {t for turn in turns for t in turn.rec}
    assert all(resolver.resolve(t) is not None for t in titles)
