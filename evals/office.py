"""The office domain measured: next-item ranking and simulated dialogues on held-out histories.

Protocol (``crsagent eval office``, ``docs/evaluation.md``): each Amazon office user's next item
(``valid.csv``'s ``item_id``) is held out, as in ``crsagent eval offline``. With ``refit`` (the
default) CF and SASRec are fitted again on the rest with the build stages' code, and the
catalogue's popularity is recounted from the training histories only (the built catalogue counts
the targets too), so nothing the models see contains a target. Then:

* **halves**: the users are split by :func:`user_half` (a salted SHA-256 of the user id) into a
  ``tuning`` half, the only one the office fusion weights were tuned on
  (:mod:`crsagent.evals.tuning.office_weights`), and a ``check`` half; every figure below is
  reported for each half apart;
* **offline next-item**: Recall@10 / NDCG@10 (the user's training items removed) of
  ``popularity`` (training counts), ``cf`` (ALS fold-in), ``sequential`` (SASRec) and the fused
  ranking (:func:`~crsagent.graphs.ranking.rank_candidates` on the office toolkit, office has no
  learned ranker) for a belief that likes the user's training items, once with the movie weights
  (``fused_movie_weights``: ``DEFAULT_WEIGHTS``) and once with the office weights
  (``fused_office_weights``: ``OFFICE_WEIGHTS`` or the ``weights`` passed);
* **simulated dialogues**: the agenda simulator (no LLM) plays one dialogue per held-out target of
  a seeded sample of the half's users (targets with a brand, as the agenda asks for product then
  brand) against the ``crs-only`` agent on the same leak-free toolkit, with the office weights
  (and, when asked, the movie weights); ``success@5`` is the share recommended within five agent
  turns. The agent does not see the user's history.

``refit=False`` uses the built models and catalogue as they are (fast, for tests; the targets
are then in their training data, so the figures are optimistic and marked ``leaky``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import random
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from crsagent.agent.settings import Settings
from crsagent.evals.metrics import mean_metrics, ranking_metrics
from crsagent.evals.offline import rank_users, split_holdout
from crsagent.graphs.dialogue.belief import Belief
from crsagent.graphs.ranking import DEFAULT_WEIGHTS, OFFICE_WEIGHTS, FusionWeights
from crsagent.tools.cf.data import UserHistory

__all__ = [
    "DOMAIN",
    "HALVES",
    "OfficeSplit",
    "user_half",
    "office_split",
    "split_halves",
    "leak_free_settings",
    "leak_free_toolkit",
    "history_belief",
    "evaluate_office",
]

DOMAIN = "office"
K = 10
#: The user halves: weights are tuned on ``tuning`` only; ``check`` is never looked at to choose.
HALVES: tuple[str, ...] = ("tuning", "check")
SPLIT_SALT = "crsagent-office-weights"
Log = Callable[[str], None]


def user_half(user_id: str, salt: str = SPLIT_SALT) -> str:
    """The half of an office user: ``tuning`` or ``check`` (deterministic).

    The first byte of the SHA-256 of ``"<salt>:<user id>"`` decides: even is ``tuning``. The
    half does not depend on the sample, the seed or the order of the users.

    Args:
        user_id: the user's id (``amz-...``).
        salt: the hash's salt (a different salt, a different split).
    """
    digest = hashlib.sha256(f"{salt}:{str(user_id).strip()}".encode()).digest()
    return HALVES[digest[0] % 2]


@dataclass
class OfficeSplit:
    """The held-out office users and the models that never saw their targets (with ``refit``).

    Attributes:
        universe: the office catalogue's item universe.
        train: every user's training history (targets removed).
        users: the evaluated users' training histories (a seeded sample when asked).
        targets: each evaluated user's held-out next item.
        cf, seq: the CF and SASRec models used (refitted or built).
        refit: whether the models were fitted on the training histories only.
    """

    universe: Any
    train: list[UserHistory]
    users: list[UserHistory]
    targets: list[str]
    cf: Any
    seq: Any
    refit: bool


def office_split(settings: Settings, *, users: int | None = None, seed: int = 0, refit: bool = True) -> OfficeSplit:
    """Hold out each office user's next item; fit (or load) CF and SASRec.

    Args:
        settings: the data home (the built ``catalog``; ``cf``/``seq`` without ``refit``).
        users: evaluate a seeded sample of this many users (None: all).
        seed: the sample's seed.
        refit: fit CF and SASRec on the training histories (else load the built ones).
    """
    from crsagent.tools.artifacts import ArtifactStore
    from crsagent.tools.cf.universe import Universe

    store = ArtifactStore(settings.home, DOMAIN)
    universe = Universe.from_catalog_dir(store.path("catalog"), DOMAIN)
    train, targets = split_holdout(universe.histories(settings.data_dir), 0)
    chosen = [h for h in train if h.user_id in targets]
    if users is not None and users < len(chosen):
        keep = set(random.Random(seed).sample(range(len(chosen)), users))
        chosen = [h for n, h in enumerate(chosen) if n in keep]
    if refit:
        from crsagent.tools.cf.stage import train_cf
        from crsagent.tools.seq.stage import train_seq

        try:
            search_dir: Path | None = store.path("search")
        except Exception:  # noqa: BLE001 - CF's content fallback works without it
            search_dir = None
        cf, seq = train_cf(universe, train, search_dir), train_seq(universe, train)
    else:
        from crsagent.tools.toolkit import Toolkit

        tk = Toolkit.load(settings, DOMAIN)
        cf, seq = tk.cf, tk.seq
    return OfficeSplit(universe, train, chosen, [targets[h.user_id] for h in chosen], cf, seq, refit)


def split_halves(split: OfficeSplit) -> dict[str, OfficeSplit]:
    """The split's evaluated users in :data:`HALVES` (:func:`user_half`), sharing the models.

    Returns:
        ``{"tuning": ..., "check": ...}``; each keeps ``train`` (every user's training history).
    """
    out = {}
    for half in HALVES:
        keep = [n for n, h in enumerate(split.users) if user_half(h.user_id) == half]
        out[half] = dataclasses.replace(
            split, users=[split.users[n] for n in keep], targets=[split.targets[n] for n in keep]
        )
    return out


def leak_free_settings(settings: Settings, split: OfficeSplit, workdir: Path) -> Settings:
    """Settings whose office catalogue counts popularity in the training histories only (a copy
    under ``workdir``; the build counts histories and targets)."""
    from crsagent.tools.catalog.db import ProductDB

    counts = Counter(i for h in split.train for i in h.items)
    with ProductDB.for_domain(settings, DOMAIN) as db:
        data = db.export()
    data.items = [it.model_copy(update={"popularity": float(counts.get(it.item_id, 0))}) for it in data.items]
    url = f"sqlite:///{(Path(workdir) / 'office-catalog.sqlite').resolve()}"
    ProductDB.load_into(url, data, {"popularity": "training histories"})
    return dataclasses.replace(settings, database_url=url)


@contextmanager
def leak_free_toolkit(settings: Settings, split: OfficeSplit) -> Iterator[tuple[Settings, Any]]:
    """The office toolkit the protocol ranks with: the split's CF and SASRec and, with ``refit``,
    the popularity of the training histories (a catalogue copy in a temporary folder).

    Yields:
        (the run settings, the toolkit).
    """
    from crsagent.tools.toolkit import Toolkit

    with tempfile.TemporaryDirectory(prefix="crsagent-office-") as tmp:
        run_settings = leak_free_settings(settings, split, Path(tmp)) if split.refit else settings
        toolkit = Toolkit.load(run_settings, DOMAIN, cache=False, eager=True).with_handles(cf=split.cf, seq=split.seq)
        yield run_settings, toolkit


def history_belief(history: Sequence[str]) -> Belief:
    """The belief of a user who liked (and so mentioned) every item of a history."""
    return {"items": {i: {"opinion": "liked", "source": "profile"} for i in history}, "mentioned": list(history)}


def _model_metrics(split: OfficeSplit) -> dict[str, dict[str, float]]:
    ids = split.universe.item_ids
    index = {i: n for n, i in enumerate(ids)}
    exclude = [np.array(sorted({index[i] for i in h.items}), dtype=np.int64) for h in split.users]
    out = {
        "popularity": rank_users(
            np.broadcast_to(split.cf.popularity, (len(split.users), len(ids))), ids, exclude, split.targets
        )
    }
    cf_scores = np.stack([split.cf.scores_all(h.positives()) for h in split.users])
    out["cf"] = rank_users(cf_scores, ids, exclude, split.targets)
    max_len = int(split.seq.params["max_len"])
    out["sequential"] = rank_users(
        split.seq.next_scores_many([h.positives()[-max_len:] for h in split.users]), ids, exclude, split.targets
    )
    return out


def _fused_metrics(toolkit: Any, split: OfficeSplit, weights: FusionWeights) -> dict[str, float]:
    from crsagent.graphs.ranking import rank_candidates

    rows = []
    for h, target in zip(split.users, split.targets, strict=True):
        cands, _ = rank_candidates(toolkit, history_belief(h.items), "", k=K, weights=weights)
        rows.append(ranking_metrics([c["item_id"] for c in cands], {target}, ks=(K,)))
    return {key: round(v, 4) for key, v in mean_metrics(rows).items()}


def _simulate(
    settings: Settings,
    toolkit: Any,
    split: OfficeSplit,
    n: int,
    max_turns: int,
    seed: int,
    weights: FusionWeights,
) -> dict[str, Any]:
    from langgraph.checkpoint.memory import InMemorySaver
    from langgraph.store.memory import InMemoryStore

    from crsagent.evals.simulators import AgendaSimulator, run_simulation
    from crsagent.evals.simulators.base import Target, linker_from
    from crsagent.graphs.runner import CRSAgent
    from crsagent.tools.linker.linker import EntityLinker

    items = toolkit.items()
    eligible = sorted({t for t in split.targets if items.get(t) is not None and items[t].brand})
    chosen = random.Random(seed).sample(eligible, min(n, len(eligible)))
    sim = AgendaSimulator(items.get, linker=linker_from(EntityLinker.from_items(list(items.values()))))
    agent = CRSAgent.create(  # in memory: nothing is written to the data home
        settings,
        domain=DOMAIN,
        variant="crs-only",
        toolkit=toolkit,
        weights=weights,
        checkpointer=InMemorySaver(),
        store=InMemoryStore(),
    )
    result = run_simulation(agent, sim, [Target.from_item(items[t]) for t in chosen], max_turns=max_turns, seed=seed)
    summary = dict(result.summary)
    summary["success@5"] = summary.get("success_by_turn", {}).get("5")
    summary["targets"] = chosen
    return summary


def evaluate_office(
    settings: Settings,
    *,
    users: int | None = None,
    sim_targets: int = 50,
    max_turns: int = 5,
    seed: int = 0,
    refit: bool = True,
    weights: FusionWeights | None = None,
    sim_movie_weights: bool = False,
    log: Log = lambda msg: None,
) -> dict[str, Any]:
    """Run the office protocol (module docstring) on each half of the users.

    Args:
        settings: the data home with a built office domain.
        users: offline users (a seeded sample, split into halves afterwards; None: all).
        sim_targets: simulated dialogues per half (0: none).
        max_turns: agent turns per dialogue.
        seed: user and target sampling seed.
        refit: fit CF and SASRec without the targets, popularity from the training histories.
        weights: the office weights measured (default :data:`~crsagent.graphs.ranking.OFFICE_WEIGHTS`).
        sim_movie_weights: also simulate the dialogues with the movie weights.
        log: progress messages.

    Returns:
        ``{"halves": {"tuning"|"check": {"users", "offline": {model: {"recall@10", "ndcg@10",
        ...}}, "simulate": {"office_weights": {..., "success@5"}, "movie_weights": ...}}},
        "weights": {"office", "movies"}, "users", "refit", "leaky", ...}``.
    """
    office = OFFICE_WEIGHTS if weights is None else weights
    split = office_split(settings, users=users, seed=seed, refit=refit)
    halves = split_halves(split)
    log(
        f"office: {len(split.users)} users ({', '.join(f'{h} {len(s.users)}' for h, s in halves.items())}), "
        f"models {'refitted' if refit else 'built'}"
    )
    report: dict[str, Any] = {}
    with leak_free_toolkit(settings, split) as (run_settings, toolkit):
        for half, sub in halves.items():
            offline = _model_metrics(sub)
            offline["fused_movie_weights"] = _fused_metrics(toolkit, sub, DEFAULT_WEIGHTS)
            offline["fused_office_weights"] = _fused_metrics(toolkit, sub, office)
            log(f"office {half} offline: " + ", ".join(f"{m} R@10 {v['recall@10']}" for m, v in offline.items()))
            sim: dict[str, Any] | None = None
            if sim_targets:
                sim = {"office_weights": _simulate(run_settings, toolkit, sub, sim_targets, max_turns, seed, office)}
                if sim_movie_weights:
                    sim["movie_weights"] = _simulate(
                        run_settings, toolkit, sub, sim_targets, max_turns, seed, DEFAULT_WEIGHTS
                    )
                log(f"office {half} success@5: " + ", ".join(f"{w} {v['success@5']}" for w, v in sim.items()))
            report[half] = {"users": len(sub.users), "offline": offline, "simulate": sim}
    return {
        "domain": DOMAIN,
        "users": len(split.users),
        "items": len(split.universe.item_ids),
        "refit": refit,
        "leaky": not refit,
        "k": K,
        "split": f"user_half: sha256('{SPLIT_SALT}:<user id>')[0] even -> tuning, odd -> check",
        "weights": {"office": office.as_dict(), "movies": DEFAULT_WEIGHTS.as_dict()},
        "halves": report,
        "seed": seed,
    }
