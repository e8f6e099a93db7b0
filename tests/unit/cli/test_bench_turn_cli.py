"""``crsagent bench turn``: dialogues from ReDial, the report's keys and ranges (fake runner here;
the real agent in tests/integration/explain)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from crsagent.agent.cli import app
from crsagent.agent.errors import DataError
from crsagent.agent.settings import default_data_dir
from crsagent.agent.turns import TurnResult, Usage
from crsagent.evals.bench import turn as bench_turn


class TimedRunner:
    """Sleeps a known time per turn; crashes on request; counts calls."""

    def __init__(self, llm, sleep_s: float = 0.002, crash_every: int = 0) -> None:
        self.variant = "full"
        self.llm = llm
        self.sleep_s = sleep_s
        self.crash_every = crash_every
        self.threads: list[str] = []
        self.closed = False

    def turn(self, text: str, *, thread_id: str, user_id: str | None = None) -> TurnResult:
        assert text.strip()
        self.threads.append(thread_id)
        if self.crash_every and len(self.threads) % self.crash_every == 0:
            raise RuntimeError("parser blew up")
        time.sleep(self.sleep_s)
        return TurnResult(reply="ok", usage=Usage(llm_calls=2, tool_calls=1), degraded=len(self.threads) % 2 == 0)

    def close(self) -> None:
        self.closed = True


def test_seeker_dialogues_come_from_redial_with_titles():
    dialogues = bench_turn.seeker_dialogues(default_data_dir(), limit=20, max_turns=4)
    assert len(dialogues) == 20
    assert all(2 <= len(d) <= 4 for d in dialogues)
    text = " ".join(t for d in dialogues for t in d)
    assert "@" not in text  # every mention became a title
    assert "The Babadook (2014)" in dialogues[0][0]


def test_missing_dialogues_are_a_data_error(tmp_path: Path):
    with pytest.raises(DataError, match="dev_dialogues"):
        bench_turn.seeker_dialogues(tmp_path)


def test_bench_turn_cli_reports_keys_and_ranges(monkeypatch, tmp_path: Path):
    made: list[TimedRunner] = []

    def factory(settings, domain, variant, llm):
        made.append(TimedRunner(llm, sleep_s=0.002 if llm is not None else 0.02, crash_every=0 if llm else 4))
        return made[-1]

    monkeypatch.setattr(bench_turn, "_default_factory", factory)
    out = tmp_path / "turn.json"
    result = CliRunner().invoke(
        app,
        [
            "bench",
            "turn",
            "--turns",
            "6",
            "--json",
            str(out),
            "--llm-base-url",
            "http://127.0.0.1:9/v1",
            "--llm-turns",
            "4",
        ],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.output.strip().splitlines()[-1])
    assert report == json.loads(out.read_text())
    assert type(made[0].llm).__name__ == "InstantChatModel" and made[1].llm is None
    assert all(r.closed for r in made)
    assert report["turns"] == 6 and len(made[0].threads) == 6 + 2  # two warm-up turns
    assert 2.0 <= report["overhead_p50_ms"] <= report["overhead_p95_ms"] < 1000
    assert report["llm_calls_per_turn"] == 2 and report["tool_calls_per_turn"] == 1
    assert report["crashed_turns"] == 0
    # real-LLM part: every 4th turn crashed (turn 4 of 5 played, the first is warm-up)
    assert report["llm_turns"] == 4 and report["llm_crashed_turns"] == 1
    assert report["llm_errors"] == ["RuntimeError: parser blew up"]
    assert 20.0 <= report["llm_turn_p50_ms"] <= report["llm_turn_p95_ms"]
    assert report["llm_valid_or_handled_rate"] == pytest.approx(9 / 10)  # 3 turns x 3 outputs, 1 crash
    assert report["meets_targets"] is False  # a crashed turn fails the targets
