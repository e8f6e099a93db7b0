"""Build stage ``intent``: the LatentCRS scorer, saved as ``intent.pt`` + ``intent.json``.

Training examples: template preference text over MovieLens users' (or Amazon users') items,
plus, for movies, the recommender turns of the *training half* of the ReDial dev dialogues
(:func:`crsagent.tools.intent.split.dialogue_split`); the other half is never trained on.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

from crsagent.tools.artifacts import ArtifactStore, hash_inputs
from crsagent.tools.cf.data import POSITIVE_MIN_RATING
from crsagent.tools.cf.stage import input_files
from crsagent.tools.cf.universe import Universe
from crsagent.tools.intent.em import EMParams
from crsagent.tools.intent.scorer import IntentScorer
from crsagent.tools.intent.texts import synthetic_examples
from crsagent.tools.intent.train import build_examples, train_intent
from crsagent.tools.pipeline import BuildContext
from crsagent.tools.seq.model import SeqModel

__all__ = [
    "NAME",
    "DEPENDS",
    "VERSION",
    "PARAMS",
    "PER_USER",
    "SYNTHETIC_FILE",
    "synthetic_path",
    "input_hash",
    "build",
    "load_intent",
]

NAME = "intent"
DEPENDS: tuple[str, ...] = ("catalog", "seq")
VERSION = 3
PER_USER = 16
#: simulated dialogues under the domain home (written by ``crsagent eval synthetic``)
SYNTHETIC_FILE = "synthetic_dialogues.jsonl"
# K, lambda and negatives chosen on the validation split; see docs/models.md
PARAMS: dict[str, EMParams] = {
    "movies": EMParams(n_intents=16, lam=1.0, negatives=64),
    "office": EMParams(n_intents=16, lam=1.0, negatives=64),
}


def synthetic_path(ctx: BuildContext) -> Path | None:
    """Simulated dialogues written by ``crsagent eval synthetic`` for this domain, if any."""
    path = ctx.settings.domain_home(ctx.domain) / SYNTHETIC_FILE
    return path if path.is_file() else None


def input_hash(ctx: BuildContext) -> str:
    """Hash of the interaction files (and simulated dialogues), the code version and the hyper-parameters."""
    extra = {"version": VERSION, "params": asdict(PARAMS[ctx.domain]), "per_user": PER_USER, "min": POSITIVE_MIN_RATING}
    files = input_files(ctx.data_dir, ctx.domain)
    synthetic = synthetic_path(ctx)
    return hash_inputs(files + ([synthetic] if synthetic else []), extra)


def build(ctx: BuildContext, out_dir: Path) -> dict[str, Any]:
    """Train the intent scorer on top of the built sequential model and save it into ``out_dir``."""
    universe = Universe.from_catalog_dir(ctx.store.path("catalog"), ctx.domain)
    seq = SeqModel.load(ctx.store.path("seq"))
    histories = universe.histories(ctx.data_dir)
    examples = build_examples(universe, histories, ctx.data_dir, per_user=PER_USER)
    synthetic = synthetic_path(ctx)
    if synthetic is not None:
        examples.extend(synthetic_examples(synthetic, universe.by_id))
    params = PARAMS[ctx.domain]
    advance = ctx.progress(f"{ctx.domain}: latent intents (variational EM)", params.max_iter)
    scorer, trace = train_intent(universe, seq, examples, params, log=ctx.log, on_iteration=advance)
    scorer.save(out_dir)
    return {
        "examples": len(examples),
        "intents": scorer.n_intents,
        "iterations": len(trace.objective) - 1,
        "objective": [round(x, 4) for x in trace.objective],
        "kl": [round(x, 4) for x in trace.kl],
        "converged": trace.converged,
    }


def load_intent(settings: Any, domain: str) -> IntentScorer:
    """Load a domain's built intent scorer (with the behaviour encoder saved beside it).

    Raises:
        NotBuiltError: the ``intent`` stage was never built.
    """
    return IntentScorer.load(ArtifactStore(settings.home, domain).path(NAME))
