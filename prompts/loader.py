"""A thin loader for the prompt and chat-template files shipped in ``crsagent.prompts``.

Prompts are data: Markdown / Jinja / JSON files next to this module (prompt texts) and under
``templates/`` (chat templates handed to the LLM server). Code asks for them by name.
"""

from __future__ import annotations

from pathlib import Path

from crsagent.agent.errors import ConfigError

__all__ = [
    "PROMPTS_DIR",
    "TEMPLATES_DIR",
    "prompt_path",
    "load_prompt",
    "template_path",
    "load_template",
    "list_templates",
]

#: The folder holding prompt files.
PROMPTS_DIR = Path(__file__).resolve().parent
#: The folder holding chat templates.
TEMPLATES_DIR = PROMPTS_DIR / "templates"


def _resolve(folder: Path, name: str) -> Path:
    path = (folder / name).resolve()
    if folder.resolve() not in path.parents:
        raise ConfigError(f"prompt name {name!r} leaves {folder}")
    if not path.is_file():
        known = ", ".join(sorted(p.name for p in folder.iterdir() if p.is_file() and not p.name.endswith(".py")))
        raise ConfigError(f"no prompt file {name!r} in {folder} (known: {known or 'none'})")
    return path


def prompt_path(name: str) -> Path:
    """The path of prompt file ``name`` (for example ``understand.md``)."""
    return _resolve(PROMPTS_DIR, name)


def load_prompt(name: str) -> str:
    """The text of prompt file ``name``."""
    return prompt_path(name).read_text(encoding="utf-8")


def template_path(name: str) -> Path:
    """The path of chat template ``name`` under ``templates/`` (for example ``chatml_tools.jinja``)."""
    return _resolve(TEMPLATES_DIR, name)


def load_template(name: str) -> str:
    """The text of chat template ``name``."""
    return template_path(name).read_text(encoding="utf-8")


def list_templates() -> list[str]:
    """Names of the shipped chat templates."""
    return sorted(p.name for p in TEMPLATES_DIR.iterdir() if p.is_file())
