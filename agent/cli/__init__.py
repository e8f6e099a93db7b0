"""The ``crsagent`` command line (typer + rich).

Commands are thin: they read settings, then call library functions. Long work shows rich
progress bars; benchmarks and evaluations print one JSON object as their last stdout line.
"""

from __future__ import annotations

import typer

from crsagent.agent.cli import bench, build, chat, eval_tune, evals, llm, llm_tune, serve
from crsagent.agent.cli.common import HELP_MARKUP

__all__ = ["app", "main"]

app = typer.Typer(
    rich_markup_mode=HELP_MARKUP,
    name="crsagent",
    help="LLM-driven conversational recommendation: build, serve, chat, evaluate, benchmark.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command("build")(build.build)
app.command("serve")(serve.serve)
app.command("chat")(chat.chat)
app.command("demo")(chat.demo)
llm.app.command("tune")(llm_tune.tune)
evals.app.add_typer(eval_tune.app, name="tune")
app.add_typer(llm.app, name="llm")
app.add_typer(evals.app, name="eval")
app.add_typer(bench.app, name="bench")


def main() -> None:
    """Console-script entry point."""
    app()
