"""The report: claims judged by paired bootstrap, Markdown + PNG + JSON written."""

from __future__ import annotations

import json

from crsagent.agent.errors import LLMUnavailableError
from crsagent.evals.report import (
    ReportData,
    RunOutcome,
    comparison_verdict,
    judge_claims,
    paired_delta,
    run_report,
    write_report,
)

PNG = b"\x89PNG\r\n\x1a\n"


def outcome(name, hits, n=40, kind="variant"):
    ranks = {f"d{i}:1:0": (1 if i < hits else None) for i in range(n)}
    r = hits / n
    return RunOutcome(
        name=name,
        kind=kind,
        ranks=ranks,
        summary={
            "recall@1": r,
            "recall@10": r,
            "recall@50": r,
            "n": n,
            "turns": n,
            "filtered_recall@1": r,
            "filtered_recall@10": r,
            "filtered_recall@50": r,
            "filtered_n": n,
        },
    )


def test_paired_delta_and_verdicts():
    d = paired_delta(outcome("a", 30), outcome("b", 5))
    assert d["delta"] == 25 / 40 and d["ci_low"] > 0 and d["samples"] == 40
    assert paired_delta(outcome("a", 10), outcome("b", 10))["delta"] == 0.0
    replay = {
        "crs-only": outcome("crs-only", 30),
        "crs-only -intent": outcome("crs-only -intent", 5),
        "crs-only -cf": outcome("crs-only -cf", 30),
        "crs-only -vector": outcome("crs-only -vector", 31),
        "llm-only": outcome("llm-only", 20),
        "crs-assists-llm": outcome("crs-assists-llm", 20),
    }
    verdicts = {c["claim"]: c["verdict"] for c in judge_claims(replay)}
    assert verdicts == {
        "LLM assists CRS": "not measured",
        "CRS assists LLM": "inconclusive",
        "Latent intents help": "reproduced",
        "CF + semantic fusion helps": "inconclusive",
    }
    fusion = next(c for c in judge_claims(replay) if c["claim"] == "CF + semantic fusion helps")
    assert [comparison_verdict(c) for c in fusion["comparisons"]] == ["inconclusive", "inconclusive"]
    assert comparison_verdict({"delta": 0.1, "ci_low": 0.02, "ci_high": 0.2}) == "reproduced"
    assert comparison_verdict({"vs": "x"}) == "not measured"
    replay["crs-only -vector"] = outcome("crs-only -vector", 40)
    replay["crs-only -cf"] = outcome("crs-only -cf", 0)
    verdicts = {c["claim"]: c["verdict"] for c in judge_claims(replay)}
    assert verdicts["CF + semantic fusion helps"] == "contradicted"


def test_write_report_files(tmp_path):
    data = ReportData(
        replay={
            "crs-only": outcome("crs-only", 12),
            "crs-only -intent": outcome("crs-only -intent", 8, kind="ablation"),
        },
        simulation={
            "crs-only": {
                "simulator": "agenda",
                "dialogues": 10,
                "success_rate": 0.4,
                "avg_turns": 4.1,
                "success_by_turn": {"1": 0.1, "2": 0.3, "3": 0.4},
                "llm_calls_per_dialogue": 0.0,
                "hit_precision": 0.2,
                "attribute_precision": 0.7,
            }
        },
        notes=["full: not run (no LLM server)"],
    )
    obj = write_report(data, tmp_path / "rep")
    md = (tmp_path / "rep" / "report.md").read_text()
    for name in ("recall.png", "success.png"):
        assert (tmp_path / "rep" / name).read_bytes()[:8] == PNG
    assert "| crs-only | variant | 40 | 0.300 |" in md
    assert "UniCRS" in md and "0.215" in md
    assert "Latent intents help" in md and "not run (no LLM server)" in md
    assert json.loads((tmp_path / "rep" / "report.json").read_text())["claims"] == obj["claims"]


def test_run_report_skips_what_it_cannot_run_and_resumes(tmp_path, turns_path, resolver, fake_runner_cls):
    from crsagent.evals.datasets import load_turns

    turns = load_turns(turns_path)[:12]
    made = []

    def make_agent(variant, signals):
        made.append((variant, signals))
        if variant == "full":
            raise LLMUnavailableError("no server")
        return fake_runner_cls(lambda m: [resolver.resolve(t.rec[0]) for t in turns])

    obj = run_report(
        make_agent,
        turns,
        resolver,
        tmp_path / "r",
        sample=5,
        llm_available=False,
        ablations={"crs-only -cf": {"cf": False}},
    )
    assert set(obj["replay"]) == {"crs-only", "crs-only -cf"}
    assert made == [("crs-only", None), ("crs-only", {"cf": False})]
    assert any("llm-only: not run" in n for n in obj["notes"])
    assert (tmp_path / "r" / "partial" / "crs-only.partial.jsonl").exists()
    again = run_report(
        make_agent,
        turns,
        resolver,
        tmp_path / "r",
        sample=5,
        llm_available=True,
        variants=("crs-only", "full"),
        ablations={},
    )
    assert again["replay"]["crs-only"]["summary"]["resumed"] == 12
    assert any("full: not run (LLMUnavailableError" in n for n in again["notes"])


