"""``crsagent chat``: scripted and interactive sessions against a fake runner (AgentRunner protocol)."""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from crsagent.agent.cli import app
from crsagent.agent.cli import chat as chat_mod
from crsagent.agent.errors import LLMUnavailableError
from crsagent.agent.turns import AgentRunner, ChatMessage, Recommendation, TurnResult, Usage


class EchoRunner:
    """A tiny AgentRunner: recommends one item per turn, explains it, and records every call."""

    def __init__(self, variant: str = "full", fail_on: str | None = None) -> None:
        self.variant = variant
        self.fail_on = fail_on
        self.calls: list[tuple[str, str, str | None]] = []
        self.closed = False

    def turn(self, text: str, *, thread_id: str, user_id: str | None = None) -> TurnResult:
        self.calls.append((text, thread_id, user_id))
        if self.fail_on and self.fail_on in text:
            raise LLMUnavailableError("the LLM server is down")
        n = len(self.calls)
        rec = Recommendation(
            item_id=f"tt{n:07d}", title=f"Film {n}", score=0.5 + n / 100, explanation=f"reason-{n}", signals={"cf": 0.1}
        )
        return TurnResult(reply=f"reply-{n}", recommendations=[rec], usage=Usage(llm_calls=2, tool_calls=1))

    async def aturn(self, text: str, *, thread_id: str, user_id: str | None = None) -> TurnResult:
        return self.turn(text, thread_id=thread_id, user_id=user_id)

    def run_history(self, messages: list[ChatMessage], *, user_id: str | None = None, ranking_k: int = 50):
        return self.turn(messages[-1].content, thread_id="stateless", user_id=user_id)

    async def arun_history(self, messages: list[ChatMessage], *, user_id: str | None = None, ranking_k: int = 50):
        return self.run_history(messages, user_id=user_id, ranking_k=ranking_k)

    def profile(self, user_id: str) -> dict | None:
        if not self.calls:
            return None
        return {"user_id": user_id, "summary": "likes-horror", "facts": {"liked_genres": ["horror"], "disliked": []}}

    def close(self) -> None:
        self.closed = True


@pytest.fixture()
def fake(monkeypatch):
    made: dict = {}

    def factory(settings, domain, variant, fail_on=None):
        made["settings"], made["domain"] = settings, domain
        made["runner"] = EchoRunner(variant, fail_on=made.get("fail_on"))
        return made["runner"]

    monkeypatch.setattr(chat_mod, "create_runner", factory)
    return made


def test_the_fake_honours_the_protocol():
    assert isinstance(EchoRunner(), AgentRunner)


def test_without_a_tty_the_default_script_is_played(fake):
    result = CliRunner().invoke(app, ["chat", "--variant", "crs-only", "--llm-base-url", "http://127.0.0.1:9/v1"])
    assert result.exit_code == 0, result.output
    runner = fake["runner"]
    assert [c[0] for c in runner.calls] == list(chat_mod.DEFAULT_SCRIPT)
    assert len({c[1] for c in runner.calls}) == 1  # one thread
    assert {c[2] for c in runner.calls} == {"chat-user"}
    assert fake["settings"].llm_base_url == "http://127.0.0.1:9/v1" and fake["domain"] == "movies"
    assert runner.variant == "crs-only" and runner.closed
    out = result.output
    for n in range(1, 5):
        assert f"reply-{n}" in out and f"Film {n}" in out and f"reason-{n}" in out
    assert out.index("reply-1") < out.index("reply-2") < out.index("reply-4")
    assert "I loved the babadook" in out


def test_script_with_commands(fake, tmp_path: Path):
    script = tmp_path / "talk.txt"
    script.write_text("# a comment\nfirst message\n\n/profile\n/new\nsecond message\n/quit\nnever sent\n")
    result = CliRunner().invoke(app, ["chat", "--script", str(script), "--user-id", "u42"])
    assert result.exit_code == 0, result.output
    calls = fake["runner"].calls
    assert [c[0] for c in calls] == ["first message", "second message"]
    assert calls[0][1] != calls[1][1]  # /new started another thread
    assert all(c[2] == "u42" for c in calls)
    assert "profile of u42" in result.output and "likes-horror" in result.output
    assert "new conversation" in result.output


def test_failed_turns_are_reported_and_the_chat_goes_on(fake, tmp_path: Path):
    fake["fail_on"] = "boom"
    script = tmp_path / "talk.txt"
    script.write_text("hello\nboom now\nstill here\n")
    result = CliRunner().invoke(app, ["chat", "--script", str(script)])
    assert result.exit_code == 1
    assert [c[0] for c in fake["runner"].calls] == ["hello", "boom now", "still here"]
    assert "LLMUnavailableError" in result.output and "reply-3" in result.output


def test_unreadable_or_empty_script_is_a_clear_error(fake, tmp_path: Path):
    result = CliRunner().invoke(app, ["chat", "--script", str(tmp_path / "missing.txt")])
    assert result.exit_code == 1 and "cannot read the script" in " ".join(result.output.split())
    assert "runner" not in fake  # checked before the agent is loaded
    empty = tmp_path / "empty.txt"
    empty.write_text("# nothing\n\n")
    result = CliRunner().invoke(app, ["chat", "--script", str(empty)])
    assert result.exit_code == 1 and "holds no message" in " ".join(result.output.split())


def test_interactive_loop_commands_and_end_of_input():
    out = Console(record=True, width=120)
    runner = EchoRunner()
    session = chat_mod.ChatSession(runner, out, "u1", thread_id="t-fixed")
    lines = iter(["/help", "/profile", "hi there", "/bogus", "/new", "again"])

    def ask() -> str:
        try:
            return next(lines)
        except StopIteration:
            raise EOFError from None  # end of input (Ctrl-D) leaves

    session.loop(ask)
    text = out.export_text()
    assert "/profile" in text and "no profile memory for user u1" in text
    assert "unknown command /bogus" in text
    assert runner.calls[0][1] == "t-fixed" and runner.calls[1][1] != "t-fixed"
    assert "reply-1" in text and "reply-2" in text and "2 LLM calls" in text


def test_ctrl_c_during_a_turn_cancels_only_that_turn():
    class SlowRunner(EchoRunner):
        def turn(self, text, *, thread_id, user_id=None):
            if text == "interrupt me":
                raise KeyboardInterrupt
            return super().turn(text, thread_id=thread_id, user_id=user_id)

    out = Console(record=True, width=120)
    runner = SlowRunner()
    answers = iter(["interrupt me", "next one"])

    def ask() -> str:
        try:
            return next(answers)
        except StopIteration:
            raise KeyboardInterrupt from None  # Ctrl-C at the prompt leaves

    chat_mod.ChatSession(runner, out, "u1").loop(ask)
    text = out.export_text()
    assert "turn interrupted" in text and "reply-1" in text
    assert [c[0] for c in runner.calls] == ["next one"]
