"""LoRA adapters beside the base model: checks, vLLM flags, the bundled default, model discovery."""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from typer.testing import CliRunner

from crsagent.agent.cli import app
from crsagent.agent.cli.eval_agent import bundled_configs, split_models
from crsagent.agent.errors import ConfigError
from crsagent.agent.llm import lora
from crsagent.agent.llm.client import discover_model
from crsagent.agent.llm.lora import (
    TUNED_MODEL_NAME,
    LoRAModule,
    bundled_adapters,
    lora_flags,
    parse_lora_module,
    read_adapter,
)
from crsagent.agent.llm.merge import BASE_LORA
from crsagent.agent.llm.real_llm_switch import allow_real_llm
from crsagent.agent.llm.server import LLMServerConfig, resolve_adapters, server_command, tuned_model_dir
from crsagent.agent.llm.weights import BUNDLED_MODEL_NAME
from crsagent.tests.support.loopback import loopback_server


def _adapter(folder: Path, rank: int = 16, weights: bool = True, **extra: object) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "adapter_config.json").write_text(
        json.dumps({"peft_type": "LORA", "r": rank, "lora_alpha": 2 * rank, **extra})
    )
    if weights:
        (folder / "adapter_model.safetensors").write_bytes(b"\0" * 8)
    return folder


def test_read_adapter_checks_the_folder(tmp_path: Path) -> None:
    module = read_adapter("crs", _adapter(tmp_path / "ok", rank=8))
    assert module == LoRAModule("crs", (tmp_path / "ok").resolve(), 8)
    with pytest.raises(ConfigError, match="adapter_config.json is missing"):
        read_adapter("x", tmp_path / "nothing")
    with pytest.raises(ConfigError, match="no weights"):
        read_adapter("x", _adapter(tmp_path / "noweights", weights=False))
    with pytest.raises(ConfigError, match="up to 512"):
        read_adapter("x", _adapter(tmp_path / "huge", rank=1024))
    with pytest.raises(ConfigError, match="LoRA adapters only"):
        read_adapter("x", _adapter(tmp_path / "ia3", peft_type="IA3"))
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "adapter_config.json").write_text("{nope")
    with pytest.raises(ConfigError, match="malformed"):
        read_adapter("x", tmp_path / "bad")


def test_parse_lora_module_takes_name_equals_path(tmp_path: Path) -> None:
    assert parse_lora_module(f"tuned={_adapter(tmp_path / 'a')}").name == "tuned"
    for spec in ("tuned", "=x", f"{tmp_path}/a"):
        with pytest.raises(ConfigError):
            parse_lora_module(spec)


def test_lora_flags_cover_every_rank_and_name() -> None:
    assert lora_flags([]) == []
    one = lora_flags([LoRAModule("crs", Path("/a"), 16)])
    assert one == ["--enable-lora", "--max-lora-rank", "16", "--max-loras", "1", "--lora-modules", "crs=/a"]
    two = lora_flags([LoRAModule("a", Path("/a"), 12), LoRAModule("b", Path("/b"), 40)])
    assert two[two.index("--max-lora-rank") + 1] == "64" and two[two.index("--max-loras") + 1] == "2"
    assert two[-2:] == ["a=/a", "b=/b"]
    comma = lora_flags([LoRAModule("c", Path("/x,y"), 8)])
    assert json.loads(comma[-1]) == {"name": "c", "path": "/x,y"}  # vLLM reads a comma as JSON
    with pytest.raises(ConfigError, match="differ"):
        lora_flags([LoRAModule("a", Path("/a"), 8), LoRAModule("a", Path("/b"), 8)])


def test_bundled_adapter_is_served_when_present_and_said_when_missing(tmp_path: Path) -> None:
    said: list[str] = []
    assert bundled_adapters(tmp_path / "missing", log=said.append) == ()
    assert "serving the base model only" in said[-1]
    (found,) = bundled_adapters(_adapter(tmp_path / "crs"), log=said.append)
    assert found.name == TUNED_MODEL_NAME and "found the tuned adapter" in said[-1]
    with pytest.raises(ConfigError):  # present but broken: loud, not a silent fallback
        bundled_adapters(_adapter(tmp_path / "broken", weights=False))


def test_resolve_adapters_serves_the_tuned_model_merged_by_default(tmp_path: Path, monkeypatch) -> None:
    adapter = _adapter(tmp_path / TUNED_MODEL_NAME)
    monkeypatch.setattr(lora, "bundled_adapter_dir", lambda: adapter)
    home = tmp_path / "home"
    config = resolve_adapters(LLMServerConfig(), home)
    merged = tuned_model_dir(home)
    assert config.model == str(merged) and config.merge_from == adapter.resolve()
    assert config.served_names() == (TUNED_MODEL_NAME, BUNDLED_MODEL_NAME)  # the checkpoint is the tuned one
    assert config.default_model() == TUNED_MODEL_NAME and config.profile().name == "smollm2-crs"
    cmd = server_command(Path("py"), config.model, config, 8001)
    assert cmd[cmd.index("--served-model-name") + 1] == TUNED_MODEL_NAME
    assert cmd[cmd.index("--lora-modules") + 1] == f"{BUNDLED_MODEL_NAME}={merged / BASE_LORA}"
    with pytest.raises(ConfigError, match="data home"):
        resolve_adapters(LLMServerConfig())