def test_claims_can_be_judged_on_some_dialogues_only(tmp_path):
    # a wins on dialogues d0-d19 only; b wins on d20-d39
    a = RunOutcome("a", "variant", {}, ranks={f"d{i}:1:0": (1 if i < 20 else None) for i in range(40)})
    b = RunOutcome("b", "variant", {}, ranks={f"d{i}:1:0": (None if i < 20 else 1) for i in range(40)})
    assert paired_delta(a, b)["delta"] == 0.0
    first = paired_delta(a, b, keep=lambda d: int(d[1:]) < 20)
    assert first["delta"] == 1.0 and first["samples"] == 20
    assert paired_delta(a, b, keep=lambda d: False) is None
    replay = {"crs-only": outcome("crs-only", 20), "crs-only -intent": outcome("crs-only -intent", 0)}
    data = ReportData(replay=replay, claims_on=("held-out", lambda d: int(d[1:]) >= 20))
    obj = write_report(data, tmp_path)
    latent = next(c for c in obj["claims"] if c["claim"] == "Latent intents help")
    assert latent["comparisons"][0]["samples"] == 20 and latent["comparisons"][0]["delta"] == 0.0
    assert obj["claims_on"] == "held-out"
    assert "on the held-out dialogues only" in (tmp_path / "report.md").read_text()


def test_protocol_table_shows_both_halves_beside_the_anchors(tmp_path):
    from crsagent.evals.anchors import ANCHORS

    half = {
        "recall@1": 0.05,
        "recall@10": 0.221,
        "recall@50": 0.41,
        "dedup_recall@1": 0.012,
        "dedup_recall@10": 0.17,
        "dedup_recall@50": 0.36,
        "dedup_n": 1629,
        "sr": 0.5,
        "rdl": 0.25,
        "dedup_sr": 0.2,
        "dedup_rdl": 0.06,
        "turns": 1319,
        "n": 1766,
    }
    run = outcome("crs-only", 12)
    run.summary["splits"] = {"heldout": half, "train": {**half, "recall@1": 0.9}}
    obj = write_report(
        ReportData(replay={"crs-only": run, "popularity": outcome("popularity", 2, kind="baseline")}), tmp_path
    )
    md = (tmp_path / "report.md").read_text()
    assert (
        "| crs-only | heldout | 0.050 | 0.221 | 0.410 | 0.012 | 0.170 | 0.360 | 1629 | 0.500 | 0.250 | 0.200 | 0.060 |"
        in md
    )
    assert "| crs-only | train | 0.900 |" in md
    assert "| popularity | all | 0.050 | 0.050 | 0.050 | – |" in md  # no splits, no dedup keys: shown as missing
    assert (
        "| ReFICR (7B) (anchor) | ReDial test | 0.049 | 0.270 | 0.507 | 0.018 | 0.213 | 0.465 | – | 0.151 | 0.074 "
        "| – | – |" in md
    )
    assert "| UniCRS (anchor) | ReDial test | 0.049 | 0.213 | 0.421 | 0.024 | 0.180 | 0.335 |" in md
    assert "| MESE (anchor) | ReDial test | 0.032 | 0.178 | 0.381 | 0.025 | 0.159 | 0.361 |" in md
    assert obj["anchors"] == ANCHORS


def test_run_report_reports_sr_and_rdl_from_the_given_rewards(tmp_path, turns_path, resolver, fake_runner_cls):
    from crsagent.evals.datasets import load_turns

    turns = load_turns(turns_path)[
        :2
    ]  # dialogue 16162: The Shining is a ground truth of turn 2 and mentioned by turn 4
    assert {t.dialog_id for t in turns} == {"16162"}
    shining = resolver.resolve("The Shining (1980)")
    agent = fake_runner_cls(lambda m: [shining])
    obj = run_report(
        lambda v, s: agent,
        turns,
        resolver,
        tmp_path / "r",
        llm_available=False,
        ablations={},
        rewards={"16162": {shining: 1.0}},
    )
    s = obj["replay"]["crs-only"]["summary"]
    # top-1 is The Shining at both turns: SR 1, RDL (1 + 1) / 2; once mentioned it is no dedup top-1: (1 + 0) / 2
    assert (s["sr"], s["rdl"], s["dedup_sr"], s["dedup_rdl"], s["sr_dialogues"]) == (1.0, 1.0, 1.0, 0.5, 1)
