"""Build stage ``cf``: implicit ALS over the domain's interactions, saved as ``cf.npz`` + ``cf.json``.

Training data: movies - MovieLens ratings >= 3.5 plus one pseudo-user per training-half ReDial
dialogue (the movies the seeker liked); office - the Amazon histories including their next
item. This serving model trains on all of it; the offline evaluation fits its own model on the
held-out split with the same code (:func:`train_cf`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from crsagent.agent.domains import domain_spec
from crsagent.agent.errors import NotBuiltError
from crsagent.tools.artifacts import ArtifactStore, hash_inputs
from crsagent.tools.cf.content import content_vectors
from crsagent.tools.cf.data import POSITIVE_MIN_RATING, UserHistory, interaction_matrix
from crsagent.tools.cf.model import CFModel, CFParams
from crsagent.tools.cf.universe import Universe
from crsagent.tools.pipeline import BuildContext

__all__ = [
    "NAME",
    "DEPENDS",
    "VERSION",
    "PARAMS",
    "input_hash",
    "build",
    "train_cf",
    "load_cf",
    "input_files",
    "SOURCE_FILES",
]

NAME = "cf"
DEPENDS: tuple[str, ...] = ("catalog", "search")
VERSION = 3  # 3: content vectors really come from the search index (ids.json format)
# chosen on the validation splits (2nd- to 5th-to-last positive held out); see docs/models.md
#: The raw interaction files of each source (:attr:`~crsagent.agent.domains.DomainSpec.sources`),
#: under the data folder.
SOURCE_FILES: dict[str, tuple[str, ...]] = {
    "movielens": ("movielens-latest-small/ratings.csv", "movielens-latest-small/links.csv"),
    "redial": ("redial/dev_dialogues.jsonl",),
    "amazon": ("amazon-office/valid.csv",),
}

PARAMS: dict[str, dict[str, float]] = {
    "movies": {
        "factors": 64,
        "regularization": 10.0,
        "alpha": 5.0,
        "iterations": 15,
        "recency_boost": 10.0,
        "recency_tau": 2.0,
    },
    "office": {"factors": 64, "regularization": 1.0, "alpha": 10.0, "iterations": 15},
}


def input_files(data_dir: Path, domain: str) -> list[Path]:
    """The raw interaction files the models read: those of each of the domain's sources, in order."""
    return [data_dir / f for source in domain_spec(domain).sources for f in SOURCE_FILES.get(source, ())]


def input_hash(ctx: BuildContext) -> str:
    """Hash of the interaction files, the code version and the hyper-parameters."""
    extra = {"version": VERSION, "params": PARAMS.get(ctx.domain), "min_rating": POSITIVE_MIN_RATING}
    return hash_inputs(input_files(ctx.data_dir, ctx.domain), extra)


def _search_dir(store: ArtifactStore) -> Path | None:
    try:
        return store.path("search")
    except NotBuiltError:
        return None


def train_cf(
    universe: Universe,
    histories: list[UserHistory],
    search_dir: Path | None = None,
    params: dict[str, float] | None = None,
    on_iteration: Any = None,
    content: Any = None,
) -> CFModel:
    """Fit the CF model of a domain on ``histories`` (shared by the stage and the evaluation).

    ``content`` is the item content matrix when the caller already has it (else it is read
    from ``search_dir`` by :func:`content_vectors`).
    """
    ids = universe.item_ids
    matrix = interaction_matrix(histories, {i: k for k, i in enumerate(ids)})
    if content is None:
        content, _ = content_vectors(ids, universe.items, search_dir)
    p = CFParams(**{**PARAMS.get(universe.domain, {}), **(params or {})})
    return CFModel.fit(matrix, ids, p, content, universe.prior(), universe.titles, on_iteration)


def build(ctx: BuildContext, out_dir: Path) -> dict[str, Any]:
    """Train and save the domain's CF model into ``out_dir``."""
    universe = Universe.from_catalog_dir(ctx.store.path("catalog"), ctx.domain)
    histories = universe.histories(ctx.data_dir)
    params = CFParams(**PARAMS.get(ctx.domain, {}))
    advance = ctx.progress(f"{ctx.domain}: collaborative filtering (ALS)", int(params["iterations"]))
    search_dir = _search_dir(ctx.store)
    content, source = content_vectors(universe.item_ids, universe.items, search_dir)  # read once
    model = train_cf(universe, histories, search_dir, on_iteration=advance, content=content)
    model.save(out_dir)
    meta = {
        "users": len(histories),
        "items": len(model.item_ids),
        "warm_items": int(model.warm.sum()),
        "content": source,
        "content_dim": 0 if model.content is None else int(model.content.shape[1]),
    }
    ctx.log(f"{ctx.domain} CF: {meta['users']} users, {meta['warm_items']}/{meta['items']} items with interactions")
    return meta


def load_cf(settings: Any, domain: str) -> CFModel:
    """Load a domain's built CF model.

    Raises:
        NotBuiltError: the ``cf`` stage was never built.
    """
    return CFModel.load(ArtifactStore(settings.home, domain).path(NAME))
