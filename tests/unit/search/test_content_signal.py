"""The ``content`` ranking signal over a real index (real MiniLM embeddings, real chromadb)."""

from __future__ import annotations

from crsagent.graphs.ranking.content import content_scores
from crsagent.tools.search.index import VectorIndex

GHOST_MANOR, NIGHT_TERRORS, LAUGH_RIOT = "tt0000001", "tt0000002", "tt0000003"
STAR_VOYAGE, MARS_COLONY = "tt0000005", "tt0000006"


def test_a_horror_context_ranks_the_other_horror_film_above_the_comedies(index: VectorIndex) -> None:
    got = content_scores(index, [GHOST_MANOR], 9, exclude={GHOST_MANOR})
    assert GHOST_MANOR not in got and len(got) == 9
    ranked = list(got)
    assert ranked.index(NIGHT_TERRORS) < ranked.index(LAUGH_RIOT)
    assert all(-1.0 <= v <= 1.0 for v in got.values())


def test_the_profile_is_the_mean_of_the_context_items(index: VectorIndex) -> None:
    got = content_scores(index, [STAR_VOYAGE, MARS_COLONY], 3, exclude={STAR_VOYAGE, MARS_COLONY})
    v = index.item_vectors([STAR_VOYAGE, MARS_COLONY]).mean(axis=0)
    v /= float((v**2).sum() ** 0.5)
    expected = {h.item_id: round(h.score, 6) for h in index.query_vector(v, 3, exclude_ids=[STAR_VOYAGE, MARS_COLONY])}
    assert got == expected
    only = content_scores(index, [STAR_VOYAGE], 5, candidate_ids=[LAUGH_RIOT, NIGHT_TERRORS])
    assert set(only) == {LAUGH_RIOT, NIGHT_TERRORS}
