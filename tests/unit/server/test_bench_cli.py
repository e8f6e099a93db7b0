"""``crsagent serve`` start-up checks and the API benchmark's machinery (no built data needed)."""

from __future__ import annotations

import asyncio

import pytest
from typer.testing import CliRunner

from crsagent.agent.cli import app
from crsagent.agent.settings import Settings
from crsagent.evals.bench.api import _through_api, dialogue, load_stats


def test_serve_refuses_to_start_without_a_build(tmp_path):
    result = CliRunner().invoke(app, ["serve", "--home", str(tmp_path), "--port", "0"])
    assert result.exit_code == 1
    assert "NotBuiltError" in result.output and "crsagent build" in result.output


def test_serve_refuses_an_unknown_default_variant(tmp_path):
    result = CliRunner().invoke(app, ["serve", "--home", str(tmp_path), "--default-variant", "gpt-4", "--fake-llm"])
    assert result.exit_code == 1 and "default_variant" in result.output


def test_dialogues_are_deterministic_and_sized():
    assert dialogue(3, 5) == dialogue(3, 5)
    assert len(dialogue(0, 5)) == 5 and dialogue(0, 5)[0] != dialogue(1, 5)[0]


def test_load_stats():
    stats = load_stats([0.1, 0.2, 0.3, 0.4], wall_s=2.0, errors=1)
    assert stats["turns"] == 4 and stats["errors"] == 1 and stats["turns_per_s"] == 2.0
    assert stats["p50_ms"] == pytest.approx(250.0) and 350.0 < stats["p95_ms"] <= 400.0


def test_noop_api_load_through_a_subprocess_server(tmp_path):
    """The benchmark's client and subprocess plumbing, against the API over a no-op runner."""
    seen: list[int] = []
    stats = asyncio.run(_through_api(Settings(home=tmp_path), "movies", "full", 4, 3, seen.append, 120.0, True))
    assert stats["turns"] == 12 and stats["errors"] == 0 and len(seen) == 12
    assert stats["turns_per_s"] > 0 and 0 < stats["p50_ms"] <= stats["p95_ms"] <= stats["max_ms"]
