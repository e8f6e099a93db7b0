"""``crsagent demo``: build, start the LLM server, chat against it, and always stop the server."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from typer.testing import CliRunner

from crsagent.agent.cli import app
from crsagent.agent.cli import chat as chat_mod
from crsagent.agent.errors import NotBuiltError
from crsagent.agent.llm import server as server_mod
from crsagent.agent.turns import TurnResult


@dataclass
class FakeServer:
    base_url: str = "http://127.0.0.1:5999/v1"
    model_name: str = "smollm2-135m-instruct"
    ready_s: float = 0.1
    events: list[str] = field(default_factory=list)

    def stop(self, grace_s: float = 20.0) -> int:
        self.events.append("stop")
        return 0


class ScriptRunner:
    variant = "full"

    def __init__(self, events: list[str], interrupt_on: str | None) -> None:
        self.events = events
        self.interrupt_on = interrupt_on

    def turn(self, text: str, *, thread_id: str, user_id: str | None = None) -> TurnResult:
        self.events.append(f"turn:{text}")
        if self.interrupt_on and self.interrupt_on in text:
            raise KeyboardInterrupt
        return TurnResult(reply=f"re: {text}")

    def close(self) -> None:
        self.events.append("close")


@pytest.fixture()
def demo_env(monkeypatch):
    env: dict = {"events": [], "interrupt_on": None, "runner_error": None}
    server = FakeServer(events=env["events"])

    def fake_serve(home, config, *, ready_timeout_s, log):
        env["events"].append(f"serve:port={config.port}:device={config.device}")
        return server

    def fake_runner(settings, domain, variant):
        env["events"].append(f"runner:{settings.llm_base_url}:{settings.llm_model}:{domain}:{variant}")
        if env["runner_error"]:
            raise env["runner_error"]
        return ScriptRunner(env["events"], env["interrupt_on"])

    monkeypatch.setattr(server_mod, "serve", fake_serve)
    monkeypatch.setattr(chat_mod, "_ensure_built", lambda settings, domain: env["events"].append(f"build:{domain}"))
    monkeypatch.setattr(chat_mod, "create_runner", fake_runner)
    return env


def test_demo_builds_serves_chats_and_stops(demo_env):
    result = CliRunner().invoke(app, ["demo"])
    assert result.exit_code == 0, result.output
    ev = demo_env["events"]
    assert ev[:3] == [
        "build:movies",
        "serve:port=0:device=cpu",
        "runner:http://127.0.0.1:5999/v1:smollm2-135m-instruct:movies:agent",
    ]
    assert [e for e in ev if e.startswith("turn:")] == [f"turn:{m}" for m in chat_mod.DEFAULT_SCRIPT]
    assert ev[-2:] == ["close", "stop"]
    assert "re: Why would I like the first one?" in result.output


def test_demo_stops_the_server_on_ctrl_c(demo_env):
    demo_env["interrupt_on"] = "after 2010"
    result = CliRunner().invoke(app, ["demo"])
    assert result.exit_code == 130
    ev = demo_env["events"]
    assert ev[-2:] == ["close", "stop"]
    assert "turn:Not that one, I've seen it." not in ev  # the script stopped


def test_demo_stops_the_server_on_error(demo_env):
    demo_env["runner_error"] = NotBuiltError("no 'catalog' artifact")
    result = CliRunner().invoke(app, ["demo"])
    assert result.exit_code == 1
    assert "NotBuiltError" in result.output
    assert demo_env["events"][-1] == "stop"
