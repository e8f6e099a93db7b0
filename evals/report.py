"""One evaluation report: variants, signal ablations, simulated users, the seed papers' claims.

:func:`run_report` replays the ReDial dev turns through every collaboration variant (the LLM
variants on a seeded sample) and through the signal ablations of ``crs-only`` (intent scorer,
CF, vector search off: both ``vector`` and ``content``), runs agenda-simulated dialogues, scores belief extraction, and hands
the results to :func:`write_report`, which writes ``report.md``, ``report.json`` and PNG plots.

Each claim of the seed papers is judged on Recall@10 by a paired bootstrap over turns
(1,000 resamples, fixed seed): *reproduced* when the 95% interval of the difference is above
zero, *contradicted* when it is below zero, *inconclusive* otherwise, *not measured* when a
run is missing (for example without an LLM server). A claim with two comparisons (CF and
vector search for "CF + semantic fusion") is reproduced only when both are; the table shows
each comparison's own verdict next to the claim's.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "PUBLISHED",
    "CLAIMS",
    "RunOutcome",
    "ReportData",
    "outcome_from_replay",
    "paired_delta",
    "judge_claims",
    "comparison_verdict",
    "ABLATIONS",
    "write_report",
    "run_report",
    "agent_factory",
]

#: Published ReDial replay numbers (test split; popularity measured on dev), from data/README.md.
PUBLISHED: dict[str, dict[str, float]] = {
    "popularity (dev)": {"recall@1": 0.01, "recall@10": 0.06, "recall@50": 0.17},
    "KBRD": {"recall@1": 0.028, "recall@10": 0.169, "recall@50": 0.366},
    "BARCOR": {"recall@1": 0.031, "recall@10": 0.170, "recall@50": 0.372},
    "UniCRS": {"recall@1": 0.050, "recall@10": 0.215, "recall@50": 0.413},
    "ChatGPT zero-shot": {"recall@1": 0.037, "recall@10": 0.174},
    "GPT-4 zero-shot (filtered)": {"filtered_recall@1": 0.050, "filtered_recall@10": 0.201},
}

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
    """

    replay: dict[str, RunOutcome] = field(default_factory=dict)
    simulation: dict[str, dict[str, Any]] = field(default_factory=dict)
    understanding: dict[str, dict[str, Any]] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    claims_on: tuple[str, Callable[[str], bool]] | None = None


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
        return 1.0 if r is not None and r <= k else 0.0

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
    replay: Mapping[str, RunOutcome], k: int = 10, keep: Callable[[str], bool] | None = None
) -> list[dict[str, Any]]:
    """The verdict on each of :data:`CLAIMS` (see the module docstring), on the dialogues ``keep`` accepts."""
    out = []
    for claim, paper, better, rivals in CLAIMS:
        comparisons = []
        for rival in rivals:
            d = paired_delta(replay[better], replay[rival], k, keep=keep) if better in replay and rival in replay else None
            comparisons.append({"vs": rival, **(d or {})})
        if any("delta" not in c for c in comparisons):
            verdict = "not measured"
        elif all(c["ci_low"] > 0 for c in comparisons):
            verdict = "reproduced"
        elif any(c["ci_high"] < 0 for c in comparisons):
            verdict = "contradicted"
        else:
            verdict = "inconclusive"
        out.append({"claim": claim, "paper": paper, "run": better, "comparisons": comparisons, "verdict": verdict})
    return out


def _fmt(x: Any) -> str:
    if x is None:
        return "–"
    if isinstance(x, float):
        return f"{x:.3f}"
    return str(x)


