"""Partial results: resume, torn lines, changed configuration."""

from __future__ import annotations

import pytest

from crsagent.agent.errors import DataError
from crsagent.evals.resume import PartialResults, fingerprint, partial_path_for


def test_partial_path_sits_next_to_the_json(tmp_path):
    assert partial_path_for(tmp_path / "replay.json") == tmp_path / "replay.partial.jsonl"


def test_resume_with_same_config(tmp_path):
    path = tmp_path / "p.jsonl"
    with PartialResults(path, {"a": 1}) as p:
        p.append("k1", {"v": 1})
        p.append("k2", {"v": 2})
    with PartialResults(path, {"a": 1}) as p:
        assert p.done == {"k1": {"v": 1}, "k2": {"v": 2}}
        p.append("k3", {"v": 3})
    with PartialResults(path, {"a": 1}) as p:
        assert sorted(p.done) == ["k1", "k2", "k3"]


def test_torn_last_line_is_dropped_and_appends_stay_valid(tmp_path):
    path = tmp_path / "p.jsonl"
    with PartialResults(path, {"a": 1}) as p:
        p.append("k1", {"v": 1})
    with path.open("a") as fh:
        fh.write('{"key": "k2", "rec')  # killed mid-write
    with PartialResults(path, {"a": 1}) as p:
        assert list(p.done) == ["k1"]
        p.append("k2", {"v": 2})
    with PartialResults(path, {"a": 1}) as p:
        assert p.done == {"k1": {"v": 1}, "k2": {"v": 2}}


def test_changed_config_moves_old_results_aside(tmp_path):
    path = tmp_path / "p.jsonl"
    with PartialResults(path, {"a": 1}) as p:
        p.append("k1", {"v": 1})
    with PartialResults(path, {"a": 2}) as p:
        assert p.done == {}
        assert p.moved_aside is not None and p.moved_aside.exists()
    assert fingerprint({"a": 1, "b": 2}) == fingerprint({"b": 2, "a": 1})


def test_corruption_in_the_middle_is_an_error(tmp_path):
    path = tmp_path / "p.jsonl"
    with PartialResults(path, {"a": 1}) as p:
        p.append("k1", {"v": 1})
    text = path.read_text().splitlines()
    path.write_text("\n".join([text[0], "garbage", text[1], text[1]]) + "\n")
    with pytest.raises(DataError, match="corrupt"):
        PartialResults(path, {"a": 1}).open()
