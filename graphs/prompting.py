"""Prompt files (``prompts/*.md``) and the pieces of turn data rendered into them.

Prompts are data files of the ``crsagent.prompts`` package, filled with ``string.Template``
(``$name``), so braces in examples need no escaping.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from functools import lru_cache
from string import Template
from typing import TYPE_CHECKING, Any

from crsagent.graphs.belief import Belief, belief_view
from crsagent.prompts.loader import load_prompt
from langchain_core.messages import AIMessage, AnyMessage, HumanMessage

if TYPE_CHECKING:  # pragma: no cover
    from crsagent.graphs.state import Candidate
    from crsagent.tools.toolkit import Toolkit

__all__ = ["prompt_text", "render", "dialogue", "dialogue_text", "belief_summary", "candidate_lines"]


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


def dialogue(messages: Sequence[AnyMessage], window: int) -> list[AnyMessage]:
    """The last ``window`` user and assistant messages, as plain messages (no tool traffic)."""
    out: list[AnyMessage] = []
    for m in messages:
        if isinstance(m, HumanMessage):
            out.append(HumanMessage(content=m.text))
        elif isinstance(m, AIMessage) and not m.tool_calls and m.text.strip():
            out.append(AIMessage(content=m.text))
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
