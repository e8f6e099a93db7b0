"""The tuning claim: tuned vs base rows of an ``eval agent`` run, judged with 95% intervals."""

from __future__ import annotations

import pytest

from crsagent.evals.tuning_claim import judge_tuning_claim, paired_mean_delta, tuning_lines, unpaired_delta, wilson

TUNED, BASE = "smollm2-135m-crs", "smollm2-135m-instruct"


def _row(
    model: str,
    *,
    fallbacks: list[bool],
    valid: int = 1,
    attempted: int = 1,
    hit_every: int = 0,
    sims: list[int] | None = None,
) -> dict:
    ranks = {f"d{i}:1:0": (1 if hit_every and i % hit_every == 0 else None) for i in range(40)}
    turns = [
        {"source": "replay", "fallback": f, "valid": valid, "attempted": attempted, "llm_calls": 1, "seconds": 1.0}
        for f in fallbacks
    ]
    return {
        "variant": "agent",
        "model": model,
        "turns": len(turns),
        "fallback_rate": sum(fallbacks) / len(fallbacks),
        "samples": {"turns": turns, "replay_ranks": ranks, "sim_success": sims or [0] * 10},
    }


def test_wilson_matches_the_textbook_values() -> None:
    assert wilson(0, 10) == (0.0, 0.2775)
    interval = wilson(5, 10)
    assert interval is not None
    low, high = interval
    assert (low, high) == (0.2366, 0.7634)
    assert wilson(0, 0) is None


def test_intervals_are_seeded_and_cover_the_difference() -> None:
    a, b = [(1, 1)] * 30 + [(0, 1)] * 10, [(1, 1)] * 10 + [(0, 1)] * 30
    first, again = unpaired_delta(a, b, seed=3), unpaired_delta(a, b, seed=3)
    assert first == again and first["delta"] == 0.5 and first["ci_low"] > 0.2 and first["ci_high"] < 0.8
    assert unpaired_delta([(0, 0)], b) is None
    paired = paired_mean_delta([1, 1, 0, 1], [0, 1, 0, 0])
    assert paired["delta"] == 0.5 and paired["ci_low"] <= 0.5 <= paired["ci_high"]


def test_fewer_fallbacks_and_nothing_worse_reproduce_the_claim() -> None:
    run = {
        "rows": [
            _row(TUNED, fallbacks=[False] * 36 + [True] * 4, hit_every=4),
            _row(BASE, fallbacks=[True] * 38 + [False] * 2, hit_every=4),
            {"variant": "crs-only", "model": None},
        ]
    }
    out = judge_tuning_claim(run)
    assert out["verdict"] == "reproduced"
    fb = out["comparisons"]["fallback_rate"]
    assert fb["direction"] == "improved" and fb["delta"] == -0.85 and fb["ci_high"] < 0
    assert out["comparisons"]["replay_recall@10"]["direction"] == "inconclusive"  # identical hits
    assert out["rows"][TUNED]["wilson95"]["fallback_rate"] == wilson(4, 40)
    text = "\n".join(tuning_lines(out))
    assert "**reproduced**" in text and "| fallback_rate | lower | -0.850 |" in text


def test_a_worse_tuned_model_contradicts_and_a_mixed_one_is_inconclusive() -> None:
    worse = {"rows": [_row(TUNED, fallbacks=[True] * 40), _row(BASE, fallbacks=[False] * 40)]}
    assert judge_tuning_claim(worse)["verdict"] == "contradicted"
    mixed = {
        "rows": [_row(TUNED, fallbacks=[False] * 40, hit_every=0), _row(BASE, fallbacks=[True] * 40, hit_every=1)]
    }  # fewer fallbacks, far fewer hits
    out = judge_tuning_claim(mixed)
    assert out["verdict"] == "inconclusive" and "mixed" in out["note"]
    assert out["comparisons"]["replay_recall@10"]["direction"] == "worsened"


def test_tool_calls_of_a_base_that_never_calls_are_still_compared() -> None:
    run = {
        "rows": [
            _row(TUNED, fallbacks=[True] * 40, valid=1, attempted=1),
            _row(BASE, fallbacks=[True] * 40, valid=0, attempted=0),
        ]
    }
    out = judge_tuning_claim(run)
    assert out["comparisons"]["tool_call_valid_rate"]["direction"] == "not measured"  # undefined without attempts
    turns = out["comparisons"]["valid_tool_call_turn_rate"]
    assert turns["direction"] == "improved" and turns["delta"] == 1.0
    assert out["rows"][TUNED]["values"]["valid_tool_call_turn_rate"] == 1.0 and out["verdict"] == "reproduced"


def test_missing_rows_or_samples_are_not_measured() -> None:
    assert judge_tuning_claim({"rows": [_row(BASE, fallbacks=[True])]})["verdict"] == "not measured"
    bare = {"rows": [{"model": TUNED, "fallback_rate": 0.1}, {"model": BASE, "fallback_rate": 0.9}]}
    out = judge_tuning_claim(bare)
    assert out["verdict"] == "not measured" and "per-sample" in out["note"]


def test_other_row_names_can_be_judged() -> None:
    run = {"rows": [_row("mine", fallbacks=[False] * 40), _row("theirs", fallbacks=[True] * 40)]}
    assert judge_tuning_claim(run)["verdict"] == "not measured"
    assert judge_tuning_claim(run, tuned="mine", base="theirs")["verdict"] == "reproduced"


@pytest.mark.parametrize("sims,expected", [([1] * 10, "improved"), ([0] * 10, "inconclusive")])
def test_simulator_success_is_paired_per_dialogue(sims: list[int], expected: str) -> None:
    run = {"rows": [_row(TUNED, fallbacks=[True] * 5, sims=sims), _row(BASE, fallbacks=[True] * 5, sims=[0] * 10)]}
    assert judge_tuning_claim(run)["comparisons"]["sim_success_at_5"]["direction"] == expected


def test_the_report_shows_the_claim_and_only_tuning_judges_it_alone(tmp_path) -> None:
    import json

    from typer.testing import CliRunner

    from crsagent.agent.cli import app
    from crsagent.evals.report_writer import ReportData, write_report

    run = {"rows": [_row(TUNED, fallbacks=[False] * 40), _row(BASE, fallbacks=[True] * 40)]}
    obj = write_report(ReportData(tuning=judge_tuning_claim(run)), tmp_path / "full")
    assert obj["tuning_claim"]["verdict"] == "reproduced"
    assert "## The tuning claim" in (tmp_path / "full" / "report.md").read_text()
    (tmp_path / "agent.json").write_text(json.dumps(run))
    result = CliRunner().invoke(
        app,
        [
            "eval",
            "report",
            "--agent-json",
            str(tmp_path / "agent.json"),
            "--only-tuning",
            "--out",
            str(tmp_path / "only"),
        ],
    )
    assert result.exit_code == 0, result.output
    last = json.loads(result.output.strip().splitlines()[-1])
    assert last["claims"] == {"Tuning the LLM on synthetic dialogues improves its CRS behaviour": "reproduced"}
    assert "fallback_rate" in (tmp_path / "only" / "tuning-claim.md").read_text()
    assert CliRunner().invoke(app, ["eval", "report", "--only-tuning", "--out", str(tmp_path / "x")]).exit_code == 2
