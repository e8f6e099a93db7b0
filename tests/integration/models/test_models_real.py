"""The built recommender models over the real bundled catalogues (``movies_home`` / ``office_home``)."""

from __future__ import annotations

import numpy as np
import pytest

from crsagent.agent.errors import UnknownItemError
from crsagent.tools.artifacts import ArtifactStore
from crsagent.tools.catalog.db import ProductDB
from crsagent.tools.cf.stage import load_cf
from crsagent.tools.cf.tool import make_model_tools
from crsagent.tools.intent.stage import load_intent

TOY_STORY = "tt0114709"
FAMILY = {"animation", "children", "family"}


@pytest.fixture(scope="module")
def movies(movies_home):
    db = ProductDB.for_domain(movies_home, "movies")
    yield load_cf(movies_home, "movies"), load_intent(movies_home, "movies"), db
    db.close()


def _family_share(db, items) -> float:
    records = db.get_items([i.item_id for i in items])
    return sum(bool(FAMILY & set(r.genres)) for r in records) / len(records)


def test_models_cover_the_catalogue(movies):
    cf, intent, db = movies
    assert set(cf.item_ids) == set(db.ids()) == set(intent.item_ids)
    assert cf.warm.sum() > 7000  # movies with a positive MovieLens rating or a ReDial like


def test_toy_story_gets_family_and_animation_recommendations(movies):
    cf, _, db = movies
    rec = cf.recommend([TOY_STORY], k=10)
    assert TOY_STORY not in {i.item_id for i in rec}
    assert _family_share(db, rec) >= 0.6
    nb = cf.neighbours(TOY_STORY, k=10)
    assert _family_share(db, nb) >= 0.6
    assert "tt0120363" in {i.item_id for i in nb}  # Toy Story 2


def test_disliked_horror_pushes_horror_down(movies):
    cf, _, db = movies
    horror = [i for i in db.filter_ids({"genres_any": ["horror"]}, limit=200)]
    liked = ["tt0111161", "tt0109830"]  # The Shawshank Redemption, Forrest Gump
    base = cf.score(liked, horror)
    pushed = cf.score(liked, horror, disliked=["tt0081505"])  # The Shining
    assert (pushed < base).mean() > 0.9


def test_items_without_interactions_are_scored(movies):
    cf, _, db = movies
    cold = [cf.item_ids[j] for j in np.flatnonzero(~cf.warm)[:50]]
    assert cold, "the ReDial-only movies have no interactions"
    s = cf.score([TOY_STORY], cold)
    assert np.all(np.isfinite(s))
    assert len(cf.neighbours(cold[0], k=5)) == 5
    assert len(cf.recommend([cold[0]], k=5)) == 5


def test_intent_scorer_reads_text_and_behaviour(movies):
    _, intent, db = movies
    res = intent.score([TOY_STORY], "I want an animated movie for the kids", k=20)
    assert abs(sum(p for _, p, _ in res.intents) - 1) < 1e-3
    assert _family_share(db, res.items) >= 0.5
    scary = intent.score([], "a really scary horror movie with ghosts", k=20)
    records = db.get_items([i.item_id for i in scary.items])
    assert sum("horror" in r.genres for r in records) >= 5
    with pytest.raises(UnknownItemError):
        intent.score(["tt9999999999"], "")


def test_tools_answer_over_the_real_catalogue(movies):
    cf, intent, db = movies
    tools = {t.name: t for t in make_model_tools(cf, intent, db)}
    msg = tools["recommend_cf"].invoke(
        {
            "type": "tool_call",
            "id": "1",
            "name": "recommend_cf",
            "args": {"liked": [TOY_STORY], "k": 5, "filter": {"year_min": 2000}},
        }
    )
    items = db.get_items([i.item_id for i in msg.artifact.items])
    assert len(items) == 5 and all(r.year and r.year >= 2000 for r in items)
    msg = tools["score_intents"].invoke(
        {
            "type": "tool_call",
            "id": "2",
            "name": "score_intents",
            "args": {"liked": [TOY_STORY], "dialogue_text": "something funny", "k": 3},
        }
    )
    assert len(msg.artifact.items) == 3 and msg.artifact.intents


def test_build_is_input_hashed(movies_home):
    from crsagent.tools.pipeline import BuildContext, run_build

    ctx = BuildContext(settings=movies_home, domain="movies", store=ArtifactStore(movies_home.home, "movies"))
    results = {r.name: r for r in run_build(ctx, only=["cf", "seq", "intent"])}
    assert not any(r.built for r in results.values())


def test_office_models(office_home):
    cf = load_cf(office_home, "office")
    intent = load_intent(office_home, "office")
    item = cf.item_ids[int(np.argmax(cf.counts))]
    rec = cf.recommend([item], k=10)
    assert len(rec) == 10 and item not in {r.item_id for r in rec}
    res = intent.score([item], "I need pens and ink", k=5)
    assert len(res.items) == 5 and res.intents
