"""The standardized ReDial anchors (Kostric & Balog, SIGIR '26) and the report's protocol table.

Kostric & Balog, "A Standardized Re-evaluation of CRS on ReDial" (SIGIR '26), reran seven
systems on one split of ReDial's test dialogues; :data:`ANCHORS` holds their figures as filed in
issue 18 (plain and dedup Recall@1/10/50, SR, RDL where reported). They are on ReDial **test**;
ours are on the bundled **dev** dialogues, so they sit beside each other, not in one ranking.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["ANCHORS", "ANCHOR_SOURCE", "PROTOCOL_COLUMNS", "fmt_cell", "protocol_lines"]

ANCHOR_SOURCE = "Kostric & Balog, SIGIR '26, standardized ReDial test split"

#: System -> metric -> value, in the replay JSON's keys.
ANCHORS: dict[str, dict[str, float]] = {
    "ReFICR (7B)": {
        "recall@1": 0.049,
        "recall@10": 0.270,
        "recall@50": 0.507,
        "dedup_recall@1": 0.018,
        "dedup_recall@10": 0.213,
        "dedup_recall@50": 0.465,
        "sr": 0.151,
        "rdl": 0.074,
    },
    "UniCRS": {
        "recall@1": 0.049,
        "recall@10": 0.213,
        "recall@50": 0.421,
        "dedup_recall@1": 0.024,
        "dedup_recall@10": 0.180,
        "dedup_recall@50": 0.335,
    },
    "MESE": {
        "recall@1": 0.032,
        "recall@10": 0.178,
        "recall@50": 0.381,
        "dedup_recall@1": 0.025,
        "dedup_recall@10": 0.159,
        "dedup_recall@50": 0.361,
    },
    "repeat the mentioned items": {
        "recall@1": 0.043,
        "recall@10": 0.090,
        "recall@50": 0.090,
        "dedup_recall@1": 0.0,
        "dedup_recall@10": 0.0,
        "dedup_recall@50": 0.0,
    },
}

#: (header, replay JSON key) of the protocol table.
PROTOCOL_COLUMNS: tuple[tuple[str, str], ...] = (
    ("R@1", "recall@1"),
    ("R@10", "recall@10"),
    ("R@50", "recall@50"),
    ("dedup R@1", "dedup_recall@1"),
    ("dedup R@10", "dedup_recall@10"),
    ("dedup R@50", "dedup_recall@50"),
    ("dedup n", "dedup_n"),
    ("SR", "sr"),
    ("RDL", "rdl"),
    ("dedup SR", "dedup_sr"),
    ("dedup RDL", "dedup_rdl"),
)


def fmt_cell(x: Any) -> str:
    """A table cell: three decimals for floats, a dash for a missing value."""
    if x is None:
        return "–"
    if isinstance(x, float):
        return f"{x:.3f}"
    return str(x)


def protocol_lines(
    summaries: Mapping[str, Mapping[str, Any]], splits: tuple[str, ...] = ("heldout", "train")
) -> list[str]:
    """Markdown lines: each run's plain / dedup Recall, SR and RDL per dialogue split, then the anchors.

    Args:
        summaries: run name -> replay summary (with ``splits`` when the turns are the dev turns).
        splits: the split summaries to show, held-out first; a run without splits shows its
            overall figures.

    Returns:
        The lines of the section (a heading, the table and a note), without a trailing blank.
    """
    head = "| run | dialogues | " + " | ".join(h for h, _ in PROTOCOL_COLUMNS) + " |"
    lines = [
        "## Standardized protocols (plain, dedup, SR, RDL)",
        "",
        "Dedup drops the samples whose item was mentioned earlier in the dialogue and scores the ranking as "
        "given; SR and RDL score each dialogue's top-1 predictions with the seeker's questionnaire (liked 1, "
        "seen .5; `docs/evaluation.md`). The `heldout` dialogues are the clean ones.",
        "",
        head,
        "|" + "---|" * (head.count("|") - 1),
    ]
    for name, s in summaries.items():
        parts = [(sp, s["splits"][sp]) for sp in splits if sp in (s.get("splits") or {})] or [("all", s)]
        for split, v in parts:
            lines.append(
                f"| {name} | {split} | " + " | ".join(fmt_cell(v.get(key)) for _, key in PROTOCOL_COLUMNS) + " |"
            )
    for name, v in ANCHORS.items():
        lines.append(
            f"| {name} (anchor) | ReDial test | "
            + " | ".join(fmt_cell(v.get(key)) for _, key in PROTOCOL_COLUMNS)
            + " |"
        )
    lines += ["", f"Anchors: {ANCHOR_SOURCE} (ReFICR as re-run there; its paper reports .061 / .305 / .532)."]
    return lines
