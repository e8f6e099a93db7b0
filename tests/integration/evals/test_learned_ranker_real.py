"""The learned ranker on the real movies build: the artifact, its use at serving, cross-fitted replay."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from crsagent.agent.cli import app
from crsagent.agent.settings import Settings
from crsagent.agent.turns import ChatMessage
from crsagent.graphs.ranking import DEFAULT_WEIGHTS
from crsagent.graphs.runner import CRSAgent
from crsagent.tools.artifacts import ArtifactStore
from crsagent.tools.intent.split import dialogue_split
from crsagent.tools.ranker.stage import load_ranker
from crsagent.tools.toolkit import Toolkit


@pytest.fixture(scope="module")
def toolkit(movies_home: Settings) -> Toolkit:
    return Toolkit.load(movies_home, "movies", eager=True)


def test_the_build_holds_two_cross_fitted_models_over_disjoint_dialogues(movies_home: Settings) -> None:
    store = ArtifactStore(movies_home.home, "movies")
    assert store.has("ranker") and store.has("prior")
    train, held = load_ranker(store, "train"), load_ranker(store, "heldout")
    assert train.fold == "train" and held.fold == "heldout"
    assert train.trained_on and held.trained_on and not train.trained_on & held.trained_on
    assert all(dialogue_split(d) == "train" for d in train.trained_on)
    assert all(dialogue_split(d) == "heldout" for d in held.trained_on)
    assert "intent" not in train.features and {"seq", "comention", "itemsim", "remention"} <= set(train.features)
    assert train.info["rounds"] >= 1 and train.info["other_half"]["recall@50"] > 0.2


class _Spy:
    """Wraps the built model: records every scored matrix and its scores."""

    def __init__(self, model) -> None:
        self.model, self.features = model, model.features
        self.seen: list[Any] = []

    def score(self, m: np.ndarray) -> np.ndarray:
        s = self.model.score(m)
        self.seen.append((m, s))
        return s


def test_serving_ranks_with_the_learned_ranker_when_asked(movies_home: Settings, toolkit: Toolkit) -> None:
    assert toolkit.ranker is not None and toolkit.ranker.fold == "train"
    spy = _Spy(toolkit.ranker)
    agent = CRSAgent.create(
        movies_home,
        variant="crs-only",
        toolkit=toolkit.with_handles(ranker=spy),
        weights=dataclasses.replace(DEFAULT_WEIGHTS, learned=True),
    )
    try:
        r = agent.run_history(
            [ChatMessage(role="user", content="I loved The Babadook and Get Out, any other horror?")], ranking_k=20
        )
    finally:
        agent.close()
    assert r.recommendations
    pool_m, pool_s = max(spy.seen, key=lambda t: t[0].shape[0])  # the pool (the other call: the re-mentions)
    assert pool_m.shape[0] > 20 and pool_m.shape[1] == len(toolkit.ranker.features)
    assert r.recommendations[0].score == pytest.approx(float(pool_s.max()), abs=1e-5)  # the model's top item
    fused = [x for x in r.ranking if "remention" not in x.signals]
    assert [x.score for x in fused] == sorted((x.score for x in fused), reverse=True)
    rementions = [x for x in r.ranking if "remention" in x.signals]
    assert rementions and len(spy.seen) >= 2  # the mentioned films are scored by the same model


def test_cross_fitted_replay_never_scores_a_dialogue_with_a_model_trained_on_it(
    movies_home: Settings, tmp_path
) -> None:
    out = tmp_path / "replay.json"
    res = CliRunner().invoke(
        app,
        [
            "eval",
            "replay",
            "--variant",
            "crs-only",
            "--limit",
            "24",
            "--sample-seed",
            "5",
            "--json",
            str(out),
            "--home",
            str(movies_home.home),
        ],
    )
    assert res.exit_code == 0, res.output
    s = json.loads(out.read_text())
    assert s["crossfit"] is True and s["ranker"] == "learned" and s["errors"] == 0
    store = ArtifactStore(movies_home.home, "movies")
    trained = {half: load_ranker(store, half).trained_on for half in ("train", "heldout")}
    records = [json.loads(line) for line in (tmp_path / "replay.partial.jsonl").read_text().splitlines()[1:]]
    assert len(records) == 24
    halves = set()
    for rec in records:
        rec = rec.get("record", rec)
        assert rec["ranker"] != dialogue_split(rec["dialog_id"])
        assert rec["dialog_id"] not in trained[rec["ranker"]]
        halves.add(rec["ranker"])
    assert halves == {"train", "heldout"}  # both models scored turns
