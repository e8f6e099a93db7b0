"""Build stage ``ranker``: the learned ranker, cross-fitted on the two halves of the dev dialogues.

Movies only (the office domain writes an empty artifact and keeps the weighted fusion). The
stage reads every ReDial dev turn once as the ``crs-only`` agent would
(:func:`~crsagent.evals.tuning.ranker_data.collect_rows`; catalogue popularity and prior smoothing
from ``train``-half mention counts, as replay uses them, and out-of-fold ReDial priors on the
tuning half's own turns), then trains two LightGBM lambdarank models
(:mod:`crsagent.tools.ranker.model`):

* ``train.txt`` / ``train.json`` — on the tuning (``train``) half, early stopping on a fifth of
  its dialogues (:func:`early_stopping_part`). Serving uses it, and replay scores the check
  (``heldout``) half with it;
* ``heldout.txt`` / ``heldout.json`` — on the check half, the same way; replay scores the
  tuning half with it, so no dialogue is ever scored by a model trained on it.

Each model's JSON lists the dialogue ids it was trained on and its figures on the other half.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from pathlib import Path
from typing import Any

from crsagent.agent.domains import domain_spec
from crsagent.graphs.ranking.features import FEATURES, former_name
from crsagent.tools.artifacts import ArtifactStore, hash_inputs
from crsagent.tools.pipeline import BuildContext

__all__ = [
    "NAME",
    "DEPENDS",
    "VERSION",
    "FOLDS",
    "SERVING_FEATURES",
    "input_hash",
    "early_stopping_part",
    "build",
    "load_ranker",
    "train_halves",
]

NAME = "ranker"
DEPENDS: tuple[str, ...] = ("catalog", "search", "encoder", "cf", "seq", "prior")
VERSION = 1
#: The model trained on each half, in the artifact (``<fold>.txt`` + ``<fold>.json``).
FOLDS: tuple[str, ...] = ("train", "heldout")
#: The serving model's features: every feature but ``intent`` (the LatentCRS scorer costs about
#: four times the turn and earned no gain in the ablation, ``docs/journal/2026-12-07-learned-ranker.md``).
SERVING_FEATURES: tuple[str, ...] = tuple(f for f in FEATURES if f != "intent")
MARKER = "ranker.json"


def early_stopping_part(dialog_id: str) -> bool:
    """Whether a dialogue's turns watch early stopping (about a fifth: SHA-256 byte 3 mod 5 is 0)."""
    return hashlib.sha256(str(dialog_id).strip().encode()).digest()[3] % 5 == 0


def input_hash(ctx: BuildContext) -> str:
    """Hash of the turns, dialogues, mention counts, code version, features and parameters."""
    from crsagent.tools.ranker.model import RankerParams

    files = []
    if domain_spec(ctx.domain).dialogues:
        d = ctx.data_dir / "redial"
        files = [d / "dev_turns.jsonl", d / "dev_dialogues.jsonl", d / "movies_with_mentions.csv"]
    extra = {
        "version": VERSION,
        "features": [former_name(f) for f in SERVING_FEATURES],  # renames leave built models valid
        "params": RankerParams().__dict__,
        "domain": ctx.domain,
    }
    return hash_inputs(files, extra)


def train_halves(
    rows: list[Any], dialogue_halves: dict[str, set[str]], features: tuple[str, ...], log: Any = None
) -> dict[str, Any]:
    """One model per half of ``rows`` (early stopping on :func:`early_stopping_part`), each
    evaluated on the other half.

    Returns:
        fold -> :class:`~crsagent.tools.ranker.model.LearnedRanker`.
    """
    from crsagent.evals.tuning.ranker_data import evaluate_rows, stack
    from crsagent.tools.intent.split import dialogue_split
    from crsagent.tools.ranker.model import LearnedRanker, train_ranker

    cols = [FEATURES.index(f) for f in features]
    out: dict[str, Any] = {}
    for fold in FOLDS:
        other = [r for r in rows if dialogue_split(r.dialog_id) != fold]
        mine = [r for r in rows if dialogue_split(r.dialog_id) == fold]
        fit = [r for r in mine if not early_stopping_part(r.dialog_id)]
        es = [r for r in mine if early_stopping_part(r.dialog_id)]
        booster, info = train_ranker(stack(fit, cols), stack(es, cols), features)
        model = LearnedRanker(booster, features, frozenset(dialogue_halves[fold]), fold, info)

        def score(m: Any, model: LearnedRanker = model) -> Any:
            return model.score(m[:, cols])

        info["other_half"] = evaluate_rows(other, score)
        if log is not None:
            log(f"movies ranker ({fold}): {info['rounds']} rounds, other half {info['other_half']}")
        out[fold] = model
    return out


def build(ctx: BuildContext, out_dir: Path) -> dict[str, Any]:
    """Collect the dev turns' rows and train the two cross-fitted models into ``out_dir``."""
    if not domain_spec(ctx.domain).dialogues:
        (out_dir / MARKER).write_text(json.dumps({"folds": []}))
        return {"folds": 0}
    from crsagent.evals.datasets import TitleResolver, load_turns
    from crsagent.evals.leakage import leak_free_settings
    from crsagent.evals.tuning.ranker_data import collect_rows, fold_of, fold_toolkits
    from crsagent.tools.intent.split import TRAIN, dialogue_split
    from crsagent.tools.toolkit import Toolkit

    turns = load_turns(ctx.data_dir / "redial" / "dev_turns.jsonl")
    halves: dict[str, set[str]] = {f: set() for f in FOLDS}
    for t in turns:
        halves[dialogue_split(t.dialog_id)].add(str(t.dialog_id))
    resolver = TitleResolver.from_catalog(ctx.settings)
    with tempfile.TemporaryDirectory(prefix="crsagent-ranker-") as work:
        settings = leak_free_settings(ctx.settings, "train-half", Path(work))
        base = Toolkit.load(settings, "movies", cache=False).with_handles(ranker=None, intent=None)
        folds = fold_toolkits(base, settings.data_dir)

        def toolkit_for(turn: Any) -> Any:
            return folds[fold_of(turn.dialog_id)] if dialogue_split(turn.dialog_id) == TRAIN else base

        advance = ctx.progress("movies: learned ranker (reading the dev turns)", len(turns))
        rows = collect_rows(toolkit_for, turns, resolver, skip=frozenset({"intent"}), on_turn=lambda: advance(1))
    models = train_halves(rows, halves, SERVING_FEATURES, ctx.log)
    for model in models.values():
        model.save(out_dir)
    (out_dir / MARKER).write_text(json.dumps({"folds": list(models)}))
    return {"folds": len(models), "turns": len(rows), **{f"{f}_rounds": m.info["rounds"] for f, m in models.items()}}


def load_ranker(store: ArtifactStore, fold: str = "train") -> Any:
    """The learned ranker trained on ``fold`` (``train``: the serving model), or None (office).

    Raises:
        NotBuiltError: the stage was never built.
    """
    from crsagent.tools.ranker.model import LearnedRanker

    folder = store.path(NAME)
    marker = folder / MARKER
    if marker.exists() and fold not in json.loads(marker.read_text()).get("folds", []):
        return None
    return LearnedRanker.load(folder, fold)
