"""`crsagent llm ...` commands."""

from __future__ import annotations

import typer

__all__ = ["app"]

app = typer.Typer(no_args_is_help=True, help="The LLM server: set up its environment and serve the bundled or any HF model.")
