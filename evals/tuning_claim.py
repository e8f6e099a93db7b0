"""The seed claim of the tuning issue, judged on an ``eval agent`` run with tuned and base rows.

Claim: *tuning the LLM on synthetic dialogues improves its CRS behaviour* (RecLLM's idea: the
system's own dialogues train the LLM that runs it). It is judged on five figures of the agent
loop, each as the tuned model's value minus the base model's, with a 95% bootstrap interval
(1,000 resamples, fixed seed) on the per-sample outcomes ``crsagent eval agent`` keeps:

* ``fallback_rate`` (lower is better): agent turns, resampled independently per model (the
  simulated dialogues diverge, so turns are not paired);
* ``tool_call_valid_rate``: valid over attempted tool calls, agent turns resampled as above
  (undefined for a model that attempts none, as the untuned base does);
* ``valid_tool_call_turn_rate``: agent turns with at least one valid tool call, resampled as
  above (defined for both: it tells a model that drives the tools from one that never does);
* ``replay_recall@10``: the same check-half turns, paired (samples of one turn move together,
  :func:`crsagent.evals.claims.paired_delta`);
* ``sim_success_at_5``: the same simulated users (target and seed), paired per dialogue.

A figure *improved* when its interval lies wholly on the better side of zero, *worsened* when
wholly on the worse side, else it is *inconclusive*. The claim is *reproduced* when at least one
figure improved and none worsened, *contradicted* when at least one worsened and none improved,
*inconclusive* otherwise (no clear change, or a mixed one), and *not measured* when the run lacks
the tuned or the base row. Each row's own rates also get a 95% Wilson interval.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from crsagent.evals.claims import RunOutcome, paired_delta
from crsagent.evals.metrics import hit_at_rank

__all__ = [
    "TUNING_CLAIM",
    "METRICS",
    "wilson",
    "unpaired_delta",
    "paired_mean_delta",
    "judge_tuning_claim",
    "tuning_lines",
]

TUNING_CLAIM = "Tuning the LLM on synthetic dialogues improves its CRS behaviour"
#: figure -> +1 when higher is better, -1 when lower is better.
METRICS: dict[str, int] = {
    "fallback_rate": -1,
    "tool_call_valid_rate": 1,
    "valid_tool_call_turn_rate": 1,
    "replay_recall@10": 1,
    "sim_success_at_5": 1,
}
_RESAMPLES = 1000


def wilson(successes: float, n: int, z: float = 1.96) -> tuple[float, float] | None:
    """The Wilson score interval of a proportion (None for ``n == 0``)."""
    if n <= 0:
        return None
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return round(max(0.0, centre - half), 4), round(min(1.0, centre + half), 4)


def unpaired_delta(
    a: Sequence[tuple[float, float]], b: Sequence[tuple[float, float]], *, resamples: int = _RESAMPLES, seed: int = 0
) -> dict[str, Any] | None:
    """Ratio-of-sums of ``a`` minus that of ``b``, each a list of ``(numerator, denominator)`` units.

    Each side's units are resampled on their own. Returns None when either side has no
    denominator.
    """
    na, da = np.array([u[0] for u in a], float), np.array([u[1] for u in a], float)
    nb, db = np.array([u[0] for u in b], float), np.array([u[1] for u in b], float)
    if not da.sum() or not db.sum():
        return None
    rng = np.random.default_rng(seed)
    pa = rng.integers(0, len(a), size=(resamples, len(a)))
    pb = rng.integers(0, len(b), size=(resamples, len(b)))
    boot = na[pa].sum(1) / np.maximum(da[pa].sum(1), 1e-12) - nb[pb].sum(1) / np.maximum(db[pb].sum(1), 1e-12)
    delta = na.sum() / da.sum() - nb.sum() / db.sum()
    return _interval(delta, boot, f"{len(a)} vs {len(b)} turns")


def paired_mean_delta(
    a: Sequence[float], b: Sequence[float], *, resamples: int = _RESAMPLES, seed: int = 0
) -> dict[str, Any] | None:
    """Mean of ``a - b`` over paired units (the first ``min(len)``), with a bootstrap interval."""
    n = min(len(a), len(b))
    if not n:
        return None
    diff = np.array(a[:n], float) - np.array(b[:n], float)
    boot = diff[np.random.default_rng(seed).integers(0, n, size=(resamples, n))].mean(1)
    return _interval(float(diff.mean()), boot, f"{n} paired dialogue{'s' if n != 1 else ''}")


def _interval(delta: float, boot: np.ndarray, units: str) -> dict[str, Any]:
    return {
        "delta": round(float(delta), 4),
        "ci_low": round(float(np.percentile(boot, 2.5)), 4),
        "ci_high": round(float(np.percentile(boot, 97.5)), 4),
        "units": units,
    }


def _direction(comp: Mapping[str, Any] | None, better: int) -> str:
    if not comp:
        return "not measured"
    if (comp["ci_low"] > 0 and better > 0) or (comp["ci_high"] < 0 and better < 0):
        return "improved"
    if (comp["ci_high"] < 0 and better > 0) or (comp["ci_low"] > 0 and better < 0):
        return "worsened"
    return "inconclusive"


def _turns(row: Mapping[str, Any]) -> list[dict[str, Any]]:
    return list(row.get("samples", {}).get("turns") or [])


def _row_intervals(row: Mapping[str, Any]) -> dict[str, Any]:
    turns = _turns(row)
    ranks = row.get("samples", {}).get("replay_ranks") or {}
    sims = row.get("samples", {}).get("sim_success") or []
    hits = int(sum(hit_at_rank(r, 10) for r in ranks.values()))
    return {
        "fallback_rate": wilson(sum(t["fallback"] for t in turns), len(turns)),
        "tool_call_valid_rate": wilson(sum(t["valid"] for t in turns), sum(t["attempted"] for t in turns)),
        "valid_tool_call_turn_rate": wilson(sum(1 for t in turns if t["valid"]), len(turns)),
        "replay_recall@10": wilson(hits, len(ranks)),
        "sim_success_at_5": wilson(sum(sims), len(sims)),
    }


def _with_units(comp: dict[str, Any] | None) -> dict[str, Any] | None:
    return {**comp, "units": f"{comp['samples']} samples, paired by turn"} if comp else None


def _compare(tuned: Mapping[str, Any], base: Mapping[str, Any], seed: int) -> dict[str, dict[str, Any] | None]:
    tt, bt = _turns(tuned), _turns(base)
    ts, bs = tuned.get("samples", {}), base.get("samples", {})
    return {
        "fallback_rate": unpaired_delta([(t["fallback"], 1) for t in tt], [(t["fallback"], 1) for t in bt], seed=seed)
        if tt and bt
        else None,
        "tool_call_valid_rate": unpaired_delta(
            [(t["valid"], t["attempted"]) for t in tt], [(t["valid"], t["attempted"]) for t in bt], seed=seed
        )
        if tt and bt
        else None,
        "valid_tool_call_turn_rate": unpaired_delta(
            [(int(t["valid"] > 0), 1) for t in tt], [(int(t["valid"] > 0), 1) for t in bt], seed=seed
        )
        if tt and bt
        else None,
        "replay_recall@10": _with_units(
            paired_delta(
                RunOutcome("tuned", "agent", {}, dict(ts.get("replay_ranks") or {})),
                RunOutcome("base", "agent", {}, dict(bs.get("replay_ranks") or {})),
                10,
                seed=seed,
            )
        ),
        "sim_success_at_5": paired_mean_delta(ts.get("sim_success") or [], bs.get("sim_success") or [], seed=seed),
    }


def judge_tuning_claim(
    run: Mapping[str, Any], *, tuned: str | None = None, base: str | None = None, seed: int = 0
) -> dict[str, Any]:
    """Judge :data:`TUNING_CLAIM` on an ``eval agent`` JSON (see the module docstring).

    Args:
        run: the JSON ``crsagent eval agent`` wrote (its ``rows`` with ``samples``).
        tuned: the tuned model's row name (default the bundled tuned adapter's name).
        base: the base model's row name (default the bundled model's name).
        seed: the bootstrap seed.

    Returns:
        ``claim``, ``tuned``, ``base``, ``comparisons`` (figure -> delta, interval, units,
        ``direction``), ``rows`` (figure values and Wilson intervals for tuned, base and
        crs-only), ``verdict`` and ``note``.
    """
    from crsagent.agent.llm.lora import TUNED_MODEL_NAME
    from crsagent.agent.llm.weights import BUNDLED_MODEL_NAME

    tuned, base = tuned or TUNED_MODEL_NAME, base or BUNDLED_MODEL_NAME
    rows = {r.get("model") or r.get("variant"): r for r in run.get("rows") or []}
    out: dict[str, Any] = {"claim": TUNING_CLAIM, "tuned": tuned, "base": base, "comparisons": {}, "rows": {}}
    for name in (tuned, base, "crs-only"):
        if name in rows:
            r = rows[name]
            values = {m: r.get(m) for m in METRICS}
            turns = _turns(r)
            values["valid_tool_call_turn_rate"] = (
                round(sum(1 for t in turns if t["valid"]) / len(turns), 4) if turns else None
            )
            out["rows"][name] = {
                "values": values,
                "wilson95": _row_intervals(r),
                "turns": r.get("turns"),
                "replay_samples": r.get("replay_samples"),
                "sim_dialogues": r.get("sim_dialogues"),
            }
    missing = [n for n in (tuned, base) if n not in rows]
    if missing:
        out.update(
            verdict="not measured", note=f"the run has no row for {', '.join(missing)} (rows: {sorted(map(str, rows))})"
        )
        return out
    for metric, comp in _compare(rows[tuned], rows[base], seed).items():
        out["comparisons"][metric] = {**(comp or {}), "direction": _direction(comp, METRICS[metric])}
    directions = [c["direction"] for c in out["comparisons"].values()]
    if all(d == "not measured" for d in directions):
        verdict, note = "not measured", "the rows carry no per-sample outcomes (an older eval agent JSON?)"
    elif "improved" in directions and "worsened" not in directions:
        verdict, note = "reproduced", ""
    elif "worsened" in directions and "improved" not in directions:
        verdict, note = "contradicted", ""
    else:
        verdict, note = (
            "inconclusive",
            "mixed: some figures improved, others worsened"
            if "improved" in directions
            else "no figure changed clearly",
        )
    out.update(verdict=verdict, note=note)
    return out


def _fmt(value: Any) -> str:
    return "–" if value is None else (f"{value:.3f}" if isinstance(value, float) else str(value))


def tuning_lines(result: Mapping[str, Any]) -> list[str]:
    """The claim's Markdown section (table of differences, then each row's Wilson intervals)."""
    lines = [
        "## The tuning claim",
        "",
        f"**{result['claim']}**: {result['tuned']} vs {result['base']} "
        f"(`crsagent eval agent`, one sitting, the same held-out material). Verdict: **{result['verdict']}**"
        + (f" ({result['note']})" if result.get("note") else "")
        + ".",
        "",
        "| figure | better | tuned − base | 95% CI (bootstrap) | units | direction |",
        "|---|---|---|---|---|---|",
    ]
    for metric, c in result.get("comparisons", {}).items():
        ci = f"[{c['ci_low']:+.3f}, {c['ci_high']:+.3f}]" if "ci_low" in c else "–"
        delta = f"{c['delta']:+.3f}" if "delta" in c else "–"
        better = "higher" if METRICS[metric] > 0 else "lower"
        lines.append(f"| {metric} | {better} | {delta} | {ci} | {c.get('units', '–')} | {c['direction']} |")
    lines += ["", "| row | " + " | ".join(METRICS) + " |", "|---|" + "---|" * len(METRICS)]
    for name, r in result.get("rows", {}).items():
        cells = []
        for m in METRICS:
            ci = r["wilson95"].get(m)
            cells.append(_fmt(r["values"].get(m)) + (f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else ""))
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return lines + ["", "Row values with 95% Wilson intervals (over turns, tool calls, replay samples, dialogues)."]