def test_resolve_adapters_lora_mode_explicit_choices_and_other_models(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(lora, "bundled_adapter_dir", lambda: _adapter(tmp_path / TUNED_MODEL_NAME))
    config = resolve_adapters(LLMServerConfig(tuned="lora"), tmp_path)
    assert config.model is None and config.served_names() == (BUNDLED_MODEL_NAME, TUNED_MODEL_NAME)
    assert config.default_model() == TUNED_MODEL_NAME
    cmd = server_command(Path("py"), "/m", config, 8001)
    assert cmd[cmd.index("--lora-modules") + 1] == f"{TUNED_MODEL_NAME}={tmp_path / TUNED_MODEL_NAME}"
    assert cmd[cmd.index("--served-model-name") + 1] == BUNDLED_MODEL_NAME
    # explicit choices stay; other models get none
    assert resolve_adapters(LLMServerConfig(lora_modules=()), tmp_path).served_names() == (BUNDLED_MODEL_NAME,)
    assert resolve_adapters(LLMServerConfig(device="gpu"), tmp_path).model is None  # still "needs --model" on GPU
    gpu = resolve_adapters(LLMServerConfig(model="Qwen/Qwen2.5-7B-Instruct", device="gpu"))
    assert gpu.lora_modules == () and "--enable-lora" not in server_command(Path("py"), "q", gpu, 8001)
    monkeypatch.setattr(lora, "bundled_adapter_dir", lambda: tmp_path / "absent")
    base_only = resolve_adapters(LLMServerConfig(), tmp_path)
    assert base_only.model is None and base_only.default_model() == BUNDLED_MODEL_NAME
    assert "--enable-lora" not in server_command(Path("py"), "/m", base_only, 1)


def test_dry_run_prints_the_lora_flags(tmp_path: Path) -> None:
    path = _adapter(tmp_path / "a")
    result = CliRunner().invoke(app, ["llm", "serve", "--dry-run", "--home", str(tmp_path), "--lora", f"crs={path}"])
    assert result.exit_code == 0, result.output
    assert f"--enable-lora --max-lora-rank 16 --max-loras 1 --lora-modules crs={path}" in result.output
    plain = CliRunner().invoke(app, ["llm", "serve", "--dry-run", "--home", str(tmp_path), "--no-lora"])
    assert (
        plain.exit_code == 0
        and "--enable-lora" not in plain.output
        and "--served-model-name smollm2-135m-instruct" in plain.output
    )
    both = CliRunner().invoke(
        app, ["llm", "serve", "--dry-run", "--home", str(tmp_path), "--no-lora", "--lora", f"crs={path}"]
    )
    assert both.exit_code == 2
    bogus = CliRunner().invoke(app, ["llm", "serve", "--dry-run", "--home", str(tmp_path), "--tuned", "fused"])
    assert bogus.exit_code == 2


def test_discovery_takes_the_merged_tuned_model_listed_first() -> None:
    listing = {
        "data": [{"id": TUNED_MODEL_NAME, "parent": None}, {"id": BUNDLED_MODEL_NAME, "parent": TUNED_MODEL_NAME}]
    }

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802
            body = json.dumps(listing).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    with loopback_server(Handler) as url, allow_real_llm():
        assert discover_model(url) == TUNED_MODEL_NAME  # the checkpoint, not the adapter that undoes it


def test_eval_agent_model_lists(tmp_path: Path, monkeypatch) -> None:
    assert split_models(["a", "b,c", " a ", ""]) == ["a", "b", "c"]
    monkeypatch.setattr(lora, "bundled_adapter_dir", lambda: _adapter(tmp_path / TUNED_MODEL_NAME))
    tuned, base = bundled_configs(tmp_path, [], None)  # one plain server each: no LoRA path
    assert (
        tuned.served_names() == (TUNED_MODEL_NAME,)
        and tuned.model == str(tuned_model_dir(tmp_path))
        and tuned.merge_from
    )
    assert base.served_names() == (BUNDLED_MODEL_NAME,) and base.model is None
    assert [c.model_name() for c in bundled_configs(tmp_path, [BUNDLED_MODEL_NAME], None)] == [BUNDLED_MODEL_NAME]
    with pytest.raises(ConfigError, match="not other"):
        bundled_configs(tmp_path, ["other"], None)
    monkeypatch.setattr(lora, "bundled_adapter_dir", lambda: tmp_path / "absent")
    assert [c.model_name() for c in bundled_configs(tmp_path, [], None)] == [BUNDLED_MODEL_NAME]
