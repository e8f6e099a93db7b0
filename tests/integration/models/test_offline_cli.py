"""``crsagent eval offline`` over the real movies build (latency part; the full protocol trains
models for minutes and runs as a benchmark command, not in the test suite)."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from crsagent.agent.cli import app


def test_offline_bench_only_prints_json_last(movies_home, tmp_path):
    out = tmp_path / "bench.json"
    res = CliRunner().invoke(
        app,
        [
            "eval",
            "offline",
            "--domain",
            "movies",
            "--bench-only",
            "--bench-scale",
            "20000",
            "--home",
            str(movies_home.home),
            "--json",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    last = json.loads(res.stdout.strip().splitlines()[-1])
    assert last == json.loads(out.read_text())
    assert last["cf_latency"]["items"] > 10_000 and last["cf_latency"]["p50_ms"] > 0
    assert last["cf_latency_synthetic"]["items"] == 20_000


def test_offline_rejects_unknown_domain(movies_home):
    res = CliRunner().invoke(app, ["eval", "offline", "--domain", "books", "--home", str(movies_home.home)])
    assert res.exit_code != 0 and "domain" in res.output
