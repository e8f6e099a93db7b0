"""``decide``: the dialogue policy — elicit, recommend, answer, explain or chit-chat.

Rules, in order:

* a question about an item in focus is answered (``answer``) or explained (``explain``);
* small talk is chit-chat once something is known, else it leads to a question;
* with too little evidence (no liked item and fewer than two constraints) the agent asks the
  most informative question (:mod:`crsagent.graphs.dialogue.elicitation`) — at most ``MAX_QUESTIONS``
  times per conversation, and only while an attribute is left to ask;
* otherwise, and after a rejection or an explicit request with any evidence, it recommends.

A recommendation closes with a question that depends on the state (the most informative
attribute not yet constrained, never the one the previous reply closed with), and an answer
leads with the field the user asked for (or says the catalogue does not record it): both go
to the reply as ``question["text"]``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from langgraph.runtime import Runtime

from crsagent.graphs.context import CRSContext
from crsagent.graphs.dialogue.belief import Belief, belief_filter, evidence_count, merge_belief
from crsagent.graphs.dialogue.cues import asked_field
from crsagent.graphs.dialogue.elicitation import Question, answer_lead, choose_question, closing_text, question_text
from crsagent.graphs.dialogue.moves import unavailable_asked
from crsagent.graphs.state import CRSState
from crsagent.graphs.variants import VariantSpec

__all__ = ["Action", "ACTIONS", "MAX_QUESTIONS", "QUESTION_POOL", "policy", "make_decide"]

Action = Literal["elicit", "recommend", "answer", "explain", "chitchat"]
ACTIONS: tuple[str, ...] = ("elicit", "recommend", "answer", "explain", "chitchat")
MAX_QUESTIONS = 2
QUESTION_POOL = 100  # top candidates the question's information gain is measured over


def policy(dialogue_act: str, belief: Belief, focus: list[str]) -> Action:
    """The action before the question check (pure).

    Args:
        dialogue_act: the understood dialogue act of the last user message (``reject``, ``ask_fact`` ...).
        belief: the belief after this turn's update.
        focus: items the user's question is about.

    Returns:
        The action; ``elicit`` may still become ``recommend`` when nothing is left to ask.
    """
    liked, constraints = evidence_count(belief)
    asked = len(belief.get("asked") or [])
    enough = liked >= 1 or constraints >= 2
    if dialogue_act == "ask_fact":
        return "answer" if focus else ("recommend" if enough else "elicit")
    if dialogue_act == "explain":
        return "explain" if focus else ("recommend" if enough else "elicit")
    if dialogue_act == "chitchat":
        return "chitchat" if (enough or asked >= MAX_QUESTIONS) else "elicit"
    if dialogue_act == "reject":
        return "recommend"
    if dialogue_act == "recommend" and (liked or constraints):
        return "recommend"
    if enough or asked >= MAX_QUESTIONS:
        return "recommend"
    return "elicit"


def make_decide(spec: VariantSpec) -> Callable[[CRSState, Runtime[CRSContext]], dict[str, Any]]:
    """The ``decide`` node of a variant."""

    def decide(state: CRSState, runtime: Runtime[CRSContext]) -> dict[str, Any]:
        tk = runtime.context.toolkit
        belief: Belief = merge_belief(state.get("belief"), {})
        action = policy(state.get("dialogue_act") or "elicit", belief, list(state.get("focus") or []))
        out: dict[str, Any] = {"action": action, "question": {}}
        last = _last_user(state)
        if action == "recommend":
            prev = state.get("question") or {}
            skip = prev.get("attribute") if prev.get("closing") else None
            q = _question(tk, belief, runtime.context.weights.genre_filter, skip)
            text = closing_text(q, tk.domain, belief, unavailable_asked(last), avoid=str(prev.get("text") or ""))
            out["question"] = {"attribute": q.attribute if q else None, "closing": True, "text": text}
        elif action == "answer":
            focus = list(state.get("focus") or [])
            lead = answer_lead(tk.item(focus[0]) if focus else None, asked_field(last))
            if lead:
                out["question"] = {"text": lead, "answer": True}
        if action == "elicit":
            q = _question(tk, belief, runtime.context.weights.genre_filter)
            if q is None:
                out["action"] = "recommend"
            else:
                out["question"] = {
                    "attribute": q.attribute,
                    "entropy": q.entropy,
                    "options": list(q.options),
                    "text": question_text(q, tk.domain),
                }
                out["belief"] = {"asked": [q.attribute]}
        return out

    return decide


def _question(tk: Any, belief: Belief, genres_hard: bool = True, skip: str | None = None) -> Question | None:
    ids = tk.db.filter_ids(belief_filter(belief, genres_hard=genres_hard), limit=QUESTION_POOL)
    items = [it for it in (tk.item(i) for i in ids) if it is not None]
    if skip:
        belief = merge_belief(belief, {"asked": [skip]})
    return choose_question(tk.domain, items, belief)


def _last_user(state: CRSState) -> str:
    for m in reversed(state.get("messages") or []):
        if getattr(m, "type", "") == "human":
            return str(m.text)
    return ""
