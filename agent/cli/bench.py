"""`crsagent bench ...` commands."""

from __future__ import annotations

from pathlib import Path

import typer

from crsagent.agent.cli.common import HELP_MARKUP

__all__ = ["app"]

app = typer.Typer(
    rich_markup_mode=HELP_MARKUP, no_args_is_help=True, help="Benchmarks: tools, a turn, the API, soak, replicas."
)


@app.command("api")
def api(
    json_path: Path | None = typer.Option(None, "--json", help="also write the report here"),
    sessions: int = typer.Option(32, "--sessions", min=1, help="concurrent conversations"),
    turns: int = typer.Option(5, "--turns", min=1, help="turns per conversation"),
    domain: str = typer.Option("movies", "--domain", "-d", help="movies | office"),
    variant: str = typer.Option("full", "--variant", help="graph variant to load"),
    stream: bool = typer.Option(False, "--stream", help="stream the API answers; report ttft/turn p50 and p95"),
    llm_base_url: str | None = typer.Option(
        None, "--llm-base-url", help="serve with this LLM server instead of the fake (the API load only)"
    ),
    home: Path | None = typer.Option(None, "--home", help="data home (default $CRSAGENT_HOME or ./.crsagent)"),
) -> None:
    """Load the HTTP API (instant fake LLM) and the in-process agent the same way; compare. With
    --llm-base-url: only the API, served with that LLM (--stream: time to first token)."""
    from crsagent.agent.cli.common import cli_errors, emit_json, progress_factory, settings_from
    from crsagent.evals.bench.api import run_api_bench

    with cli_errors(), progress_factory() as start:
        report = run_api_bench(
            settings_from(home),
            sessions=sessions,
            turns=turns,
            domain=domain,
            variant=variant,
            progress=start,
            stream=stream,
            llm_base_url=llm_base_url,
        )
    emit_json(report, json_path)


@app.command("turn")
def turn(
    json_path: Path | None = typer.Option(None, "--json", help="also write the report here"),
    turns: int = typer.Option(60, "--turns", min=1, help="measured turns with the instant fake LLM"),
    llm_base_url: str | None = typer.Option(
        None, "--llm-base-url", help="also measure this OpenAI-compatible LLM server"
    ),
    llm_model: str | None = typer.Option(
        None, "--llm-model", help="served model name (default: asked from the server)"
    ),
    llm_turns: int = typer.Option(8, "--llm-turns", min=1, help="measured turns with the real LLM"),
    domain: str = typer.Option("movies", "--domain", "-d", help="catalogue (the dialogues are ReDial movie dialogues)"),
    variant: str = typer.Option("full", "--variant", help="graph variant"),
    stream: bool = typer.Option(True, "--stream/--no-stream", help="stream the turns (as crsagent chat does)"),
    home: Path | None = typer.Option(None, "--home", help="data home (default $CRSAGENT_HOME or ./.crsagent)"),
) -> None:
    """Per-turn overhead with an instant fake LLM (everything but generation); optionally a real LLM."""
    from crsagent.agent.cli.common import cli_errors, emit_json, progress_factory, settings_from
    from crsagent.evals.bench.turn import run_turn_bench

    with cli_errors(), progress_factory() as start:
        report = run_turn_bench(
            settings_from(home),
            turns=turns,
            domain=domain,
            variant=variant,
            llm_base_url=llm_base_url,
            llm_model=llm_model,
            llm_turns=llm_turns,
            progress=start,
            stream=stream,
        )
    emit_json(report, json_path)


@app.command("tools")
def tools(
    json_path: Path | None = typer.Option(None, "--json", help="also write the report here"),
    domain: str = typer.Option("movies", "--domain", "-d", help="movies | office"),
    no_rebuild: bool = typer.Option(
        False, "--no-rebuild", help="reuse the data home instead of timing a build from scratch"
    ),
    queries: int = typer.Option(240, "--queries", min=1, help="timed filters and searches (each)"),
    home: Path | None = typer.Option(None, "--home", help="data home (default $CRSAGENT_HOME or ./.crsagent)"),
) -> None:
    """Build time, product-database filter and vector-search latency, entity-linker accuracy and speed."""
    from crsagent.agent.cli.common import cli_errors, emit_json, err_console, progress_factory, settings_from
    from crsagent.evals.bench.tools import run_tools_bench

    with cli_errors(), progress_factory() as start:
        report = run_tools_bench(
            settings_from(home),
            domain=domain,
            rebuild=not no_rebuild,
            n_queries=queries,
            progress=start,
            log=lambda msg: err_console.log(msg),
        )
    emit_json(report, json_path)


@app.command("soak")
def soak(
    minutes: float = typer.Option(5.0, "--minutes", min=0.05, help="how long the measured load runs"),
    json_path: Path | None = typer.Option(None, "--json", help="also write the report here"),
    sessions: int = typer.Option(16, "--sessions", min=1, help="concurrent clients"),
    turns: int = typer.Option(10, "--turns", min=1, help="turns per conversation before a client starts a new one"),
    domain: str = typer.Option("movies", "--domain", "-d", help="movies | office"),
    variant: str = typer.Option("full", "--variant", help="graph the model 'crsagent' runs (instant fake LLM)"),
    home: Path | None = typer.Option(None, "--home", help="data home (default $CRSAGENT_HOME or ./.crsagent)"),
) -> None:
    """A long steady load on `crsagent serve --fake-llm`: p50/p95/p99 per minute and the server's memory growth."""
    from crsagent.agent.cli.common import cli_errors, emit_json, progress_factory, settings_from
    from crsagent.evals.bench.soak import run_soak

    with cli_errors(), progress_factory() as start:
        report = run_soak(
            settings_from(home),
            minutes=minutes,
            sessions=sessions,
            turns=turns,
            domain=domain,
            variant=variant,
            progress=start,
        )
    emit_json(report, json_path)


@app.command("replicas")
def replicas(
    replicas: int = typer.Option(2, "--replicas", min=1, help="API replicas (crsagent serve --fake-llm processes)"),
    json_path: Path | None = typer.Option(None, "--json", help="also write the report here"),
    sessions: int = typer.Option(8, "--sessions", min=1, help="concurrent conversations"),
    turns: int = typer.Option(6, "--turns", min=1, help="turns per conversation"),
    burst: int = typer.Option(2, "--burst", min=1, help="turns of one session sent at once, each to another replica"),
    domain: str = typer.Option("movies", "--domain", "-d", help="movies | office"),
    variant: str = typer.Option("agent", "--variant", help="graph the replicas run (instant fake LLM)"),
    home: Path | None = typer.Option(None, "--home", help="data home (default $CRSAGENT_HOME or ./.crsagent)"),
) -> None:
    """N API replicas on one PostgreSQL and a chroma server (loopback): lost and interleaved turns, latency."""
    from crsagent.agent.cli.common import cli_errors, emit_json, progress_factory, settings_from
    from crsagent.evals.bench.replicas import run_replicas_bench

    with cli_errors(), progress_factory() as start:
        report = run_replicas_bench(
            settings_from(home),
            replicas=replicas,
            sessions=sessions,
            turns=turns,
            burst=burst,
            domain=domain,
            variant=variant,
            progress=start,
        )
    emit_json(report, json_path)
