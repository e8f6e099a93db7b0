"""The benches' streaming figures: time to the first reply text and to the end of the turn."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path

from typer.testing import CliRunner

from crsagent.agent.cli import app
from crsagent.agent.settings import Settings
from crsagent.agent.turns import TurnResult, Usage
from crsagent.evals.bench import turn as bench_turn
from crsagent.evals.bench.api import _through_api
from crsagent.graphs.streaming import ReplyDelta, TurnDone, TurnEvent


class StreamingRunner:
    """Releases its first sentence after 10 ms and ends the turn 30 ms later; every third turn falls back."""

    variant = "agent"

    def __init__(self, llm) -> None:
        self.llm = llm
        self.turns = 0

    def stream_turn(self, text: str, *, thread_id: str, user_id: str | None = None) -> Iterator[TurnEvent]:
        self.turns += 1
        fallback = self.turns % 3 == 0
        time.sleep(0.01)
        if not fallback:
            yield ReplyDelta("First sentence.")
        time.sleep(0.03)
        yield TurnDone(
            TurnResult(
                reply="First sentence. Second.",
                usage=Usage(llm_calls=1),
                fallback=fallback,
                fallback_reason="guard_rejected" if fallback else None,
            )
        )

    def turn(self, text: str, *, thread_id: str, user_id: str | None = None) -> TurnResult:
        raise AssertionError("the bench streams a runner that can")

    def close(self) -> None:
        pass


def test_bench_turn_reports_ttft_and_turn_percentiles(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setattr(bench_turn, "_default_factory", lambda settings, domain, variant, llm: StreamingRunner(llm))
    result = CliRunner().invoke(
        app,
        [
            "bench",
            "turn",
            "--turns",
            "6",
            "--variant",
            "agent",
            "--llm-base-url",
            "http://127.0.0.1:9/v1",
            "--llm-turns",
            "6",
        ],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.output.strip().splitlines()[-1])
    assert report["ttft_p50_s"] < report["turn_p50_s"] <= report["turn_p95_s"]
    assert report["ttft_p50_s"] <= report["ttft_p95_s"] <= report["turn_p95_s"]
    assert report["streamed_turns"] + report["fallback_turns"] == 6 and report["fallback_turns"] >= 1
    assert report["overhead_ttft_p50_ms"] < report["overhead_p50_ms"]
    assert report["latency_targets"] == {"ttft_p50_s": 2.5, "turn_p50_s": 6.0}


def test_streamed_api_load_reports_ttft(tmp_path: Path) -> None:
    stats = asyncio.run(_through_api(Settings(home=tmp_path), "movies", "full", 3, 2, None, 120.0, True, stream=True))
    assert stats["turns"] == 6 and stats["errors"] == 0
    assert 0 < stats["ttft_p50_s"] <= stats["turn_p50_s"] and stats["ttft_p95_s"] <= stats["turn_p95_s"] + 1e-3
