"""``crsagent chat`` and ``crsagent demo``: talk to the agent in the terminal.

``chat`` runs a prompt loop on a TTY (``/quit``, ``/new``, ``/profile``, ``/help``) and shows
each reply with the recommendations and their grounded explanations in a rich table. Without
a TTY, or with ``--script``, it plays a scripted conversation and prints it. ``demo`` builds
what is missing, starts the bundled LLM on vLLM's CPU build, chats against it, and stops the
server at the end, on Ctrl-C and on errors.
"""

from __future__ import annotations

import signal
import sys
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from crsagent.agent.cli.common import cli_errors, console, err_console, progress_factory, settings_from
from crsagent.agent.errors import AgentRunError, CrsAgentError, UserError
from crsagent.agent.settings import Settings
from crsagent.agent.turns import AgentRunner, TurnResult

__all__ = [
    "DEFAULT_SCRIPT",
    "COMMANDS",
    "default_variant",
    "create_runner",
    "ChatSession",
    "read_script",
    "chat",
    "demo",
]

#: The conversation played without a TTY: a liked pair, a constraint, a rejection, a why-question.
DEFAULT_SCRIPT: tuple[str, ...] = (
    "Hi! I loved the babadook and it follows.",
    "Something from after 2010 please.",
    "Not that one, I've seen it.",
    "Why would I like the first one?",
)
COMMANDS = {
    "/quit": "leave",
    "/new": "start a new conversation (thread)",
    "/profile": "show your profile memory",
    "/help": "list the commands",
}


def default_variant(settings: Settings, variant: str | None) -> str:
    """The variant asked for, else ``agent`` when an LLM is configured, else ``crs-only``."""
    if variant:
        return variant
    return "agent" if settings.llm_base_url else "crs-only"


def create_runner(settings: Settings, domain: str, variant: str) -> AgentRunner:
    """The agent the chat talks to (tests replace this function with a fake runner)."""
    from crsagent.graphs.runner import CRSAgent

    return CRSAgent.create(settings, domain=domain, variant=variant)


def read_script(path: Path | None) -> list[str]:
    """The lines of a script file (blank lines and ``#`` comments skipped), or the default script.

    Raises:
        UserError: the file cannot be read or holds no message.
    """
    if path is None:
        return list(DEFAULT_SCRIPT)
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise UserError(f"cannot read the script {path}: {exc.strerror or exc}") from exc
    msgs = [ln.strip() for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]
    if not msgs:
        raise UserError(f"the script {path} holds no message (one user message per line)")
    return msgs


