"""``recommend_cf`` and ``score_intents`` as LangChain tools: typed results, errors as tool messages."""

from __future__ import annotations

import json

import pytest
from langchain_core.messages import ToolMessage

from crsagent.tools.catalog.schema import ItemFilter, ScoredItem
from crsagent.tools.cf.tool import RecommendCFResult, ScoreIntentsResult, make_model_tools
from crsagent.tools.intent.scorer import IntentResult

from .conftest import A


class FakeDB:
    """Resolves filters to ids: ``genres_any=["b"]`` means the B group (a stand-in for ProductDB)."""

    def __init__(self) -> None:
        self.calls: list[ItemFilter] = []

    def filter_ids(self, f: ItemFilter) -> list[str]:
        self.calls.append(f)
        group = f.genres_any[0] if f.genres_any else "a"
        return [f"{group}{i}" for i in range(10)]


class FakeIntent:
    """Records calls; answers a fixed intent distribution."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def score(self, liked, text, k=50, candidate_ids=None):
        from crsagent.agent.errors import UnknownItemError

        if any(i.startswith("zz") for i in liked):
            raise UnknownItemError([i for i in liked if i.startswith("zz")])
        self.calls.append((list(liked), text, k))
        return IntentResult(
            intents=[(2, 0.6, "horror"), (0, 0.3, "comedy"), (1, 0.05, "drama"), (3, 0.05, "war")],
            items=[ScoredItem(item_id="b1", score=1.23456), ScoredItem(item_id="b2", score=0.5)][:k],
        )


def _call(tool, args):
    msg = tool.invoke({"type": "tool_call", "id": "c1", "name": tool.name, "args": args})
    assert isinstance(msg, ToolMessage)
    return msg


@pytest.fixture()
def tools(cf_model):
    db, intent = FakeDB(), FakeIntent()
    return {t.name: t for t in make_model_tools(cf_model, intent, db)}, db, intent


def test_recommend_cf_returns_typed_result(tools):
    named, _, _ = tools
    msg = _call(named["recommend_cf"], {"liked": ["a1", "a2"], "k": 3})
    assert msg.status != "error"
    assert isinstance(msg.artifact, RecommendCFResult) and len(msg.artifact.items) == 3
    assert {i.item_id for i in msg.artifact.items} <= set(A) | {"cold-a"}
    assert json.loads(msg.content)["items"][0]["item_id"] == msg.artifact.items[0].item_id


def test_recommend_cf_applies_the_filter_through_the_database(tools):
    named, db, _ = tools
    msg = _call(named["recommend_cf"], {"liked": ["a1"], "k": 5, "filter": {"genres_any": ["b"]}})
    assert db.calls and db.calls[0].genres_any == ["b"]
    assert all(i.item_id.startswith("b") for i in msg.artifact.items)


def test_recommend_cf_errors_come_back_as_tool_messages(tools):
    named, _, _ = tools
    msg = _call(named["recommend_cf"], {"liked": ["a1", "zz9"]})
    assert msg.status == "error" and "zz9" in msg.content
    bad = _call(named["recommend_cf"], {"liked": ["a1"], "filter": {"year_min": 2000, "year_max": 1990}})
    assert bad.status == "error" and "year_min" in bad.content
    too_many = _call(named["recommend_cf"], {"liked": ["a1"], "k": 500})
    assert too_many.status == "error" and "k" in too_many.content


def test_score_intents_returns_top_intents(tools):
    named, _, intent = tools
    msg = _call(named["score_intents"], {"liked": ["b1"], "dialogue_text": "something scary", "k": 2})
    assert isinstance(msg.artifact, ScoreIntentsResult)
    assert [w.label for w in msg.artifact.intents] == ["horror", "comedy", "drama"]
    assert msg.artifact.items[0].score == 1.2346
    assert intent.calls == [(["b1"], "something scary", 2)]
    err = _call(named["score_intents"], {"liked": ["zz1"]})
    assert err.status == "error" and "zz1" in err.content


def test_only_tools_with_models_are_made(cf_model):
    assert [t.name for t in make_model_tools(cf_model, None, None)] == ["recommend_cf"]
    assert [t.name for t in make_model_tools(None, FakeIntent(), None)] == ["score_intents"]
    lone = make_model_tools(cf_model, None, None)[0]
    msg = _call(lone, {"liked": ["a1"], "filter": {"genres_any": ["b"]}})
    assert msg.status == "error" and "filter" in msg.content
