"""The seed papers' claims, judged on replay runs by a paired bootstrap over turns.

Each claim of :data:`CLAIMS` is judged on Recall@10 (1,000 resamples, fixed seed): *reproduced*
when the 95% interval of the difference is above zero, *contradicted* when it is below zero,
*inconclusive* otherwise, *not measured* when a run is missing (for example without an LLM
server). A claim with two comparisons (CF and vector search for "CF + semantic fusion") is
reproduced only when both are.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from crsagent.evals.metrics import hit_at_rank

__all__ = ["CLAIMS", "RunOutcome", "outcome_from_replay", "paired_delta", "comparison_verdict", "judge_claims"]

#: (claim, paper, run that should be better, runs it should beat).
CLAIMS: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    ("LLM assists CRS", "U-NEED 2310.14626", "llm-assists-crs", ("crs-only",)),
    ("CRS assists LLM", "U-NEED 2310.14626", "crs-assists-llm", ("llm-only",)),
    ("Latent intents help", "LatentCRS 2503.10703", "crs-only", ("crs-only -intent",)),
    ("CF + semantic fusion helps", "REGEN 2410.16780 / RecLLM", "crs-only", ("crs-only -cf", "crs-only -vector")),
)


@dataclass
class RunOutcome:
    """One replay run as the report needs it.

    Attributes:
        name: ``crs-only``, ``crs-only -intent``, ``popularity`` ...
        kind: ``variant``, ``ablation`` or ``baseline``.
        summary: the replay summary (:func:`crsagent.evals.replay.summarize` plus extras).
        ranks: sample key (``dialog:turn:index``) -> 1-based rank or None, for paired tests.
        note: why a run is partial or missing.
    """

    name: str
    kind: str
    summary: dict[str, Any]
    ranks: dict[str, int | None] = field(default_factory=dict)
    note: str = ""


def outcome_from_replay(name: str, kind: str, result: Any, note: str = "") -> RunOutcome:
    """A :class:`RunOutcome` from a :class:`~crsagent.evals.replay.ReplayResult`."""
    ranks = {
        f"{r['dialog_id']}:{r['turn_id']}:{i}": s["rank"] for r in result.records for i, s in enumerate(r["samples"])
    }
    return RunOutcome(name=name, kind=kind, summary=dict(result.summary), ranks=ranks, note=note)


def paired_delta(
    better: RunOutcome,
    worse: RunOutcome,
    k: int = 10,
    *,
    resamples: int = 1000,
    seed: int = 0,
    keep: Callable[[str], bool] | None = None,
) -> dict[str, Any] | None:
    """Recall@k of ``better`` minus ``worse`` on their common samples, with a 95% bootstrap interval.

    Turns are resampled (samples of one turn move together). ``keep`` (dialogue id -> bool)
    restricts the samples to some dialogues. Returns None without common samples.
    """
    keys = sorted(k_ for k_ in set(better.ranks) & set(worse.ranks) if keep is None or keep(k_.split(":", 1)[0]))
    if not keys:
        return None
    turn_of = [k_.rsplit(":", 1)[0] for k_ in keys]
    turns = sorted(set(turn_of))
    index = {t: i for i, t in enumerate(turns)}

    def hit(r: int | None) -> float:
        return hit_at_rank(r, k)

    diff = np.zeros(len(turns))
    count = np.zeros(len(turns))
    for key, t in zip(keys, turn_of):
        diff[index[t]] += hit(better.ranks[key]) - hit(worse.ranks[key])
        count[index[t]] += 1
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(turns), size=(resamples, len(turns)))
    boot = diff[picks].sum(axis=1) / np.maximum(count[picks].sum(axis=1), 1)
    return {
        "k": k,
        "delta": round(float(diff.sum() / count.sum()), 4),
        "ci_low": round(float(np.percentile(boot, 2.5)), 4),
        "ci_high": round(float(np.percentile(boot, 97.5)), 4),
        "samples": len(keys),
    }


def comparison_verdict(comp: Mapping[str, Any]) -> str:
    """One paired comparison's verdict: reproduced, contradicted, inconclusive or not measured."""
    if "delta" not in comp:
        return "not measured"
    if comp["ci_low"] > 0:
        return "reproduced"
    if comp["ci_high"] < 0:
        return "contradicted"
    return "inconclusive"


def judge_claims(
    replay: Mapping[str, RunOutcome],
    k: int = 10,
    keep: Callable[[str], bool] | None = None,
    not_reproduced: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """The verdict on each of :data:`CLAIMS` (see the module docstring), on the dialogues ``keep`` accepts.

    ``not_reproduced`` (claim -> reason) marks claims whose component the agent no longer uses,
    because it earned no gain in a measured ablation (the LatentCRS intents, dropped from the
    learned ranker): their verdict is ``not reproduced`` whatever the replay ablation shows (it
    compares two identical rankings), and the reason is kept.
    """
    out = []
    for claim, paper, better, rivals in CLAIMS:
        comparisons = []
        for rival in rivals:
            d = (
                paired_delta(replay[better], replay[rival], k, keep=keep)
                if better in replay and rival in replay
                else None
            )
            comparisons.append({"vs": rival, **(d or {})})
        if any("delta" not in c for c in comparisons):
            verdict = "not measured"
        elif all(c["ci_low"] > 0 for c in comparisons):
            verdict = "reproduced"
        elif any(c["ci_high"] < 0 for c in comparisons):
            verdict = "contradicted"
        else:
            verdict = "inconclusive"
        entry = {"claim": claim, "paper": paper, "run": better, "comparisons": comparisons, "verdict": verdict}
        if not_reproduced and claim in not_reproduced:
            entry.update(verdict="not reproduced", reason=not_reproduced[claim])
        out.append(entry)
    return out
