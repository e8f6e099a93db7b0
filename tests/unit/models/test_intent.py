"""LatentCRS: the EM loop lowers its objective; the scorer's contract; persistence; labels."""

from __future__ import annotations

import numpy as np
import pytest

from crsagent.agent.errors import UnknownItemError
from crsagent.tools.catalog.schema import Item
from crsagent.tools.cf.universe import Universe
from crsagent.tools.intent.em import EMData, EMParams, fit_em
from crsagent.tools.intent.scorer import IntentScorer
from crsagent.tools.intent.texts import Examples, template_text
from crsagent.tools.intent.train import fuse_scores, intent_labels, train_intent, zscore
from crsagent.tools.seq.model import SeqModel

N_ITEMS = 20


def _fixture_data(n: int = 400, seed: int = 0) -> EMData:
    """Three behaviour clusters; each cluster's targets come from its own item block, and the
    text names the block (so text and behaviour carry the same intent)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(3, 8)).astype(np.float32) * 3
    text_dirs = rng.normal(size=(3, 384)).astype(np.float32)
    z = rng.integers(0, 3, size=n)
    b = centres[z] + rng.normal(size=(n, 8)).astype(np.float32)
    t = text_dirs[z] + 0.5 * rng.normal(size=(n, 384)).astype(np.float32)
    t /= np.linalg.norm(t, axis=1, keepdims=True)
    v = z * 6 + rng.integers(0, 6, size=n)
    return EMData(b=b, t=t.astype(np.float32), v=v.astype(np.int64))


def test_em_objective_decreases_and_kl_is_logged():
    lines: list[str] = []
    params = EMParams(n_intents=3, negatives=8, hidden=16, batch_size=64, max_iter=5, tol=0.0, threads=1)
    net, trace = fit_em(_fixture_data(), N_ITEMS, params, log=lines.append)
    assert len(trace.objective) == len(trace.kl) == 6  # start + 5 iterations
    assert trace.objective[-1] < trace.objective[0] - 0.5
    assert trace.objective[-1] <= min(trace.objective[1:3]) + 1e-6
    assert all(np.isfinite(trace.kl)) and min(trace.kl) >= 0.0
    assert len(lines) == 6 and all("KL" in line for line in lines)


def test_em_stops_when_converged():
    params = EMParams(n_intents=3, negatives=8, hidden=16, batch_size=64, max_iter=50, tol=0.05, threads=1)
    _, trace = fit_em(_fixture_data(300), N_ITEMS, params)
    assert trace.converged and len(trace.objective) - 1 < 50


def test_em_is_reproducible():
    params = EMParams(n_intents=3, negatives=8, hidden=16, batch_size=64, max_iter=2, tol=0.0, threads=1)
    a = fit_em(_fixture_data(200), N_ITEMS, params)[1].objective
    b = fit_em(_fixture_data(200), N_ITEMS, params)[1].objective
    assert a == b


def _items() -> list[Item]:
    out = []
    for k in range(N_ITEMS):
        genre = ["animation", "horror", "drama", "western"][k // 5]
        out.append(Item(item_id=f"tt{k:07d}", domain="movies", title=f"Movie {k}", year=1990 + k, genres=[genre]))
    return out


def _fake_embed(texts):
    """Deterministic bag-of-words hashing embedder (unit tests never load a real model)."""
    out = np.zeros((len(texts), 384), np.float32)
    for r, t in enumerate(texts):
        for w in t.lower().split():
            out[r, sum(map(ord, w)) % 384] += 1.0
    return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)


@pytest.fixture(scope="module")
def scorer() -> IntentScorer:
    items = _items()
    ids = [i.item_id for i in items]
    rng = np.random.default_rng(0)
    seqs = [[ids[g * 5 + int(j)] for j in rng.integers(0, 5, 6)] for g in rng.integers(0, 4, 80)]
    seq = SeqModel.fit(
        seqs, ids, {"dim": 8, "n_layers": 1, "n_heads": 1, "max_len": 6, "epochs": 2, "threads": 1}, device="cpu"
    )
    universe = Universe("movies", items)
    ex = Examples()
    for s in seqs:
        ex.add(s[:-1], template_text(universe.subset(s[:-1]), rng, "movies"), s[-1], "test")
    params = EMParams(n_intents=4, negatives=8, hidden=16, batch_size=32, max_iter=2, threads=1)
    return train_intent(universe, seq, ex, params, embed_fn=_fake_embed)[0]


def test_score_returns_distribution_and_items(scorer):
    liked = ["tt0000001", "tt0000002"]
    res = scorer.score(liked, "I love animation movies", k=5)
    probs = [p for _, p, _ in res.intents]
    assert len(res.intents) == 4 and abs(sum(probs) - 1) < 1e-4 and probs == sorted(probs, reverse=True)
    assert all(isinstance(lab, str) and lab for _, _, lab in res.intents)
    ids = [i.item_id for i in res.items]
    assert len(ids) == 5 and not set(liked) & set(ids)
    # an empty session and empty text still work (cold start)
    assert len(scorer.score([], "", k=3).items) == 3
    cand = scorer.score(liked, "", k=10, candidate_ids=["tt0000010", "tt0000011"])
    assert {i.item_id for i in cand.items} == {"tt0000010", "tt0000011"}


def test_score_pairs_are_the_scores_without_result_objects(scorer):
    for liked, text, cands in (
        (["tt0000001"], "animation", None),
        ([], "horror", ["tt0000010", "tt0000003", "tt0000007"]),
    ):
        res = scorer.score(liked, text, k=4, candidate_ids=cands, exclude=["tt0000003"])
        intents, pairs = scorer.score_pairs(liked, text, k=4, candidate_ids=cands, exclude=["tt0000003"])
        assert intents == res.intents and res.items
        assert list(pairs.items()) == [(i.item_id, i.score) for i in res.items]
        assert "tt0000003" not in pairs
    with pytest.raises(UnknownItemError):
        scorer.score_pairs([], "text", candidate_ids=["tt0000001", "nope"])


def test_score_unknown_ids_raise(scorer):
    with pytest.raises(UnknownItemError):
        scorer.score(["nope"], "text")
    with pytest.raises(UnknownItemError):
        scorer.score([], "text", candidate_ids=["nope"])


def test_scorer_save_load_round_trip(scorer, tmp_path):
    scorer.save(tmp_path / "intent")
    loaded = IntentScorer.load(tmp_path / "intent", embed_fn=_fake_embed)
    a = scorer.score(["tt0000003"], "horror please", k=10)
    b = loaded.score(["tt0000003"], "horror please", k=10)
    assert a == b and loaded.labels == scorer.labels


def test_labels_name_over_represented_genres():
    items = {i.item_id: i for i in _items()}
    behaviours = [["tt0000000", "tt0000001"], ["tt0000005", "tt0000006"], ["tt0000002"]]
    labels = intent_labels(np.array([0, 1, 0]), behaviours, items, "movies", 3)
    assert labels[0] == "animation" and labels[1] == "horror" and labels[2] == "intent 2"


def test_fusion_standardises_each_model():
    cf = np.array([[1.0, 2.0, 3.0, -np.inf]])
    it = np.array([[30.0, 20.0, 10.0, 0.0]])
    assert np.isneginf(zscore(cf)[0, 3])
    z = zscore(it)[0]
    assert z.mean() == pytest.approx(0.0, abs=1e-5) and z.std() == pytest.approx(1.0, abs=1e-4)
    fused = fuse_scores(cf, it, 0.5)[0]
    np.testing.assert_allclose(fused[:3], zscore(cf)[0, :3] + 0.5 * z[:3], rtol=1e-5)
    assert np.isneginf(fused[3])
