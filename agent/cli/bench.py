"""`crsagent bench ...` commands."""

from __future__ import annotations

import typer

__all__ = ["app"]

app = typer.Typer(no_args_is_help=True, help="Benchmarks: tools, a turn, the API, soak.")
