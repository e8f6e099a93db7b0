"""``crsagent build``: the catalogue, the vector index and the recommender models."""

from __future__ import annotations

from pathlib import Path

import typer

from crsagent.agent.cli.common import cli_errors, console, err_console, progress_factory, settings_from

__all__ = ["build"]


def build(
    domain: list[str] = typer.Option(["movies"], "--domain", "-d", help="movies | office (repeatable)"),
    home: Path | None = typer.Option(None, "--home", help="data home (default $CRSAGENT_HOME or ./.crsagent)"),
    stage: list[str] = typer.Option([], "--stage", help="build only these stages (and what they need)"),
    force: bool = typer.Option(False, "--force", help="rebuild even when the inputs did not change"),
) -> None:
    """Build everything a domain needs into the data home; unchanged inputs make it a no-op."""
    from crsagent.tools.artifacts import ArtifactStore
    from crsagent.tools.pipeline import BuildContext, run_build

    settings = settings_from(home)
    with cli_errors(), progress_factory() as start:
        for d in domain:
            ctx = BuildContext(
                settings=settings,
                domain=d,
                store=ArtifactStore(settings.home, d),
                progress=start,
                force=force,
                log=lambda msg: err_console.log(msg),
            )
            for r in run_build(ctx, only=stage or None):
                state = "built" if r.built else "up to date"
                console.print(f"{d}/{r.name}: {state} in {r.seconds:.1f}s -> {r.path}")
            if settings.chroma_url and (not stage or "search" in stage):  # the index onto the chroma server
                from crsagent.tools.search.stage import publish_index

                pub = publish_index(settings, d)
                state = "published" if pub["published"] else "already there"
                console.print(
                    f"{d}/search: {state} on {settings.chroma_url} as {pub['collection']} ({pub['items']} items)"
                )
