"""Tuning the re-mention weight (``FusionWeights.remention``) on ReDial dev turns.

Re-mentions only matter under the plain replay protocol (a ground-truth title already mentioned
in the context stays a sample), which the signal tuner (:mod:`crsagent.evals.tuning.weights`) leaves
out. So the ``crs-only`` agent replays the ``tune`` turns once per weight of :data:`REMENTION_GRID`
(the other weights at their defaults); the weight with the best plain Recall@10 + Recall@50
(then Recall@1; the smallest at a tie) is chosen, and every weight is also replayed on ``check``.

Run: ``crsagent eval tune remention --json out/remention-tuning.json`` (about 3 min).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path
from typing import Any

__all__ = ["REMENTION_GRID", "ECHO_GRID", "choose", "main"]

#: Re-mention weights tried (the fused scores of the default weights reach about 14).
REMENTION_GRID: tuple[float, ...] = (0.0, 4.0, 8.0, 12.0, 16.0, 24.0, 40.0, 100.0)
#: The former name of :data:`REMENTION_GRID`.
ECHO_GRID = REMENTION_GRID


def _recall(summary: dict[str, Any], prefix: str = "") -> list[float]:
    return [summary[f"{prefix}recall@{k}"] for k in (1, 10, 50)]


def choose(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The row with the best ``tune`` plain Recall@10 + Recall@50 (the fusion weights' rule,
    :mod:`crsagent.evals.tuning.weights`), then Recall@1; the smallest weight at a tie."""
    return max(
        rows, key=lambda r: (r["tune"]["recall"][1] + r["tune"]["recall"][2], r["tune"]["recall"][0], -r["remention"])
    )


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Replay ``tune`` and ``check`` per re-mention weight; print and save the JSON report."""
    from crsagent.agent.settings import Settings
    from crsagent.evals.datasets import TitleResolver, load_turns
    from crsagent.evals.replay import run_replay
    from crsagent.evals.report import agent_factory
    from crsagent.evals.tuning.weights import tuning_split

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    settings = Settings.from_env()
    agent = agent_factory(settings)("crs-only", None)
    resolver = TitleResolver.from_catalog(settings)
    turns = load_turns(settings.data_dir / "redial" / "dev_turns.jsonl")
    base = agent.weights
    rows: list[dict[str, Any]] = []
    try:
        for w in REMENTION_GRID:
            agent.weights = dataclasses.replace(base, remention=w)
            row: dict[str, Any] = {"remention": w}
            for split in ("tune", "check"):
                s = run_replay(agent, [t for t in turns if tuning_split(t.dialog_id) == split], resolver).summary
                row[split] = {"recall": _recall(s), "filtered_recall": _recall(s, "filtered_"), "n": s["n"]}
            rows.append(row)
            print(json.dumps(row), flush=True)
    finally:
        agent.close()
    best = choose(rows)
    report = {"tuned_on": "tune", "grid": list(REMENTION_GRID), "rows": rows, "best": best["remention"]}
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps({"best": best["remention"], "tune": best["tune"], "check": best["check"]}))
    return report


if __name__ == "__main__":  # pragma: no cover
    main()
