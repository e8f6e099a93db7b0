"""The ``agent`` variant's final reply: guard it, and turn it into the turn's state update.

The LLM's reply may recommend only items that this turn's tools returned (``recommend``,
``search_products``, ``vector_search``, ``score_intents`` and any custom tool: an ``item_id`` key
in a successful result grounds an item); items it looked up (``get_items``,
``explain_items``), the user's liked items, the items in focus and earlier suggestions may be
named as references. Rejected and disliked items never appear: the guard removes their
sentences. A reply the guard had to cut at all (an ungrounded or turned-down item, an invented
title, a false fact, the instructions repeated) fails, as does one that answers a request for
items (``recommend`` or ``reject`` intent) with no tool call and no grounded item. The structured recommendations are the allowed items the reply names, with the
``recommend`` tool's scores and grounded explanations. A reply with nothing left after the
guard, or one that names none of the items ``recommend`` returned (when it returned any), fails
(``guard_rejected``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from crsagent.graphs.belief import disliked_ids, excluded_ids, liked_ids, merge_belief
from crsagent.graphs.context import CRSContext
from crsagent.graphs.explaining import explain
from crsagent.graphs.guard import fact_checker, guard_reply, split_sentences
from crsagent.graphs.nodes.act import recommendation_records
from crsagent.graphs.nodes.tools import result_item_ids
from crsagent.graphs.nodes.understand import AGENT_KEY
from crsagent.graphs.prompting import instruction_shingles, words
from crsagent.graphs.ranking import echo_candidates
from crsagent.graphs.state import Candidate, CRSState
from langchain_core.messages import AIMessage, ToolMessage

__all__ = ["AgentReply", "ASKS_FOR_ITEMS", "RECOMMENDING_TOOLS", "LOOKUP_TOOLS", "turn_tool_results", "accept_reply", "agent_action"]

#: The built-in tools whose items the reply may recommend (custom tools' items may be, too).
RECOMMENDING_TOOLS: frozenset[str] = frozenset({"recommend", "search_products", "vector_search", "score_intents"})
#: Understood intents of a user message that asks for items (a reply must then use a tool or name one).
ASKS_FOR_ITEMS: frozenset[str] = frozenset({"recommend", "reject"})
#: Tools whose items the reply may name as references (facts, explanations).
LOOKUP_TOOLS: frozenset[str] = frozenset({"get_items", "explain_items"})


@dataclass
class AgentReply:
    """The verdict on the LLM's reply.

    Attributes:
        reason: None when the reply carries the turn, else the fallback reason.
        note: what the guard found.
        update: the state update of an accepted reply.
    """

    reason: str | None
    note: str = ""
    update: dict[str, Any] = field(default_factory=dict)


def turn_tool_results(state: CRSState) -> list[ToolMessage]:
    """This turn's successful tool results, in order."""
    return [m for m in state.get("scratch") or [] if isinstance(m, ToolMessage) and m.status != "error"]


def agent_action(called: set[str], recommended: list[str]) -> str:
    """The dialogue act the agent's turn amounts to, from the tools it used and what it named."""
    if recommended:
        return "recommend"
    for tool, act in (("suggest_question", "elicit"), ("explain_items", "explain"), ("get_items", "answer")):
        if tool in called:
            return act
    return "chitchat"


def _ranking(results: list[ToolMessage], extra: list[str]) -> list[Candidate]:
    ranked: list[Candidate] = []
    for m in results:
        art = m.artifact if isinstance(m.artifact, dict) else {}
        if m.name == "recommend" and isinstance(art.get("ranking"), list):
            ranked = list(art["ranking"])
    seen = {c["item_id"] for c in ranked}
    return ranked + [{"item_id": i, "score": 0.0, "signals": {"tool": 1.0}} for i in extra if i not in seen]


