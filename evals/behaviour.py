"""The dialogue behaviour suite: scripted multi-turn conversations with machine-checked expectations.

The conversations are data (``evals/conversations/*.yaml``): each has an ``id``, a
``category``, a ``domain`` and ``turns``; every turn is a ``user`` message and an optional
``expect`` mapping of checks (:mod:`crsagent.evals.behaviour_checks`). A conversation passes
when every expectation of every turn holds. The runner talks to any
:class:`~crsagent.agent.turns.AgentRunner` (one per domain) on a fresh thread per
conversation, so the same suite runs on ``crs-only`` and on the LLM variants.
"""

from __future__ import annotations

import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crsagent.agent.domains import registered_domains
from crsagent.agent.errors import DataError
from crsagent.evals.behaviour_checks import CHECKS, TurnView, check_turn

__all__ = [
    "CATEGORIES",
    "CONVERSATIONS_DIR",
    "Conversation",
    "ConversationResult",
    "BehaviourReport",
    "load_conversations",
    "run_conversation",
    "run_behaviour",
    "categories_of",
]

#: Where the suite's conversations live.
CONVERSATIONS_DIR = Path(__file__).resolve().parent / "conversations"
#: The categories of issue 21.
CATEGORIES: tuple[str, ...] = (
    "references",
    "comparatives",
    "corrections",
    "negation",
    "questions",
    "chitchat",
    "office",
)


@dataclass(frozen=True)
class Conversation:
    """One scripted conversation.

    Attributes:
        id: unique name.
        category: one of :data:`CATEGORIES`.
        domain: ``movies`` or ``office``.
        turns: ``{"user": str, "expect": {check: value}}`` in order.
        note: what the conversation tests, in words.
    """

    id: str
    category: str
    domain: str
    turns: tuple[Mapping[str, Any], ...]
    note: str = ""


@dataclass
class ConversationResult:
    """The outcome of one conversation.

    Attributes:
        id, category, domain: as in the conversation.
        failures: ``"turn N: check: why"`` for every expectation that did not hold.
        replies: the agent's replies, in order.
    """

    id: str
    category: str
    domain: str
    failures: list[str] = field(default_factory=list)
    replies: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """Whether every expectation held."""
        return not self.failures


@dataclass
class BehaviourReport:
    """The suite's outcome: per-category pass rates and the failures."""

    variant: str
    results: list[ConversationResult]
    seconds: float = 0.0

    @property
    def pass_rate(self) -> float:
        """Share of conversations that passed."""
        return sum(r.passed for r in self.results) / len(self.results) if self.results else 0.0

    def by_category(self) -> dict[str, dict[str, Any]]:
        """category -> {conversations, passed, pass_rate}."""
        groups: dict[str, list[ConversationResult]] = defaultdict(list)
        for r in self.results:
            groups[r.category].append(r)
        return {
            c: {
                "conversations": len(rs),
                "passed": sum(r.passed for r in rs),
                "pass_rate": round(sum(r.passed for r in rs) / len(rs), 4),
            }
            for c, rs in sorted(groups.items())
        }

    def summary(self) -> dict[str, Any]:
        """The report as one JSON-able object."""
        return {
            "variant": self.variant,
            "conversations": len(self.results),
            "passed": sum(r.passed for r in self.results),
            "pass_rate": round(self.pass_rate, 4),
            "categories": self.by_category(),
            "failures": [
                {"id": r.id, "category": r.category, "failures": r.failures} for r in self.results if not r.passed
            ],
            "seconds": round(self.seconds, 1),
        }


def _parse(raw: Any, source: Path) -> Conversation:
    if not isinstance(raw, Mapping):
        raise DataError("each conversation must be a mapping", source)
    missing = [k for k in ("id", "category", "domain", "turns") if k not in raw]
    if missing:
        raise DataError(f"conversation {raw.get('id', '?')}: missing {missing}", source)
    if raw["category"] not in CATEGORIES:
        raise DataError(f"conversation {raw['id']}: unknown category {raw['category']!r}", source)
    if raw["domain"] not in registered_domains():
        raise DataError(f"conversation {raw['id']}: unknown domain {raw['domain']!r}", source)
    turns = tuple(raw["turns"] or ())
    for n, t in enumerate(turns, 1):
        if not isinstance(t, Mapping) or not str(t.get("user", "")).strip():
            raise DataError(f"conversation {raw['id']}: turn {n} needs a user message", source)
        unknown = [k for k in (t.get("expect") or {}) if k not in CHECKS]
        if unknown:
            raise DataError(f"conversation {raw['id']}: turn {n}: unknown check(s) {unknown}", source)
    return Conversation(str(raw["id"]), raw["category"], raw["domain"], turns, str(raw.get("note", "")))


def load_conversations(folder: Path = CONVERSATIONS_DIR) -> list[Conversation]:
    """Every conversation in the YAML files of a folder, in file order.

    Raises:
        DataError: a malformed file, an unknown category, domain or check, or a duplicate id.
    """
    import yaml

    out: list[Conversation] = []
    for path in sorted(Path(folder).glob("*.yaml")):
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or []
        except yaml.YAMLError as exc:
            raise DataError(f"malformed YAML: {exc}", path) from exc
        out.extend(_parse(raw, path) for raw in data)
    ids = [c.id for c in out]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        raise DataError(f"duplicate conversation ids {dup}", Path(folder))
    return out


def run_conversation(agent: Any, conv: Conversation, item: Callable[[str], Any]) -> ConversationResult:
    """Play one conversation on a fresh thread and check its expectations.

    Args:
        agent: an agent runner of the conversation's domain (``turn(text, thread_id=...)``).
        conv: the conversation.
        item: catalogue lookup for the checks.
    """
    thread = f"behaviour-{conv.id}-{uuid.uuid4().hex[:8]}"
    results: list[Any] = []
    out = ConversationResult(conv.id, conv.category, conv.domain)
    for t in conv.turns:
        try:
            results.append(agent.turn(str(t["user"]), thread_id=thread))
        except Exception as exc:  # a crash is a failure of the conversation, not of the suite
            out.failures.append(f"turn {len(results) + 1}: raised {type(exc).__name__}: {exc}")
            return out
        out.replies.append(results[-1].reply)
    for n, (t, r) in enumerate(zip(conv.turns, results), 1):
        view = TurnView(result=r, history=results[: n - 1], item=item, later=results[n:])
        out.failures.extend(f"turn {n}: {msg}" for msg in check_turn(view, t.get("expect") or {}))
    return out


def run_behaviour(
    agents: Mapping[str, Any],
    conversations: Sequence[Conversation],
    *,
    variant: str,
    progress: Callable[[int], None] | None = None,
) -> BehaviourReport:
    """Run the suite.

    Args:
        agents: domain -> agent runner (domains without an agent are skipped).
        conversations: the conversations.
        variant: the variant's name, for the report.
        progress: called with 1 after each conversation.
    """
    start = time.perf_counter()
    results: list[ConversationResult] = []
    for conv in conversations:
        agent = agents.get(conv.domain)
        if agent is None:
            continue
        results.append(run_conversation(agent, conv, agent.toolkit.item))
        if progress:
            progress(1)
    return BehaviourReport(variant, results, time.perf_counter() - start)


def categories_of(conversations: Iterable[Conversation]) -> dict[str, int]:
    """category -> number of conversations."""
    out: dict[str, int] = defaultdict(int)
    for c in conversations:
        out[c.category] += 1
    return dict(out)
