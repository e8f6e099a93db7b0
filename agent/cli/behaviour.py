"""``crsagent eval behaviour``: the dialogue behaviour suite (issue 21) on one variant."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

__all__ = ["behaviour_cmd", "make_agents"]


def make_agents(settings: Any, variant: str, domains: list[str]) -> dict[str, Any]:
    """One agent per domain, on in-memory checkpoints (the suite leaves no threads behind)."""
    from langgraph.checkpoint.memory import InMemorySaver
    from langgraph.store.memory import InMemoryStore

    from crsagent.graphs.runner import CRSAgent

    return {
        d: CRSAgent.create(settings, domain=d, variant=variant, checkpointer=InMemorySaver(), store=InMemoryStore())
        for d in domains
    }


def behaviour_cmd(
    variant: str = typer.Option("crs-only", help="Agent variant."),
    category: list[str] = typer.Option([], "--category", help="Only these categories (repeatable)."),
    conversations: Path | None = typer.Option(
        None, help="Folder of conversation YAML files (default: the bundled suite)."
    ),
    json_path: Path = typer.Option(Path("out/behaviour.json"), "--json", help="Where to write the summary JSON."),
    home: Path | None = typer.Option(None, "--home", help="Data home (default $CRSAGENT_HOME or ./.crsagent)."),
    llm_base_url: str | None = typer.Option(
        None, "--llm-base-url", help="OpenAI-compatible LLM server (LLM variants)."
    ),
) -> None:
    """Scripted multi-turn conversations with checked expectations: pass rate per category and the failures."""
    from crsagent.agent.cli.common import cli_errors, emit_json, err_console, progress_factory, settings_from
    from crsagent.agent.turns import VARIANTS
    from crsagent.evals.behaviour import CONVERSATIONS_DIR, load_conversations, run_behaviour

    if variant not in VARIANTS:
        raise typer.BadParameter(f"must be one of {', '.join(VARIANTS)}", param_hint="--variant")
    with cli_errors():
        settings = settings_from(home, llm_base_url=llm_base_url)
        convs = load_conversations(conversations or CONVERSATIONS_DIR)
        if category:
            convs = [c for c in convs if c.category in category]
        agents = make_agents(settings, variant, sorted({c.domain for c in convs}))
        with progress_factory() as progress:
            report = run_behaviour(agents, convs, variant=variant, progress=progress("behaviour", len(convs)))
        summary = report.summary()
        for name, c in summary["categories"].items():
            err_console.print(f"{name:14s} {c['passed']:3d}/{c['conversations']:<3d} {c['pass_rate']:.0%}")
        for f in summary["failures"]:
            err_console.print(f"[red]FAIL[/red] {f['id']} ({f['category']}): " + "; ".join(f["failures"][:3]))
        emit_json(summary, json_path)


def catalogue_cmd(
    json_path: Path = typer.Option(Path("out/catalogue-audit.json"), "--json", help="Where to write the audit JSON."),
    raw: bool = typer.Option(False, "--raw", help="Audit the join without the build's repairs (the 'before' count)."),
    home: Path | None = typer.Option(None, "--home", help="Data home (default $CRSAGENT_HOME or ./.crsagent)."),
) -> None:
    """Cross-check the joined movies catalogue: ReDial/MovieLens title and year vs the IMDb id,
    movie_info.json people vs the title, duplicate titles; lists every suspicious join with a reason."""
    from crsagent.agent.cli.common import cli_errors, emit_json, err_console, settings_from
    from crsagent.evals.catalogue_audit import run_audit

    with cli_errors():
        settings = settings_from(home)
        report = run_audit(settings, repaired=not raw)
        for kind, n in report["errors_by_kind"].items():
            err_console.print(f"{kind:24s} {n}")
        err_console.print(f"errors: {report['errors']}  (built catalogue: {report['built_errors']})")
        emit_json(report, json_path)
