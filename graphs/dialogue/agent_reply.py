"""The ``agent`` variant's final reply: guard it, and turn it into the turn's state update.

The LLM's reply may recommend only items that this turn's tools returned (``recommend``,
``search_products``, ``vector_search``, ``score_intents`` and any custom tool: an ``item_id`` key
in a successful result grounds an item); items it looked up (``get_items``,
``explain_items``), the user's liked items, the items in focus and earlier suggestions may be
named as references. Rejected and disliked items never appear: the guard removes their
sentences. The guard judges the reply sentence by sentence, as it is written
(:mod:`crsagent.graphs.dialogue.reply_gate`), so that a streamed reply goes out as soon as it is safe:

* a sentence that breaks a rule (an ungrounded or turned-down item, an invented title, a false
  fact, the instructions repeated, a tool call written as text) before anything was released
  fails the reply (``guard_rejected``); after sentences were released, it ends the reply there.
  Either way the answer is not read past it (tool calls written after it are not run);
* sentences are held until the reply can carry the turn: it names one of the items
  ``recommend`` returned (when it returned any), it names a grounded item when the user asked
  for items (dialogue act ``recommend`` or ``reject``) and no tool ran (no item is grounded then, so
  such a reply fails at its second sentence: only a tool call could follow a one-sentence
  preamble), and it has two words or more.
  A reply that never gets there fails (``guard_rejected``). Until the reply is complete, and
  while no tool has run in this turn, a prefix that names no item at all is held too, so text
  written before a first tool call ("let me look that up") is never sent.

The structured recommendations are the allowed items the reply names, with the ``recommend``
tool's scores and grounded explanations.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from langchain_core.messages import AIMessage, ToolMessage

from crsagent.graphs.context import CRSContext
from crsagent.graphs.dialogue.belief import disliked_ids, excluded_ids, liked_ids, merge_belief
from crsagent.graphs.dialogue.explaining import explain
from crsagent.graphs.dialogue.grounding import (
    LIST_ITEM,
    TITLE_YEAR,
    end_with_year,
    fact_checker,
    guard_reply,
    split_sentences,
)
from crsagent.graphs.dialogue.prompting import instruction_shingles, words
from crsagent.graphs.dialogue.reply_gate import SentenceGate, Verdict, gate_text
from crsagent.graphs.handoff import AGENT_KEY, recommendation_records, result_item_ids
from crsagent.graphs.ranking import remention_candidates
from crsagent.graphs.state import Candidate, CRSState

__all__ = [
    "AgentReply",
    "REPAIR_NOTE",
    "ASKS_FOR_ITEMS",
    "RECOMMENDING_TOOLS",
    "LOOKUP_TOOLS",
    "RAW_TOOL_CALL",
    "DOOMED_SENTENCES",
    "ReplyRules",
    "turn_tool_results",
    "accept_reply",
    "agent_action",
]

#: The turn note of a reply whose false claim about an item the guard replaced with the tool's reason.
REPAIR_NOTE = "guard replaced a false claim with the tool's reason"
#: The built-in tools whose items the reply may recommend (custom tools' items may be, too).
RECOMMENDING_TOOLS: frozenset[str] = frozenset({"recommend", "search_products", "vector_search", "score_intents"})
#: Understood dialogue acts of a user message that asks for items (a reply must then use a tool or name one).
ASKS_FOR_ITEMS: frozenset[str] = frozenset({"recommend", "reject"})
#: Tools whose items the reply may name as references (facts, explanations).
LOOKUP_TOOLS: frozenset[str] = frozenset({"get_items", "explain_items"})
#: Sentences of a reply to a request for items, with no tool run and nothing grounded named, after
#: which the answer is not read further (a short preamble before a tool call stays possible).
DOOMED_SENTENCES = 2
#: Text that shows the model tried to call a tool in a format the server's parser did not read.
RAW_TOOL_CALL = re.compile(r"<tool_call>|\[TOOL_CALLS\]|<\|python_tag\|>|^\s*\{\s*\"(name|function)\"\s*:", re.M)


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


def _reasons(results: list[ToolMessage]) -> dict[str, str]:
    """The grounded reason (``why``) of each item the ``recommend`` tool returned this turn."""
    out: dict[str, str] = {}
    for m in results:
        art = m.artifact if isinstance(m.artifact, dict) else {}
        if m.name == "recommend":
            for it in art.get("items") or []:
                if isinstance(it, dict) and it.get("item_id") and it.get("why"):
                    out[str(it["item_id"])] = str(it["why"])
    return out


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


class ReplyRules:
    """What the guard allows in this turn's reply, worked out once per LLM answer.

    Args:
        state: the graph state (this turn's tool results, the belief).
        ctx: the run context (toolkit, ``n_recommend``).
    """

    def __init__(self, state: CRSState, ctx: CRSContext) -> None:
        tk = self.toolkit = ctx.toolkit
        self.state, self.ctx = state, ctx
        self.belief = belief = merge_belief(state.get("belief"), {})
        self.results = results = turn_tool_results(state)
        self.called = {m.name or "" for m in results}
        recommendable: list[str] = []
        looked_up: list[str] = []
        for m in results:  # custom tools count as recommending: their items are grounded by their item_id keys
            (looked_up if m.name in LOOKUP_TOOLS else recommendable).extend(result_item_ids(m))
        self.blocked = set(disliked_ids(belief)) | set(belief.get("rejected") or [])
        excluded = set(excluded_ids(belief))
        focus = [i for i in state.get("focus") or [] if tk.has(i)]
        references = (
            set(liked_ids(belief)) | set(belief.get("recommended") or []) | set(focus) | set(looked_up)
        ) - self.blocked
        self.allowed = [i for i in dict.fromkeys(recommendable) if i not in excluded and tk.has(i)]
        self._guard = {
            "linker": tk.linker,
            "allowed": set(self.allowed),
            "blocked": self.blocked,
            "references": references,
            "check": fact_checker(tk, references),
            "secret": instruction_shingles(),
            "reasons": _reasons(results),
        }
        self.returned = any(m.name == "recommend" and result_item_ids(m) for m in results)
        self.asks = not results and state.get("dialogue_act") in ASKS_FOR_ITEMS

    def recommended(self, reply: str) -> tuple[Any, list[str]]:
        """The guard's result on ``reply`` and the allowed items it names, in reply order."""
        g = guard_reply(reply, **self._guard)
        # long product titles (office) the linker does not link still count when quoted exactly
        quoted = {i: at for i in self.allowed if i not in g.recommended and (at := _named(self.toolkit, i, g.reply))}
        return g, list(g.recommended) + sorted(quoted, key=quoted.__getitem__)

    def judge(self, prefix: str, final: bool = True) -> Verdict:
        """The verdict on a reply prefix of whole sentences (a :data:`~crsagent.graphs.dialogue.reply_gate.Judge`).

        Until the reply is complete (``final``), and while no tool has run in this turn, a prefix
        that names no item is held: text written before a tool call ("let me look that up") is
        then never sent, and a first-round reply without items goes out whole.
        """
        if RAW_TOOL_CALL.search(prefix):
            return Verdict("fail", "a tool call written into the reply text")
        g, recommended = self.recommended(prefix)
        note = f"guard removed {len(g.removed)} item(s)" if g.removed else ""
        cut = len(split_sentences(g.reply)) < len(split_sentences(prefix.strip()))
        if cut or g.removed or g.violations:
            why = (
                "; ".join([note] * bool(note) + [f"{len(g.violations)} false fact(s)"] * bool(g.violations))
                or "an invented title or the instructions repeated"
            )
            return Verdict("fail", f"the reply breaks the grounding rules ({why})")
        if any(_named(self.toolkit, i, g.reply) for i in self.blocked):
            return Verdict("fail", "the reply names an item the user turned down")
        text = g.rewritten  # a false claim replaced by the tool's reason
        if len(words(g.reply)) < 2:
            return Verdict("hold", "nothing usable left of the reply", text)
        if self.returned and not recommended:
            return Verdict("hold", "the reply names none of the items recommend returned", text)
        if self.asks and not recommended:  # nothing it can name is grounded: only a tool call can follow
            why = "the user asked for recommendations; the reply used no tool and names none"
            return Verdict("fail" if len(split_sentences(prefix)) >= DOOMED_SENTENCES else "hold", why)
        if not final and not self.results and not (recommended or g.references):
            return Verdict("hold", "no item named yet", text)
        return Verdict("ok", "", text)

    def head(self, sentence: str) -> int:
        """Where a list line's head ends: through its first "Title (Year)" when that names an
        allowed item (0 otherwise; a :data:`~crsagent.graphs.dialogue.reply_gate.Head`)."""
        if not LIST_ITEM.match(sentence) or (year := TITLE_YEAR.search(sentence)) is None:
            return 0
        part = sentence[: year.end()]
        named = [m for m in self.toolkit.linker.link(part) if m.item_id in self._guard["allowed"]]
        return year.end() if any(end_with_year(part, m.end) == year.end() for m in named) else 0

    def gate(self) -> SentenceGate:
        """A sentence gate over these rules (for a reply being streamed)."""
        return SentenceGate(self.judge, self.head)


def accept_reply(
    state: CRSState, ctx: CRSContext, text: str, *, rules: ReplyRules | None = None, gate: SentenceGate | None = None
) -> AgentReply:
    """Guard the LLM's reply and build the turn's update (or say why it cannot carry the turn).

    The reply is what the sentence gate releases (:mod:`crsagent.graphs.dialogue.reply_gate`): the
    sentences up to the first one the guard refuses, once they can carry the turn.

    Args:
        state: the graph state.
        ctx: the run context.
        text: the LLM's reply text.
        rules: the rules worked out for this answer (made when None).
        gate: the gate the reply was streamed through; None runs one over ``text``.
    """
    rules = rules or ReplyRules(state, ctx)
    if gate is None:
        gate = gate_text(rules.judge, text, head=rules.head)
    if not gate.released:
        return AgentReply("guard_rejected", gate.note or "nothing usable in the reply")
    tk, belief, results = rules.toolkit, rules.belief, rules.results
    reply = gate.released
    _, recommended = rules.recommended(reply)
    note = f"guard cut the reply after {gate.sentences} sentence(s): {gate.note}" if gate.state == "cut" else ""
    if gate.rewritten:
        fixed = f"{REPAIR_NOTE} in {gate.rewritten} sentence(s)"
        note = "; ".join(filter(None, [fixed, note]))
    named = recommended[: ctx.n_recommend + 2]
    ranking = _ranking(results, rules.allowed)
    by_id = {c["item_id"]: c for c in ranking}
    first = [by_id[i] for i in named if i in by_id]
    candidates = first + [c for c in ranking if c["item_id"] not in set(named)]
    recs = recommendation_records(tk, named, candidates, explain(tk, named, belief, candidates)) if named else []
    action = agent_action(rules.called, named)
    update: dict[str, Any] = {
        "messages": [AIMessage(content=reply, additional_kwargs={AGENT_KEY: {"recommended": named, "action": action}})],
        "recommendations": recs,
        "candidates": candidates,
        "rementions": remention_candidates(tk, belief, ctx.weights),
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
