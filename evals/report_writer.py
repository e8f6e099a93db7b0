"""Writing the evaluation report: ``report.md``, ``report.json`` and the PNG plots.

:func:`write_report` renders a :class:`ReportData` (replay runs, simulations, understanding,
claims judged by :func:`crsagent.evals.claims.judge_claims`, the standardized-protocol table of
:mod:`crsagent.evals.anchors`) into a report folder.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from crsagent.evals.anchors import ANCHORS, protocol_lines
from crsagent.evals.anchors import fmt_cell as _fmt
from crsagent.evals.claims import RunOutcome, comparison_verdict, judge_claims
from crsagent.evals.tuning_claim import tuning_lines

__all__ = ["PUBLISHED", "ReportData", "write_report"]

#: Published ReDial replay numbers (test split; popularity measured on dev), from data/README.md.
PUBLISHED: dict[str, dict[str, float]] = {
    "popularity (dev)": {"recall@1": 0.01, "recall@10": 0.06, "recall@50": 0.17},
    "KBRD": {"recall@1": 0.028, "recall@10": 0.169, "recall@50": 0.366},
    "BARCOR": {"recall@1": 0.031, "recall@10": 0.170, "recall@50": 0.372},
    "UniCRS": {"recall@1": 0.050, "recall@10": 0.215, "recall@50": 0.413},
    "ChatGPT zero-shot": {"recall@1": 0.037, "recall@10": 0.174},
    "GPT-4 zero-shot (filtered)": {"filtered_recall@1": 0.050, "filtered_recall@10": 0.201},
}


@dataclass
class ReportData:
    """Everything the report shows.

    Attributes:
        replay: replay runs by name.
        simulation: simulation summaries by variant name (with ``success_by_turn``).
        understanding: understanding summaries by variant name.
        meta: settings of the run (samples, seeds, LLM, machine).
        notes: free-text lines added to the report (skipped runs, caveats).
        extra: further results shown as JSON (for example the synthetic-dialogue effect).
        claims_on: ``(name, dialogue id -> bool)``: the claims are judged on these dialogues only
            (the held-out ones, when the models learn from part of the turns); None: all.
        tuning: the tuning claim judged on an ``eval agent`` run
            (:func:`crsagent.evals.tuning_claim.judge_tuning_claim`); None: not judged.
        not_reproduced: claim -> reason, for claims whose component the agent dropped after an
            ablation (:func:`crsagent.evals.claims.judge_claims`).
    """

    replay: dict[str, RunOutcome] = field(default_factory=dict)
    simulation: dict[str, dict[str, Any]] = field(default_factory=dict)
    understanding: dict[str, dict[str, Any]] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    claims_on: tuple[str, Callable[[str], bool]] | None = None
    tuning: dict[str, Any] | None = None
    not_reproduced: dict[str, str] = field(default_factory=dict)


def _plot_recall(data: ReportData, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [(n, o.summary) for n, o in data.replay.items()] + [
        (f"{n} (published)", v) for n, v in PUBLISHED.items() if "recall@10" in v
    ]
    ks = ("recall@1", "recall@10", "recall@50")
    fig, ax = plt.subplots(figsize=(max(6.0, 0.9 * len(rows) + 2), 4.2))
    width = 0.8 / len(ks)
    x = np.arange(len(rows))
    for j, key in enumerate(ks):
        vals = [float(s.get(key) or 0.0) for _, s in rows]
        ax.bar(x + (j - 1) * width, vals, width, label=key.replace("recall", "Recall"))
    ax.set_xticks(x, [n for n, _ in rows], rotation=35, ha="right", fontsize=8)
    ax.set_ylabel("Recall")
    ax.set_title("ReDial replay: Recall@k per run (dev) next to published numbers (test)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _plot_success(data: ReportData, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.0, 4.0))
    for name, s in data.simulation.items():
        by_turn = s.get("success_by_turn") or {}
        turns = sorted(int(t) for t in by_turn)
        ax.plot(turns, [by_turn[str(t)] for t in turns], marker="o", label=f"{name} ({s.get('simulator', '?')})")
    ax.set_xlabel("turn")
    ax.set_ylabel("success rate (cumulative)")
    ax.set_ylim(0, 1)
    ax.set_title("Simulated users: success by turn")
    if data.simulation:
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _markdown(data: ReportData, claims: list[dict[str, Any]]) -> str:
    lines = ["# crsagent evaluation report", ""]
    if data.meta:
        lines += ["Run settings: " + ", ".join(f"{k} = `{v}`" for k, v in data.meta.items()), ""]
    lines += ["## Replay on the ReDial dev turns", "", "![Recall@k per run](recall.png)", ""]
    head = (
        "| run | kind | turns | R@1 | R@10 | R@50 | n | filtered R@1 | filtered R@10 | filtered R@50 | unmapped "
        "| LLM calls/turn | tokens/turn | s/turn |"
    )
    lines += [head, "|" + "---|" * (head.count("|") - 1)]
    for name, o in data.replay.items():
        s = o.summary
        lines.append(
            f"| {name} | {o.kind} | {s.get('turns')} | {_fmt(s.get('recall@1'))} | {_fmt(s.get('recall@10'))} | "
            f"{_fmt(s.get('recall@50'))} | {s.get('n')} | {_fmt(s.get('filtered_recall@1'))} | "
            f"{_fmt(s.get('filtered_recall@10'))} | {_fmt(s.get('filtered_recall@50'))} | {s.get('unmapped')} | "
            f"{_fmt(s.get('llm_calls_per_turn'))} | {_fmt(s.get('tokens_per_turn'))} | "
            f"{_fmt(s.get('turn_seconds_median'))} |"
        )
    lines += [
        "",
        "Published (ReDial test split; popularity on dev):",
        "",
        "| model | R@1 | R@10 | R@50 | filtered R@1 | filtered R@10 |",
        "|---|---|---|---|---|---|",
    ]
    for name, v in PUBLISHED.items():
        lines.append(
            f"| {name} | {_fmt(v.get('recall@1'))} | {_fmt(v.get('recall@10'))} | {_fmt(v.get('recall@50'))} | "
            f"{_fmt(v.get('filtered_recall@1'))} | {_fmt(v.get('filtered_recall@10'))} |"
        )
    lines += ["", *protocol_lines({n: o.summary for n, o in data.replay.items()})]
    splits = [(n, o.summary["splits"]) for n, o in data.replay.items() if o.summary.get("splits")]
    if splits:
        lines += [
            "",
            "By dialogue split (the intent model and CF pseudo-users train on the `train` half):",
            "",
            "| run | split | turns | R@1 | R@10 | R@50 | n |",
            "|---|---|---|---|---|---|---|",
        ]
        for n, sp in splits:
            for split, s in sp.items():
                lines.append(
                    f"| {n} | {split} | {s['turns']} | {_fmt(s['recall@1'])} | {_fmt(s['recall@10'])} | "
                    f"{_fmt(s['recall@50'])} | {s['n']} |"
                )
    notes = [f"- {n}: {o.note}" for n, o in data.replay.items() if o.note]
    if notes:
        lines += ["", *notes]
    lines += [
        "",
        "## The seed papers' claims",
        "",
        "Judged on Recall@10, paired over the same turns, 95% bootstrap interval of the difference"
        + (
            f", on the {data.claims_on[0]} dialogues only (the models and weights learn from the others)."
            if data.claims_on
            else "."
        ),
        "",
        "| claim | paper | comparison | ΔR@10 | 95% CI | samples | this comparison | claim |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for c in claims:
        for comp in c["comparisons"]:
            ci = f"[{comp['ci_low']:+.3f}, {comp['ci_high']:+.3f}]" if "ci_low" in comp else "–"
            delta = f"{comp['delta']:+.3f}" if "delta" in comp else "–"
            lines.append(
                f"| {c['claim']} | {c['paper']} | {c['run']} vs {comp['vs']} | {delta} | {ci} | "
                f"{comp.get('samples', 0)} | {comparison_verdict(comp)} | **{c['verdict']}** |"
            )
    reasons = [f"- {c['claim']}: **not reproduced**: {c['reason']}." for c in claims if c.get("reason")]
    if reasons:
        lines += ["", *reasons]
    if data.tuning is not None:
        lines += ["", *tuning_lines(data.tuning)]
    lines += ["", "## Simulated users", "", "![Success by turn](success.png)", ""]
    if data.simulation:
        lines += [
            "| variant | simulator | dialogues | success | avg turns | LLM calls/dialogue | hit precision "
            "| attribute precision |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for name, s in data.simulation.items():
            lines.append(
                f"| {name} | {s.get('simulator')} | {s.get('dialogues')} | {_fmt(s.get('success_rate'))} | "
                f"{_fmt(s.get('avg_turns'))} | {_fmt(s.get('llm_calls_per_dialogue'))} | "
                f"{_fmt(s.get('hit_precision'))} | {_fmt(s.get('attribute_precision'))} |"
            )
    else:
        lines.append("No simulation was run.")
    lines += ["", "## Understanding (belief extraction vs. ReDial annotations)", ""]
    if data.understanding:
        lines += ["| variant | turns | field | precision | recall | F1 | gold |", "|---|---|---|---|---|---|---|"]
        for name, s in data.understanding.items():
            for f in ("items", "liked", "genres", "people"):
                if f in s:
                    v = s[f]
                    lines.append(
                        f"| {name} | {s.get('turns')} | {f} | {_fmt(v['precision'])} | {_fmt(v['recall'])} | "
                        f"{_fmt(v['f1'])} | {v['gold']} |"
                    )
    else:
        lines.append("Not run.")
    for title, obj in data.extra.items():
        lines += ["", f"## {title}", "", "```json", json.dumps(obj, indent=2, default=float), "```"]
    if data.notes:
        lines += ["", "## Notes", "", *[f"- {n}" for n in data.notes]]
    return "\n".join(lines) + "\n"


def _atomic_text(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)


def write_report(data: ReportData, out_dir: Path | str) -> dict[str, Any]:
    """Write ``report.md``, ``report.json``, ``recall.png`` and ``success.png`` into ``out_dir``.

    Returns:
        The JSON written (summaries, claims, file paths).
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    claims = judge_claims(
        data.replay, keep=data.claims_on[1] if data.claims_on else None, not_reproduced=data.not_reproduced
    )
    _plot_recall(data, out / "recall.png")
    _plot_success(data, out / "success.png")
    _atomic_text(out / "report.md", _markdown(data, claims))
    obj = {
        "replay": {n: {"kind": o.kind, "summary": o.summary, "note": o.note} for n, o in data.replay.items()},
        "published": PUBLISHED,
        "anchors": ANCHORS,
        "claims": claims,
        "tuning_claim": data.tuning,
        "simulation": data.simulation,
        "understanding": data.understanding,
        "meta": data.meta,
        "claims_on": data.claims_on[0] if data.claims_on else "all",
        "notes": data.notes,
        "extra": data.extra,
        "files": {k: str(out / k) for k in ("report.md", "report.json", "recall.png", "success.png")},
    }
    _atomic_text(out / "report.json", json.dumps(obj, indent=2, default=float) + "\n")
    return obj
