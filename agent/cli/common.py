"""Helpers shared by CLI commands: settings, rich console, progress, JSON output, errors."""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from crsagent.agent.errors import CrsAgentError
from crsagent.agent.settings import Settings

__all__ = [
    "HELP_MARKUP",
    "console",
    "err_console",
    "settings_from",
    "progress_factory",
    "write_json",
    "emit_json",
    "cli_errors",
]

console = Console()
err_console = Console(stderr=True)
#: How ``--help`` renders docstrings: Markdown reflows every paragraph to the terminal's width
#: (typer's "rich" mode keeps the source's line breaks after the first paragraph).
HELP_MARKUP: Literal["markdown"] = "markdown"


def settings_from(home: Path | None = None, **overrides: Any) -> Settings:
    """Settings from the environment, with CLI options on top."""
    return Settings.from_env(home=home, **overrides)


@contextmanager
def progress_factory() -> Iterator[Callable[[str, int | None], Callable[[int], None]]]:
    """A rich progress display; yields ``start(description, total) -> advance(n)``.

    Progress goes to stderr so stdout keeps only results (the last line a JSON object).
    """
    with Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=False,
    ) as prog:

        def start(description: str, total: int | None) -> Callable[[int], None]:
            task = prog.add_task(description, total=total)

            def advance(n: int = 1) -> None:
                prog.advance(task, n)

            return advance

        yield start


def write_json(obj: dict[str, Any], path: Path) -> None:
    """Write ``obj`` as indented JSON to ``path`` atomically (a temporary file renamed over it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
    with os.fdopen(fd, "w") as fh:
        fh.write(json.dumps(obj, indent=2, default=float) + "\n")
    os.replace(tmp, path)


def emit_json(obj: dict[str, Any], path: Path | None) -> None:
    """Write ``obj`` atomically to ``path`` (if given) and print it as the last stdout line."""
    text = json.dumps(obj, sort_keys=False, default=float)
    if path is not None:
        write_json(obj, Path(path))
    sys.stdout.flush()
    print(text, flush=True)


@contextmanager
def cli_errors() -> Iterator[None]:
    """Turn crsagent's typed errors into a red message and exit code 1 (no traceback)."""
    try:
        yield
    except CrsAgentError as exc:
        err_console.print(f"[red]error:[/red] {type(exc).__name__}: {exc}")
        raise typer.Exit(1) from exc