def _named(tk: Any, item_id: str, text: str) -> int:
    """1 + where an item's full title (at least three words) stands in a text, else 0."""
    it = tk.item(item_id)
    if it is None:
        return 0
    low = text.lower()
    for title in (it.display_title, it.title):
        if len(title.split()) >= 3 and (at := low.find(title.lower())) >= 0:
            return at + 1
    return 0


def accept_reply(state: CRSState, ctx: CRSContext, text: str) -> AgentReply:
    """Guard the LLM's reply and build the turn's update (or say why it cannot carry the turn)."""
    tk = ctx.toolkit
    belief = merge_belief(state.get("belief"), {})
    results = turn_tool_results(state)
    called = {m.name or "" for m in results}
    recommendable: list[str] = []
    looked_up: list[str] = []
    for m in results:  # custom tools count as recommending: their items are grounded by their item_id keys
        (looked_up if m.name in LOOKUP_TOOLS else recommendable).extend(result_item_ids(m))
    blocked = set(disliked_ids(belief)) | set(belief.get("rejected") or [])
    excluded = set(excluded_ids(belief))
    focus = [i for i in state.get("focus") or [] if tk.has(i)]
    references = (set(liked_ids(belief)) | set(belief.get("recommended") or []) | set(focus) | set(looked_up)) - blocked
    allowed = [i for i in dict.fromkeys(recommendable) if i not in excluded and tk.has(i)]
    g = guard_reply(text, linker=tk.linker, allowed=set(allowed), blocked=blocked, references=references,
                    check=fact_checker(tk, references), secret=instruction_shingles())
    note = f"guard removed {len(g.removed)} item(s)" if g.removed else ""
    cut = len(split_sentences(g.reply)) < len(split_sentences(text.strip()))
    if cut or g.removed or g.violations:
        why = "; ".join([note] * bool(note) + [f"{len(g.violations)} false fact(s)"] * bool(g.violations)) or \
            "an invented title or the instructions repeated"
        return AgentReply("guard_rejected", f"the reply breaks the grounding rules ({why})")
    if any(_named(tk, i, g.reply) for i in blocked):
        return AgentReply("guard_rejected", "the reply names an item the user turned down")
    # long product titles (office) the linker does not link still count when quoted exactly
    quoted = {i: at for i in allowed if i not in g.recommended and (at := _named(tk, i, g.reply))}
    recommended = list(g.recommended) + sorted(quoted, key=quoted.__getitem__)
    if len(words(g.reply)) < 2:
        return AgentReply("guard_rejected", f"nothing usable left of the reply ({note or 'empty'})")
    returned = any(m.name == "recommend" and result_item_ids(m) for m in results)
    if returned and not recommended:
        return AgentReply("guard_rejected", "the reply names none of the items recommend returned" + (f"; {note}" if note else ""))
    if not results and not recommended and state.get("intent") in ASKS_FOR_ITEMS:
        return AgentReply("guard_rejected", "the user asked for recommendations; the reply used no tool and names none")
    named = recommended[: ctx.n_recommend + 2]
    ranking = _ranking(results, allowed)
    by_id = {c["item_id"]: c for c in ranking}
    first = [by_id[i] for i in named if i in by_id]
    candidates = first + [c for c in ranking if c["item_id"] not in set(named)]
    recs = recommendation_records(tk, named, candidates, explain(tk, named, belief, candidates)) if named else []
    action = agent_action(called, named)
    update: dict[str, Any] = {
        "messages": [AIMessage(content=g.reply, additional_kwargs={AGENT_KEY: {"recommended": named, "action": action}})],
        "recommendations": recs,
        "candidates": candidates,
        "echoes": echo_candidates(tk, belief, ctx.weights),
        "action": action,
        "belief": {"recommended": named, "mentioned": named},
        "question": {},
    }
    for m in results:
        if m.name == "suggest_question" and isinstance(m.artifact, dict) and m.artifact.get("attribute"):
            update["question"] = dict(m.artifact)
            update["belief"]["asked"] = [m.artifact["attribute"]]
    if note:
        update["usage"] = {"notes": [f"agent: {note}"]}
    return AgentReply(None, note, update)
