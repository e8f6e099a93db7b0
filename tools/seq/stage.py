"""Build stage ``seq``: the SASRec behaviour model, saved as ``seq.pt`` + ``seq.json``.

Sequences: movies - each MovieLens user's positive ratings (>= 3.5) by timestamp plus the
liked movies of training-half ReDial dialogues in mention order; office - each Amazon
history followed by its next item.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from crsagent.tools.artifacts import ArtifactStore, hash_inputs
from crsagent.tools.cf.data import POSITIVE_MIN_RATING, UserHistory
from crsagent.tools.cf.stage import input_files
from crsagent.tools.cf.universe import Universe
from crsagent.tools.pipeline import BuildContext
from crsagent.tools.seq.model import SeqModel, SeqParams

__all__ = ["NAME", "DEPENDS", "VERSION", "PARAMS", "input_hash", "build", "train_seq", "load_seq"]

NAME = "seq"
DEPENDS: tuple[str, ...] = ("catalog",)
VERSION = 1
# see docs/models.md for the measurements behind these
PARAMS: dict[str, dict[str, Any]] = {
    "movies": {"dim": 64, "n_layers": 2, "max_len": 50, "epochs": 20, "negatives": 2048},
    "office": {"dim": 64, "n_layers": 2, "max_len": 20, "epochs": 20, "negatives": 512},
}


def input_hash(ctx: BuildContext) -> str:
    """Hash of the interaction files, the code version and the hyper-parameters."""
    extra = {"version": VERSION, "params": PARAMS.get(ctx.domain), "min_rating": POSITIVE_MIN_RATING}
    return hash_inputs(input_files(ctx.data_dir, ctx.domain), extra)


def train_seq(
    universe: Universe, histories: list[UserHistory], params: dict[str, Any] | None = None, on_epoch: Any = None
) -> SeqModel:
    """Fit the sequential model of a domain on the positives of ``histories``."""
    p = SeqParams(**{**PARAMS.get(universe.domain, {}), **(params or {})})
    return SeqModel.fit([h.positives() for h in histories], universe.item_ids, p, on_epoch=on_epoch)


def build(ctx: BuildContext, out_dir: Path) -> dict[str, Any]:
    """Train and save the domain's sequential model into ``out_dir``."""
    universe = Universe.from_catalog_dir(ctx.store.path("catalog"), ctx.domain)
    histories = universe.histories(ctx.data_dir)
    p = SeqParams(**PARAMS.get(ctx.domain, {}))
    advance = ctx.progress(f"{ctx.domain}: sequential model (SASRec)", int(p["epochs"]))
    losses: list[float] = []

    def on_epoch(epoch: int, loss: float) -> None:
        losses.append(loss)
        advance(1)

    model = train_seq(universe, histories, on_epoch=on_epoch)
    model.save(out_dir)
    ctx.log(
        f"{ctx.domain} SASRec: loss {losses[0]:.3f} -> {losses[-1]:.3f} over {len(losses)} epochs on {model.device}"
    )
    return {"sequences": len(histories), "items": len(model.item_ids), "final_loss": round(losses[-1], 4)}


def load_seq(settings: Any, domain: str, device: str | None = None) -> SeqModel:
    """Load a domain's built sequential model.

    Raises:
        NotBuiltError: the ``seq`` stage was never built.
    """
    return SeqModel.load(ArtifactStore(settings.home, domain).path(NAME), device)
