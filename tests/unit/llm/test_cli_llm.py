"""`crsagent llm ...` commands: argument checks and `llm check` against a stub server."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from crsagent.agent.cli import app
from crsagent.agent.llm.real_llm_switch import allow_real_llm

runner = CliRunner()


def test_bad_device_is_rejected_before_any_work(tmp_path):
    result = runner.invoke(app, ["llm", "setup", "--device", "tpu", "--home", str(tmp_path)])
    assert result.exit_code == 2 and "cpu" in result.output
    assert not (tmp_path / "llm").exists()


def test_check_without_a_base_url_is_a_usage_error(monkeypatch):
    monkeypatch.delenv("CRSAGENT_LLM_BASE_URL", raising=False)
    result = runner.invoke(app, ["llm", "check"])
    assert result.exit_code == 2 and "base-url" in result.output


def test_check_reports_valid_and_invalid_answers_as_json(stub_llm, tmp_path):
    good = stub_llm.completion(
        '{"genres": ["Horror"], "liked_titles": ["Alien"], "year_min": 1990, "dialogue_act": "recommend"}'
    )
    call = stub_llm.completion(None, tool_calls=[{"name": "SearchCatalog", "args": {"query": "scary sci-fi"}}])
    stub_llm.replies = [("json", good), ("json", call)]  # then plain "ok" text: invalid for both
    out = tmp_path / "check.json"
    with allow_real_llm():
        result = runner.invoke(app, ["llm", "check", "--base-url", stub_llm.base_url, "--model", "stub-model",
                                     "--repeats", "1", "--streams", "2", "--json", str(out)])  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads(result.output.strip().splitlines()[-1])
    assert report == json.loads(out.read_text())
    assert report["json_schema"]["valid"] == 1 and report["json_schema"]["example"]["liked_titles"] == ["Alien"]
    assert report["tool_call"]["valid"] == 1 and report["tool_call"]["example"] == {"query": "scary sci-fi", "k": 10}
    assert report["throughput_2"]["completion_tokens"] == 14 and report["throughput_2"]["failed"] == 0
