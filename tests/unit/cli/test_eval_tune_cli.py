"""``crsagent eval tune``: the ranking tuners behind the CLI, their options forwarded."""

from __future__ import annotations

from typing import Any

import pytest
from typer.testing import CliRunner

from crsagent.agent.cli import app


def test_eval_tune_lists_the_tuners() -> None:
    out = CliRunner().invoke(app, ["eval", "tune", "--help"])
    assert out.exit_code == 0
    for name in ("weights", "remention", "ablation"):
        assert name in out.output


@pytest.mark.parametrize(
    ("argv", "module", "expected"),
    [
        (
            ["weights", "--json", "o.json", "--limit", "5", "--extra", "prior", "--extra", "trans"],
            "weights",
            ["--json", "o.json", "--limit", "5", "--extra", "prior", "--extra", "trans"],
        ),
        (["weights", "--default-mode-only"], "weights", ["--default-mode-only"]),
        (["remention", "--json", "r.json"], "remention", ["--json", "r.json"]),
        (["ablation", "--set", "no_seq", "--cache", "c.pkl"], "ablation", ["--cache", "c.pkl", "--set", "no_seq"]),
    ],
)
def test_options_reach_the_tuner(argv: list[str], module: str, expected: list[str], monkeypatch: Any) -> None:
    import importlib

    mod = importlib.import_module(f"crsagent.evals.tuning.{'ranker_ablation' if module == 'ablation' else module}")
    seen: list[list[str]] = []

    def fake_main(a: list[str]) -> dict[str, Any]:
        seen.append(a)
        return {}

    monkeypatch.setattr(mod, "main", fake_main)
    out = CliRunner().invoke(app, ["eval", "tune", *argv])
    assert out.exit_code == 0, out.output
    assert seen == [expected]
