"""Prompt files (``prompts/*.md``) and the pieces of turn data rendered into them.

Prompts are data files of the ``crsagent.prompts`` package, filled with ``string.Template``
(``$name``), so braces in examples need no escaping.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from string import Template
from typing import TYPE_CHECKING, Any

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage

from crsagent.graphs.dialogue.belief import Belief, belief_view
from crsagent.prompts.loader import load_prompt

if TYPE_CHECKING:  # pragma: no cover
    from crsagent.graphs.state import Candidate
    from crsagent.tools.toolkit import Toolkit

__all__ = [
    "prompt_text",
    "render",
    "SHINGLE",
    "words",
    "instruction_shingles",
    "dialogue",
    "dialogue_text",
    "belief_summary",
    "candidate_lines",
]


@lru_cache(maxsize=32)
def prompt_text(name: str) -> str:
    """The text of ``prompts/<name>.md``.

    Raises:
        ConfigError: no such prompt file (from :func:`crsagent.prompts.loader.load_prompt`).
    """
    return load_prompt(f"{name}.md")


def render(name: str, **values: Any) -> str:
    """A prompt file with ``$placeholders`` filled (unknown ones are left as written)."""
    return Template(prompt_text(name)).safe_substitute({k: str(v) for k, v in values.items()})


#: Words in a row of a prompt's fixed text that count as repeating it (see :func:`instruction_shingles`).
SHINGLE = 6


def words(text: str) -> list[str]:
    """The lower-cased words of a text (what shingles are made of)."""
    return re.findall(r"\w+", text.lower())


@lru_cache(maxsize=1)
def instruction_shingles() -> frozenset[tuple[str, ...]]:
    """Every run of :data:`SHINGLE` words of the prompt files' fixed text (placeholders cut it).

    A reply that repeats one is repeating the agent's instructions (the turn's data rendered into
    the prompt, such as candidates and their reasons, is not part of the fixed text).
    """
    from crsagent.prompts.loader import PROMPTS_DIR

    out: set[tuple[str, ...]] = set()
    for path in sorted(PROMPTS_DIR.glob("*.md")):
        for part in re.split(r"\$\w+", path.read_text(encoding="utf-8")):
            w = words(part)
            out.update(tuple(w[i : i + SHINGLE]) for i in range(len(w) - SHINGLE + 1))
    return frozenset(out)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3].rstrip() + "..."


def dialogue(messages: Sequence[AnyMessage], window: int, max_chars: int = 400) -> list[AnyMessage]:
    """The last ``window`` user and assistant messages, as plain messages (no tool traffic).

    Each message is clipped to ``max_chars`` so a small model's context is not spent on old
    replies (the belief summary carries what they established).
    """
    out: list[AnyMessage] = []
    for m in messages:
        if isinstance(m, HumanMessage):
            out.append(HumanMessage(content=_clip(m.text, max_chars)))
        elif isinstance(m, AIMessage) and not m.tool_calls and m.text.strip():
            out.append(AIMessage(content=_clip(m.text, max_chars)))
    return out[-window:]


def dialogue_text(messages: Sequence[AnyMessage], window: int = 6) -> str:
    """The user's recent words as one text (for the intent scorer)."""
    users = [m.text for m in messages if isinstance(m, HumanMessage)]
    return " ".join(users[-window:])[-2000:] if window > 0 else ""


def belief_summary(toolkit: Toolkit, belief: Belief) -> str:
    """The belief in a few lines, with titles instead of ids."""
    v = belief_view(belief)
    lines = []
    if v["liked"]:
        lines.append("Liked: " + "; ".join(toolkit.title(x["item_id"]) for x in v["liked"][-5:]))
    if v["disliked"]:
        lines.append("Disliked or turned down: " + "; ".join(toolkit.title(x["item_id"]) for x in v["disliked"][-5:]))
    if v["genres_liked"]:
        lines.append("Wants genres: " + ", ".join(v["genres_liked"]))
    if v["genres_disliked"]:
        lines.append("Avoids genres: " + ", ".join(v["genres_disliked"]))
    if v["people_liked"]:
        lines.append("Likes people: " + ", ".join(v["people_liked"]))
    if v["constraints"]:
        lines.append("Constraints: " + json.dumps(v["constraints"]))
    if v["soft"]:
        lines.append("In their words: " + " / ".join(v["soft"][-3:]))
    return "\n".join(lines) or "Nothing known yet."


def candidate_lines(
    toolkit: Toolkit,
    candidates: Sequence[Candidate],
    explanations: Mapping[str, str] | None = None,
    n: int = 8,
) -> str:
    """Candidates as numbered lines: title, facts, scores, explanation."""
    lines = []
    for k, c in enumerate(candidates[:n], 1):
        it = toolkit.item(c["item_id"])
        if it is None:
            continue
        facts = []
        if it.genres:
            facts.append("/".join(it.genres[:3]))
        if it.directors:
            facts.append("dir. " + ", ".join(it.directors[:1]))
        if it.brand:
            facts.append(it.brand)
        sig = ", ".join(f"{s}={v:.2f}" for s, v in c["signals"].items() if v)
        line = f"{k}. {it.display_title} [{'; '.join(facts)}] score={c['score']:.2f} ({sig})"
        why = (explanations or {}).get(c["item_id"])
        if why:
            line += f"\n   why: {why}"
        lines.append(line)
    return "\n".join(lines) or "(no candidates)"
