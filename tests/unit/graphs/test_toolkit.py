"""The Toolkit: lazy handles, missing tools, the catalogue views and the embedding cache."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from crsagent.agent.errors import NotBuiltError
from crsagent.agent.settings import Settings
from crsagent.tools.toolkit import Toolkit


def test_handles_load_lazily_once_and_failures_are_recorded(fakes: Any) -> None:
    calls: list[str] = []

    def cf_loader(tk: Toolkit) -> Any:
        calls.append("cf")
        return fakes.FakeCF()

    def broken(tk: Toolkit) -> Any:
        raise NotBuiltError("no 'intent' artifact")

    tk = Toolkit("movies", db=fakes.FakeDB(), loaders={"cf": cf_loader, "intent": broken})
    assert calls == []
    assert tk.cf is tk.cf and calls == ["cf"]
    assert tk.intent is None and "intent" in tk.missing
    assert tk.index is None and "index" not in tk.missing  # never configured


def test_a_broken_catalogue_is_an_error(fakes: Any) -> None:
    def broken(tk: Toolkit) -> Any:
        raise NotBuiltError("no catalog")

    with pytest.raises(NotBuiltError):
        _ = Toolkit("movies", loaders={"db": broken}).db


def test_load_needs_a_built_catalogue(tmp_path: Path) -> None:
    with pytest.raises(NotBuiltError, match="crsagent build"):
        Toolkit.load(Settings(home=tmp_path), "movies")


def test_catalogue_views(toolkit: Toolkit, fakes: Any) -> None:
    assert toolkit.ids_by_popularity()[0] == fakes.TOY_STORY
    assert toolkit.popularity_norm(fakes.TOY_STORY) == 1.0
    assert 0 < toolkit.popularity_norm(fakes.WITCH) < 1
    assert toolkit.title(fakes.GET_OUT) == "Get Out (2017)" and toolkit.title("nope") == "nope"
    assert "jordan peele" in toolkit.people_of(fakes.US)
    assert {"horror", "comedy"} <= toolkit.genre_vocab()


def test_single_text_embeddings_are_cached(monkeypatch: pytest.MonkeyPatch, fakes: Any) -> None:
    seen: list[list[str]] = []

    def fake_embed(texts: Any, **_: Any) -> np.ndarray:
        seen.append(list(texts))
        return np.ones((len(texts), 384), dtype=np.float32)

    monkeypatch.setattr("crsagent.tools.search.embedding.embed_texts", fake_embed)
    tk = fakes.make_toolkit()
    a = tk.embed(["scary films"])
    b = tk.embed(["scary films"])
    assert a.shape == (1, 384) and np.array_equal(a, b)
    tk.embed(["a", "b"])
    assert seen == [["scary films"], ["a", "b"]]


def test_tools_are_built_per_evidence_provider(fakes: Any) -> None:
    tk = Toolkit("movies", db=fakes.FakeDB())
    tools = tk.tools()
    assert [t.name for t in tools] == ["search_products", "get_items"]
    assert tk.tools() is tools


def test_filter_results_are_cached_least_recently_used_first_out(fakes: Any, monkeypatch: Any) -> None:
    import crsagent.tools.toolkit as toolkit_module

    monkeypatch.setattr(toolkit_module, "FILTER_CACHE", 2)
    db = fakes.FakeDB()
    asked: list[str] = []

    def filter_ids(f: Any, **_: Any) -> list[str]:
        asked.append(repr(f))
        return [f[0]]

    db.filter_ids = filter_ids
    tk = Toolkit("movies", db=db)
    a, b, c = ("genre=horror",), ("genre=comedy",), ("genre=drama",)
    tk.filter_ids(a), tk.filter_ids(b), tk.filter_ids(a)  # a is used last: b goes first
    tk.filter_ids(c)
    assert tk.filter_ids(a) == [a[0]] and tk.filter_ids(b) == [b[0]]
    assert asked == [repr(a), repr(b), repr(c), repr(b)]
