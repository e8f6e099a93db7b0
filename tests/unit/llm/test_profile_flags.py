"""Model profiles pick vLLM's tool parser and chat template per family; explicit settings win."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner

from crsagent.agent.cli import app
from crsagent.agent.errors import ConfigError
from crsagent.agent.llm.profiles import DEFAULT_PROFILE, PROFILES, ModelProfile, profile_for, serve_flags
from crsagent.agent.llm.server import LLMServerConfig, server_command
from crsagent.prompts.loader import list_templates, template_path

FAMILIES = [
    # (model name, profile, parser, template file or None for the model's own)
    ("Qwen/Qwen2.5-7B-Instruct", "qwen", "hermes", None),
    ("Qwen/Qwen3-8B", "qwen", "hermes", None),
    ("NousResearch/Hermes-3-Llama-3.1-8B", "hermes", "hermes", None),
    ("NousResearch/Hermes-2-Pro-Mistral-7B", "hermes", "hermes", None),
    ("meta-llama/Llama-3.1-8B-Instruct", "llama3", "llama3_json", "llama3_json_tools.jinja"),
    ("meta-llama/Llama-3.2-3B-Instruct", "llama3", "llama3_json", "llama3_json_tools.jinja"),
    ("/models/Meta-Llama-3.1-70B-Instruct", "llama3", "llama3_json", "llama3_json_tools.jinja"),
    ("mistralai/Mistral-7B-Instruct-v0.3", "mistral", "mistral", "mistral_tools.jinja"),
    ("HuggingFaceTB/SmolLM2-1.7B-Instruct", "smollm2", "hermes", "chatml_tools.jinja"),
]


def _flag(cmd: list[str], name: str) -> str | None:
    return cmd[cmd.index(name) + 1] if name in cmd else None


@pytest.mark.parametrize(("model", "family", "parser", "template"), FAMILIES)
def test_profile_names_the_familys_parser_and_template(model, family, parser, template):
    prof = profile_for(model)
    assert (prof.name, prof.tool_call_parser, prof.chat_template) == (family, parser, template)


@pytest.mark.parametrize(("model", "family", "parser", "template"), FAMILIES)
def test_gpu_command_carries_the_profiles_flags(model, family, parser, template):
    config = LLMServerConfig(model=model, device="gpu")
    cmd = server_command(Path("py"), model, config, 8000)
    assert "--enable-auto-tool-choice" in cmd
    assert _flag(cmd, "--tool-call-parser") == parser
    assert _flag(cmd, "--chat-template") == (str(template_path(template)) if template else None)
    assert cmd.count("--tool-call-parser") == 1 and cmd.count("--chat-template") <= 1


def test_the_bundled_model_keeps_hermes_and_its_tools_template():
    cmd = server_command(Path("py"), "/home/llm/models/smollm2-135m-instruct", LLMServerConfig(), 8001)
    assert LLMServerConfig().profile().name == "smollm2"
    assert _flag(cmd, "--tool-call-parser") == "hermes"
    assert _flag(cmd, "--chat-template") == str(template_path("chatml_tools.jinja"))


def test_explicit_parser_and_template_override_the_profile(tmp_path):
    mine = tmp_path / "mine.jinja"
    config = LLMServerConfig(model="meta-llama/Llama-3.1-8B-Instruct", device="gpu", tool_call_parser="pythonic",
                          chat_template=mine)  # fmt: skip
    cmd = server_command(Path("py"), config.model, config, 8000)
    assert _flag(cmd, "--tool-call-parser") == "pythonic" and _flag(cmd, "--chat-template") == str(mine)
    assert "llama3_json" not in " ".join(cmd)


def test_parser_none_turns_auto_tool_choice_off_but_keeps_the_template():
    config = LLMServerConfig(model="mistralai/Mistral-7B-Instruct-v0.3", device="gpu", tool_call_parser="none")
    cmd = server_command(Path("py"), config.model, config, 8000)
    assert "--enable-auto-tool-choice" not in cmd and "--tool-call-parser" not in cmd
    assert _flag(cmd, "--chat-template") == str(template_path("mistral_tools.jinja"))


def test_unknown_models_get_no_guessed_tool_format():
    config = LLMServerConfig(model="org/some-unknown-7b", device="gpu")
    assert config.profile() is DEFAULT_PROFILE and DEFAULT_PROFILE.tool_call_parser is None
    cmd = server_command(Path("py"), config.model, config, 8000)
    assert "--enable-auto-tool-choice" not in cmd and "--chat-template" not in cmd


def test_a_local_folder_with_an_opaque_name_falls_back_to_the_served_name():
    config = LLMServerConfig(model="/ckpt/run-17", served_model_name="Qwen2.5-7B-Instruct-ft", device="gpu")
    assert config.profile().name == "qwen"
    assert _flag(server_command(Path("py"), config.model, config, 8000), "--tool-call-parser") == "hermes"


def test_every_profile_template_ships_and_every_served_family_has_a_parser():
    shipped = set(list_templates())
    for prof in PROFILES:
        if prof.chat_template:
            assert prof.chat_template in shipped, prof.name
        if prof.name != "openai":  # hosted by OpenAI, not by vLLM
            assert prof.tool_call_parser, prof.name


def test_serve_flags_rejects_a_template_that_is_not_shipped():
    prof = ModelProfile(name="x", pattern="x", tool_call_parser="hermes", chat_template="missing.jinja")
    with pytest.raises(ConfigError, match="missing.jinja"):
        serve_flags(prof)
    assert serve_flags(prof, chat_template="/abs/t.jinja")[-2:] == ["--chat-template", "/abs/t.jinja"]


@pytest.mark.parametrize(
    ("args", "parser", "template"),
    [
        (["--model", "Qwen/Qwen2.5-7B-Instruct"], "hermes", None),
        (["--model", "meta-llama/Llama-3.1-8B-Instruct"], "llama3_json", "llama3_json_tools.jinja"),
        (["--model", "mistralai/Mistral-7B-Instruct-v0.3"], "mistral", "mistral_tools.jinja"),
        (
            ["--model", "meta-llama/Llama-3.1-8B-Instruct", "--tool-call-parser", "hermes"],
            "hermes",
            "llama3_json_tools.jinja",
        ),
    ],
)
def test_cli_serve_gpu_picks_the_flags_from_the_model_name(tmp_path, args, parser, template):
    result = CliRunner().invoke(app, ["llm", "serve", "--device", "gpu", "--dry-run", "--home", str(tmp_path), *args])
    assert result.exit_code == 0, result.output
    cmd = shlex.split(result.stdout.strip().splitlines()[-1])
    assert cmd[0] == str(tmp_path / "llm" / "venv-gpu" / "bin" / "python")
    assert _flag(cmd, "--model") == args[1] and _flag(cmd, "--tool-call-parser") == parser
    assert _flag(cmd, "--chat-template") == (str(template_path(template)) if template else None)
    assert "--enforce-eager" not in cmd and _flag(cmd, "--dtype") == "auto"
    assert not (tmp_path / "llm").exists()  # a dry run sets nothing up


def test_cli_serve_passes_an_explicit_template_through(tmp_path, monkeypatch):
    seen = {}

    def fake_serve(home, config, **_kw):
        seen["config"] = config
        raise ConfigError("stop here")

    monkeypatch.setattr("crsagent.agent.llm.server.serve", fake_serve)
    mine = tmp_path / "t.jinja"
    result = CliRunner().invoke(app, ["llm", "serve", "--device", "gpu", "--model", "Qwen/Qwen2.5-7B-Instruct",
                                      "--chat-template", str(mine), "--home", str(tmp_path)])  # fmt: skip
    assert result.exit_code != 0 and "stop here" in result.output
    config = seen["config"]
    assert config.tool_call_parser is None and config.chat_template == mine
    assert _flag(server_command(Path("py"), config.model, config, 1), "--chat-template") == str(mine)
