"""Build stage ``prior``: the ReDial priors and the MovieLens item-to-item similarity.

Movies only (the office domain writes an empty artifact). Two files:

* ``prior.json`` — the counts of :class:`~crsagent.tools.prior.redial.RedialPrior` learned from
  the ``train`` half of the dev dialogues (suggestions, transitions, co-mentions, re-mention
  rates); the corpus-mention smoothing base is applied at load time from the data folder;
* ``itemsim.npz`` — :class:`~crsagent.tools.prior.itemsim.ItemSim` over MovieLens positives.

Before this stage the toolkit learned the prior again at every load (about 1.5 s).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from crsagent.agent.domains import domain_spec
from crsagent.tools.artifacts import ArtifactStore, hash_inputs
from crsagent.tools.pipeline import BuildContext

__all__ = [
    "NAME",
    "DEPENDS",
    "VERSION",
    "PRIOR_FILE",
    "input_hash",
    "build",
    "load_built_prior",
    "load_built_itemsim",
    "write_json_atomic",
]

NAME = "prior"
DEPENDS: tuple[str, ...] = ("catalog",)
VERSION = 1
PRIOR_FILE = "prior.json"


def _inputs(data_dir: Path, domain: str) -> list[Path]:
    if not domain_spec(domain).dialogues:
        return []
    return [data_dir / "redial" / "dev_dialogues.jsonl", data_dir / "movielens-latest-small" / "ratings.csv"]


def input_hash(ctx: BuildContext) -> str:
    """Hash of the dialogues, the MovieLens ratings and the code version."""
    from crsagent.tools.prior import itemsim, redial

    extra = {
        "version": VERSION,
        "echo_depth": redial.REMENTION_DEPTH,  # the key as built before the rename (same hash)
        "neighbours": itemsim.NEIGHBOURS,
        "shrink": itemsim.SHRINK,
        "domain": ctx.domain,
    }
    return hash_inputs(_inputs(ctx.data_dir, ctx.domain), extra)


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON to a temporary file beside ``path``, then rename it over ``path``."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(data, fh, sort_keys=True)
    os.replace(tmp, path)


def build(ctx: BuildContext, out_dir: Path) -> dict[str, Any]:
    """Learn the priors and the item similarity into ``out_dir`` (movies; office: empty)."""
    if not domain_spec(ctx.domain).dialogues:
        write_json_atomic(out_dir / PRIOR_FILE, None)
        return {"dialogues": 0}
    from crsagent.tools.catalog.db import DB_FILE, ProductDB
    from crsagent.tools.cf.data import POSITIVE_MIN_RATING, movielens_histories, redial_dialogues
    from crsagent.tools.prior.itemsim import learn_itemsim
    from crsagent.tools.prior.redial import learn_prior

    db = ProductDB.open(ctx.store.path("catalog") / DB_FILE, read_only=True, domain=ctx.domain)
    try:
        redial_map, ml_map = db.source_map("redial"), db.source_map("movielens")
    finally:
        db.close()
    prior = learn_prior(redial_dialogues(ctx.data_dir), redial_map)
    write_json_atomic(out_dir / PRIOR_FILE, prior.to_dict())
    baskets = [h.positives(POSITIVE_MIN_RATING) for h in movielens_histories(ctx.data_dir, ml_map)]
    sim = learn_itemsim(baskets)
    sim.save(out_dir)
    ctx.log(f"movies prior: {prior.dialogues} train-half dialogues; item similarity over {len(sim.ids)} movies")
    return {"dialogues": prior.dialogues, "itemsim_items": len(sim.ids)}


def load_built_prior(store: ArtifactStore, data_dir: Path, id_map: dict[str, str]) -> Any:
    """The built prior of the store's domain with the data folder's smoothing base (None: office).

    Raises:
        NotBuiltError: the stage was never built.
    """
    from crsagent.tools.prior.redial import load_prior

    counts = json.loads((store.path(NAME) / PRIOR_FILE).read_text(encoding="utf-8"))
    if counts is None:
        return None
    return load_prior(data_dir, id_map, counts=counts)


def load_built_itemsim(store: ArtifactStore) -> Any:
    """The built MovieLens item similarity (None when the domain has none).

    Raises:
        NotBuiltError: the stage was never built.
    """
    from crsagent.tools.prior.itemsim import FILE, ItemSim

    folder = store.path(NAME)
    return ItemSim.load(folder) if (folder / FILE).exists() else None