class ChatSession:
    """One user's chat with a runner: sends turns, handles slash commands, renders replies.

    Args:
        runner: the agent.
        out: the rich console to print to.
        user_id: whose profile memory the agent keeps.
        thread_id: the conversation to continue; None starts a new one.
    """

    def __init__(self, runner: AgentRunner, out: Console, user_id: str, thread_id: str | None = None) -> None:
        self.runner = runner
        self.out = out
        self.user_id = user_id
        self.thread_id = thread_id or self.new_thread_id()
        self.failed_turns = 0
        self.turns = 0

    @staticmethod
    def new_thread_id() -> str:
        """A fresh thread id."""
        return f"chat-{uuid.uuid4().hex[:12]}"

    def handle(self, line: str) -> bool:
        """Handle one input line (a message or a command); False means quit."""
        line = line.strip()
        if not line:
            return True
        if line.startswith("/"):
            return self.command(line.split()[0].lower())
        self.out.print(f"[bold cyan]you[/bold cyan]  {line}", highlight=False)
        self.send(line)
        return True

    def command(self, cmd: str) -> bool:
        """Run a slash command; False means quit."""
        if cmd in ("/quit", "/exit", "/q"):
            return False
        if cmd == "/new":
            self.thread_id = self.new_thread_id()
            self.out.print(f"[dim]new conversation: thread {self.thread_id}[/dim]")
        elif cmd == "/profile":
            self.show_profile()
        elif cmd == "/help":
            for name, what in COMMANDS.items():
                self.out.print(f"  [bold]{name}[/bold]  {what}")
        else:
            self.out.print(f"[yellow]unknown command {cmd}[/yellow]; commands: {' '.join(COMMANDS)}")
        return True

    def send(self, text: str) -> TurnResult | None:
        """One turn, streamed when the runner can (``stream_turn``); a typed error is printed
        (the chat goes on) and counted."""
        self.turns += 1
        started = time.perf_counter()
        streamer = getattr(self.runner, "stream_turn", None)
        shown = False
        try:
            if streamer is None:
                result = self.runner.turn(text, thread_id=self.thread_id, user_id=self.user_id)
            else:
                result, shown = self._streamed(streamer(text, thread_id=self.thread_id, user_id=self.user_id))
        except CrsAgentError as exc:
            self.failed_turns += 1
            self.out.print(f"[red]error:[/red] {type(exc).__name__}: {exc}", highlight=False)
            return None
        self.render(result, time.perf_counter() - started, shown=shown)
        return result

    def _streamed(self, events: Iterable[Any]) -> tuple[TurnResult, bool]:
        """Print a streamed turn's reply as the guard releases it; (the result, whether the reply was printed)."""
        from crsagent.graphs.streaming import ReplyDelta, ToolStarted, TurnDone

        sent = ""
        for event in events:
            if isinstance(event, ToolStarted) and not sent:
                self.out.print(f"[dim]  … {event.name}[/dim]", highlight=False)
            elif isinstance(event, ReplyDelta):
                if not sent:
                    self.out.print("[bold green]agent[/bold green] ", end="")
                self.out.print(event.text, end="", markup=False, highlight=False)
                sent += event.text
            elif isinstance(event, TurnDone):
                if not sent:
                    return event.result, False
                rest = event.result.reply[len(sent) :] if event.result.reply.startswith(sent) else ""
                self.out.print(rest, markup=False, highlight=False)
                return event.result, True
        raise AgentRunError("the streamed turn ended without a result")

    def render(self, result: TurnResult, seconds: float, *, shown: bool = False) -> None:
        """Print the reply (unless ``shown``: it was streamed) and a table of the recommendations
        with their explanations."""
        if not shown:
            self.out.print(f"[bold green]agent[/bold green] {result.reply or '(no reply)'}", highlight=False)
        if result.recommendations:
            table = Table(show_header=True, header_style="bold", expand=False, show_lines=True)
            table.add_column("#", justify="right", no_wrap=True)
            table.add_column("recommendation", ratio=1, min_width=16)
            table.add_column("score", justify="right", no_wrap=True)
            table.add_column("why", ratio=3)
            for i, rec in enumerate(result.recommendations, 1):
                table.add_row(
                    str(i),
                    f"{rec.title}\n[dim]{rec.item_id}[/dim]",
                    f"{rec.score:.2f}",
                    rec.explanation or "[dim]-[/dim]",
                )
            self.out.print(table)
        u = result.usage
        flags = " [yellow]degraded[/yellow]" if result.degraded else ""
        if result.fallback:
            flags = f" [yellow]fallback: {result.fallback_reason}[/yellow]"
        elif result.trace:
            calls = [c["name"] for e in result.trace if e["type"] == "llm" for c in e["tool_calls"]]
            flags += f" [cyan]LLM called {', '.join(calls) or 'no tool'}[/cyan]"
        self.out.print(
            f"[dim]{result.action} · {u.llm_calls} LLM calls · {u.tool_calls} tool calls · {seconds:.2f} s[/dim]{flags}"
        )

    def show_profile(self) -> None:
        """Print the user's profile memory (summary and structured facts)."""
        getter: Callable[[str], Any] | None = getattr(self.runner, "profile", None)
        if getter is None:
            self.out.print("[yellow]this agent keeps no profile memory[/yellow]")
            return
        try:
            profile = getter(self.user_id)
        except CrsAgentError as exc:
            self.out.print(f"[red]error:[/red] {exc}")
            return
        if not profile:
            self.out.print(f"[dim]no profile memory for user {self.user_id} yet[/dim]")
            return
        table = Table(title=f"profile of {self.user_id}", show_header=False, expand=False)
        table.add_column("field", style="bold", no_wrap=True)
        table.add_column("value")
        for key, value in profile.items():
            if key == "facts" and isinstance(value, dict):
                for fk, fv in value.items():
                    if fv not in (None, [], {}, ""):
                        table.add_row(fk, ", ".join(map(str, fv)) if isinstance(fv, list) else str(fv))
            elif value not in (None, [], {}, ""):
                table.add_row(key, str(value))
        self.out.print(table)

    def play(self, lines: Iterable[str]) -> None:
        """Play scripted lines (messages and commands) and print the conversation."""
        for line in lines:
            if not self.handle(line):
                break

    def loop(self, ask: Callable[[], str]) -> None:
        """The interactive prompt loop; ends on ``/quit``, end of input or Ctrl-C at the prompt."""
        self.out.print(
            f"[dim]chatting as {self.user_id} on thread {self.thread_id}; commands: {' '.join(COMMANDS)}[/dim]"
        )
        while True:
            try:
                line = ask()
            except (EOFError, KeyboardInterrupt):
                self.out.print()
                break
            try:
                if not self.handle(line):
                    break
            except KeyboardInterrupt:  # Ctrl-C during a turn cancels the turn, not the chat
                self.out.print("[yellow]turn interrupted[/yellow] (Ctrl-C at the prompt or /quit leaves)")


def _interactive(script: Path | None) -> bool:
    return script is None and sys.stdin.isatty()


def _script_lines(script: Path | None) -> list[str] | None:
    """The scripted lines, or None for an interactive chat (a TTY and no ``--script``)."""
    return None if _interactive(script) else read_script(script)


