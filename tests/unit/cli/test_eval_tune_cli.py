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
            ["--json", "o.json", "--limit", "5", "--extra", "prior", "--extra", "trans"]
            + ["--mention-counts", "train-half"],
        ),
        (["weights", "--default-mode-only"], "weights", ["--default-mode-only", "--mention-counts", "train-half"]),
        (["weights", "--mention-counts", "corpus"], "weights", ["--mention-counts", "corpus"]),
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


@pytest.mark.parametrize("source", ["train-half", "corpus"])
def test_the_weight_tuner_reads_the_replay_counts(source: str, monkeypatch: Any, tmp_path: Any) -> None:
    """The tuner's toolkit is built from settings with the chosen mention counts, as replay's."""
    from crsagent.evals.tuning import weights

    seen: dict[str, Any] = {}

    def fake_leak_free(settings: Any, src: str, work: Any) -> str:
        seen["source"], seen["work"] = src, work
        return "clean-settings"

    def fake_tune(args: Any, settings: Any) -> dict[str, Any]:
        seen["settings"] = settings
        return {"mention_counts": args.mention_counts}

    monkeypatch.setenv("CRSAGENT_HOME", str(tmp_path))
    monkeypatch.setattr(weights, "leak_free_settings", fake_leak_free)
    monkeypatch.setattr(weights, "_tune", fake_tune)
    assert weights.main(["--mention-counts", source]) == {"mention_counts": source}
    assert seen["source"] == source and seen["settings"] == "clean-settings"
    assert not seen["work"].exists()  # the temporary catalogue copy is removed after the run


def test_a_cache_read_with_other_counts_is_not_reused(tmp_path: Any) -> None:
    import pickle

    from crsagent.evals.tuning.weights import cached_turns

    old = tmp_path / "turns.pkl"
    old.write_bytes(pickle.dumps({"genres+people hard": {"tune": ["a turn"]}}))  # before counts were recorded
    assert cached_turns(old, "train-half") == {"_mention_counts": "train-half"}
    assert cached_turns(old, "corpus")["genres+people hard"] == {"tune": ["a turn"]}
    new = tmp_path / "new.pkl"
    new.write_bytes(pickle.dumps(cached_turns(old, "corpus")))
    assert cached_turns(new, "train-half") == {"_mention_counts": "train-half"}
    assert cached_turns(None, "corpus") == {"_mention_counts": "corpus"}