def _plot_recall(data: ReportData, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [(n, o.summary) for n, o in data.replay.items()] + [(f"{n} (published)", v) for n, v in PUBLISHED.items() if "recall@10" in v]
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
    head = "| run | kind | turns | R@1 | R@10 | R@50 | n | filtered R@1 | filtered R@10 | filtered R@50 | unmapped | LLM calls/turn | tokens/turn | s/turn |"
    lines += [head, "|" + "---|" * (head.count("|") - 1)]
    for name, o in data.replay.items():
        s = o.summary
        lines.append(
            f"| {name} | {o.kind} | {s.get('turns')} | {_fmt(s.get('recall@1'))} | {_fmt(s.get('recall@10'))} | "
            f"{_fmt(s.get('recall@50'))} | {s.get('n')} | {_fmt(s.get('filtered_recall@1'))} | "
            f"{_fmt(s.get('filtered_recall@10'))} | {_fmt(s.get('filtered_recall@50'))} | {s.get('unmapped')} | "
            f"{_fmt(s.get('llm_calls_per_turn'))} | {_fmt(s.get('tokens_per_turn'))} | {_fmt(s.get('turn_seconds_median'))} |"
        )
    lines += ["", "Published (ReDial test split; popularity on dev):", "", "| model | R@1 | R@10 | R@50 | filtered R@1 | filtered R@10 |", "|---|---|---|---|---|---|"]
    for name, v in PUBLISHED.items():
        lines.append(
            f"| {name} | {_fmt(v.get('recall@1'))} | {_fmt(v.get('recall@10'))} | {_fmt(v.get('recall@50'))} | "
            f"{_fmt(v.get('filtered_recall@1'))} | {_fmt(v.get('filtered_recall@10'))} |"
        )
    splits = [(n, o.summary["splits"]) for n, o in data.replay.items() if o.summary.get("splits")]
    if splits:
        lines += ["", "By dialogue split (the intent model and CF pseudo-users train on the `train` half):", "",
                  "| run | split | turns | R@1 | R@10 | R@50 | n |", "|---|---|---|---|---|---|---|"]
        for n, sp in splits:
            for split, s in sp.items():
                lines.append(f"| {n} | {split} | {s['turns']} | {_fmt(s['recall@1'])} | {_fmt(s['recall@10'])} | {_fmt(s['recall@50'])} | {s['n']} |")
    notes = [f"- {n}: {o.note}" for n, o in data.replay.items() if o.note]
    if notes:
        lines += ["", *notes]
    lines += ["", "## The seed papers' claims", "",
              "Judged on Recall@10, paired over the same turns, 95% bootstrap interval of the difference"
              + (f", on the {data.claims_on[0]} dialogues only (the models and weights learn from the others)." if data.claims_on else "."), "",
              "| claim | paper | comparison | ΔR@10 | 95% CI | samples | this comparison | claim |",
              "|---|---|---|---|---|---|---|---|"]
    for c in claims:
        for comp in c["comparisons"]:
            ci = f"[{comp['ci_low']:+.3f}, {comp['ci_high']:+.3f}]" if "ci_low" in comp else "–"
            delta = f"{comp['delta']:+.3f}" if "delta" in comp else "–"
            lines.append(f"| {c['claim']} | {c['paper']} | {c['run']} vs {comp['vs']} | {delta} | {ci} | {comp.get('samples', 0)} | {comparison_verdict(comp)} | **{c['verdict']}** |")
    lines += ["", "## Simulated users", "", "![Success by turn](success.png)", ""]
    if data.simulation:
        lines += ["| variant | simulator | dialogues | success | avg turns | LLM calls/dialogue | hit precision | attribute precision |", "|---|---|---|---|---|---|---|---|"]
        for name, s in data.simulation.items():
            lines.append(
                f"| {name} | {s.get('simulator')} | {s.get('dialogues')} | {_fmt(s.get('success_rate'))} | {_fmt(s.get('avg_turns'))} | "
                f"{_fmt(s.get('llm_calls_per_dialogue'))} | {_fmt(s.get('hit_precision'))} | {_fmt(s.get('attribute_precision'))} |"
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
                    lines.append(f"| {name} | {s.get('turns')} | {f} | {_fmt(v['precision'])} | {_fmt(v['recall'])} | {_fmt(v['f1'])} | {v['gold']} |")
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
    claims = judge_claims(data.replay, keep=data.claims_on[1] if data.claims_on else None)
    _plot_recall(data, out / "recall.png")
    _plot_success(data, out / "success.png")
    _atomic_text(out / "report.md", _markdown(data, claims))
    obj = {
        "replay": {n: {"kind": o.kind, "summary": o.summary, "note": o.note} for n, o in data.replay.items()},
        "published": PUBLISHED,
        "claims": claims,
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


AgentFactory = Callable[[str, Mapping[str, bool] | None], Any]


def agent_factory(settings: Any, domain: str = "movies", llm: Any | None = None) -> AgentFactory:
    """``make(variant, signals)`` over :meth:`crsagent.graphs.runner.CRSAgent.create`.

    ``signals`` (signal name -> on/off) goes to the agent's ``signals`` option when it has one;
    otherwise a switched-off signal gets a zero fusion weight (its items may still enter the
    candidate pool through other signals, but it no longer scores them).
    """

    def make(variant: str, signals: Mapping[str, bool] | None = None) -> Any:
        import dataclasses
        import inspect

        from crsagent.graphs.runner import CRSAgent

        extra: dict[str, Any] = {}
        if signals:
            if "signals" in inspect.signature(CRSAgent.create).parameters:
                extra["signals"] = dict(signals)
            else:
                from crsagent.graphs.ranking import DEFAULT_WEIGHTS

                extra["weights"] = dataclasses.replace(DEFAULT_WEIGHTS, **{k: 0.0 for k, on in signals.items() if not on})
        return CRSAgent.create(settings, domain=domain, variant=variant, llm=llm, **extra)

    return make


Progress = Callable[[str, int | None], Callable[[int], None]]

#: Signal ablations of crs-only: run name -> signals switched off.
ABLATIONS: dict[str, dict[str, bool]] = {
    "crs-only -intent": {"intent": False},
    "crs-only -cf": {"cf": False},
    # both signals that query the vector index: the user's words (vector) and the items' profile (content)
    "crs-only -vector": {"vector": False, "content": False},
}


def run_report(
    make_agent: AgentFactory,
    turns: Sequence[Any],
    resolver: Any,
    out_dir: Path | str,
    *,
    sample: int = 50,
    seed: int = 0,
    llm_available: bool = False,
    variants: Sequence[str] = ("crs-only", "llm-only", "llm-assists-crs", "crs-assists-llm", "full"),
    ablations: Mapping[str, Mapping[str, bool]] = ABLATIONS,
    simulate: Callable[[Any, str], dict[str, Any]] | None = None,
    understand: Callable[[Any, Sequence[Any]], dict[str, Any]] | None = None,
    popularity: Any | None = None,
    splits: Mapping[str, Callable[[Mapping[str, Any]], bool]] | None = None,
    progress: Progress | None = None,
    meta: Mapping[str, Any] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Run the variants, ablations, simulations and understanding evaluation; write the report.

    Args:
        make_agent: ``make_agent(variant, signals) -> AgentRunner``; may raise a typed
            :class:`~crsagent.agent.errors.CrsAgentError` (the run is then noted as skipped).
        turns: the dev turns for crs-only and the ablations (all of them, or a limit).
        resolver: title -> id (:class:`~crsagent.evals.datasets.TitleResolver`).
        out_dir: report folder; partial results live in ``out_dir/partial`` (re-runs resume).
        sample: turns for the LLM variants (a seeded sample of ``turns``).
        seed: sampling seed.
        llm_available: run the LLM variants (they need a server).
        variants: which variants to run.
        ablations: crs-only signal ablations (name -> signals off).
        simulate: ``simulate(agent, variant) -> simulation summary``, optional.
        understand: ``understand(agent, turns) -> understanding summary``, optional.
        popularity: a popularity runner to replay as a baseline, optional.
        splits: dialogue splits for split summaries; with a ``heldout`` split the claims are
            judged on the held-out dialogues only.
        progress: ``progress(description, total) -> advance(n)``.
        meta: run settings shown in the report.
        extra: further results shown as JSON sections (title -> object).
    """
    from crsagent.agent.errors import CrsAgentError
    from crsagent.evals.datasets import select_turns
    from crsagent.evals.replay import run_replay
    from crsagent.evals.resume import PartialResults

    out = Path(out_dir)
    part_dir = out / "partial"
    part_dir.mkdir(parents=True, exist_ok=True)
    sampled = select_turns(list(turns), sample, seed)
    data = ReportData(meta={**(meta or {}), "crs_turns": len(turns), "llm_sample": len(sampled), "seed": seed}, extra=dict(extra or {}))
    if splits and "heldout" in splits:
        held = splits["heldout"]
        data.claims_on = ("held-out", lambda dialog_id: bool(held({"dialog_id": dialog_id})))

    def replay(name: str, kind: str, agent: Any, todo: Sequence[Any], concurrency: int = 1) -> None:
        with PartialResults(part_dir / f"{name.replace(' ', '_')}.partial.jsonl", {"run": name, "turns": [t.key for t in todo]}) as p:
            res = run_replay(agent, todo, resolver, partial=p, progress=progress, splits=splits, concurrency=concurrency,
                             description=f"replay {name}")
        data.replay[name] = outcome_from_replay(name, kind, res, note="" if len(todo) == len(turns) else f"on a seeded sample of {len(todo)} turns")

    if popularity is not None:
        replay("popularity", "baseline", popularity, turns)
    for variant in variants:
        uses_llm = variant != "crs-only"
        if uses_llm and not llm_available:
            data.notes.append(f"{variant}: not run (no LLM server; pass --llm-base-url)")
            continue
        try:
            agent = make_agent(variant, None)
        except CrsAgentError as exc:
            data.notes.append(f"{variant}: not run ({type(exc).__name__}: {exc})")
            continue
        missing = getattr(getattr(agent, "toolkit", None), "missing", None)
        if missing and variant == "crs-only":
            data.notes.append("signals unavailable to the agent in this run (ablations of them measure nothing): "
                              + "; ".join(f"{k}: {v}" for k, v in dict(missing).items()))
        replay(variant, "variant", agent, sampled if uses_llm else turns, concurrency=4 if uses_llm else 1)
        if simulate is not None:
            found = simulate(agent, variant)
            if found:
                data.simulation[variant] = found
        if understand is not None:
            found = understand(agent, sampled if uses_llm else turns)
            if found:
                data.understanding[variant] = found
    for name, off in ablations.items():
        try:
            agent = make_agent("crs-only", {k: bool(v) for k, v in off.items()})
        except (CrsAgentError, TypeError) as exc:
            data.notes.append(f"{name}: not run ({type(exc).__name__}: {exc})")
            continue
        replay(name, "ablation", agent, turns)
    return write_report(data, out)