def _run(runner: AgentRunner, user_id: str, thread_id: str | None, lines: list[str] | None) -> int:
    """Chat (interactive when ``lines`` is None, else scripted); returns the number of failed turns."""
    session = ChatSession(runner, console, user_id, thread_id)
    try:
        if lines is None:
            session.loop(lambda: console.input("[bold cyan]you[/bold cyan] > "))
        else:
            console.rule(f"scripted conversation ({len(lines)} lines) · variant {runner.variant}")
            session.play(lines)
    finally:
        close = getattr(runner, "close", None)
        if callable(close):
            close()
    return session.failed_turns


DOMAIN_OPT = typer.Option("movies", "--domain", "-d", help="movies | office")
VARIANT_OPT = typer.Option(
    None,
    "--variant",
    help="agent | full | llm-only | crs-only | llm-assists-crs | crs-assists-llm "
    "(default: agent with an LLM, else crs-only)",
)
USER_OPT = typer.Option("chat-user", "--user-id", help="whose profile memory the agent keeps")
THREAD_OPT = typer.Option(None, "--thread-id", help="continue this conversation (default: a new one)")
SCRIPT_OPT = typer.Option(None, "--script", help="play these user messages (one a line) instead of prompting")
HOME_OPT = typer.Option(None, "--home", help="data home (default $CRSAGENT_HOME or ./.crsagent)")


def chat(
    domain: str = DOMAIN_OPT,
    variant: str | None = VARIANT_OPT,
    llm_base_url: str | None = typer.Option(
        None, "--llm-base-url", help="OpenAI-compatible LLM server (default $CRSAGENT_LLM_BASE_URL)"
    ),
    llm_model: str | None = typer.Option(
        None, "--llm-model", help="served model name (default: asked from the server)"
    ),
    user_id: str = USER_OPT,
    thread_id: str | None = THREAD_OPT,
    script: Path | None = SCRIPT_OPT,
    home: Path | None = HOME_OPT,
) -> None:
    """Chat with the agent: replies, recommendations and why. Scripted without a TTY."""
    with cli_errors():
        settings = settings_from(home, llm_base_url=llm_base_url, llm_model=llm_model)
        lines = _script_lines(script)
        failed = _run(create_runner(settings, domain, default_variant(settings, variant)), user_id, thread_id, lines)
    if failed:
        err_console.print(f"[red]{failed} turn(s) failed[/red]")
        raise typer.Exit(1)


def _ensure_built(settings: Settings, domain: str) -> None:
    from crsagent.tools.artifacts import ArtifactStore
    from crsagent.tools.pipeline import BuildContext, run_build

    with progress_factory() as start:
        ctx = BuildContext(
            settings=settings,
            domain=domain,
            store=ArtifactStore(settings.home, domain),
            progress=start,
            log=lambda msg: err_console.log(msg),
        )
        for r in run_build(ctx):
            if r.built:
                err_console.print(f"{domain}/{r.name}: built in {r.seconds:.1f}s")


def demo(
    domain: str = DOMAIN_OPT,
    variant: str | None = VARIANT_OPT,
    user_id: str = typer.Option("demo-user", "--user-id", help="whose profile memory the agent keeps"),
    script: Path | None = SCRIPT_OPT,
    port: int = typer.Option(0, "--port", help="LLM server port (0 picks a free one)"),
    ready_timeout: float = typer.Option(600.0, "--ready-timeout", help="seconds to wait for the LLM server"),
    home: Path | None = HOME_OPT,
) -> None:
    """Build what is missing, start the bundled LLM (vLLM CPU, SmolLM2), chat with it, stop it."""
    from crsagent.agent.llm.server import LLMServerConfig, serve

    def say(msg: str) -> None:
        err_console.print(f"[dim]{time.strftime('%H:%M:%S')}[/dim] {msg}")

    def on_term(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt  # unwinds through the finally below, which stops the server

    failed, interrupted = 0, False
    with cli_errors():
        settings = settings_from(home)
        lines = _script_lines(script)
        _ensure_built(settings, domain)
        previous = signal.signal(signal.SIGTERM, on_term)
        server = None
        try:
            server = serve(settings.home, LLMServerConfig(port=port), ready_timeout_s=ready_timeout, log=say)
            say(f"LLM ready in {server.ready_s} s at {server.base_url} ({server.model_name})")
            chat_settings = replace(settings, llm_base_url=server.base_url, llm_model=server.model_name)
            failed = _run(
                create_runner(chat_settings, domain, default_variant(chat_settings, variant)), user_id, None, lines
            )
        except KeyboardInterrupt:
            interrupted = True
            say("interrupted")
        finally:
            if server is not None:
                say("stopping the LLM server")
                code = server.stop()
                say(f"LLM server stopped (exit code {code})")
            signal.signal(signal.SIGTERM, previous)
    if interrupted:
        raise typer.Exit(130)
    if failed:
        err_console.print(f"[red]{failed} turn(s) failed[/red]")
        raise typer.Exit(1)
