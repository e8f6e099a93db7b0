"""``respond``: write the reply — a template (CRS variants) or the LLM (grounded, then guarded).

LLM replies are checked by the grounding guard (:mod:`crsagent.graphs.dialogue.grounding`): only items
from the candidate set (the fused ranking plus tool results that meet the hard constraints;
in ``llm-only`` any catalogue item that meets them) may be recommended, and rejected or
disliked items never. If the LLM fails, or a recommendation reply has nothing grounded left,
the template reply is used.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from langchain_core.messages import AIMessage, SystemMessage
from langgraph.runtime import Runtime

from crsagent.agent.domains import domain_spec
from crsagent.graphs.context import CRSContext
from crsagent.graphs.dialogue.belief import (
    Belief,
    belief_filter,
    disliked_ids,
    excluded_ids,
    liked_ids,
    merge_belief,
)
from crsagent.graphs.dialogue.explaining import explain, item_facts
from crsagent.graphs.dialogue.grounding import fact_checker, guard_reply
from crsagent.graphs.dialogue.llm_step import chat_steps
from crsagent.graphs.dialogue.prompting import (
    belief_summary,
    candidate_lines,
    dialogue,
    dialogue_text,
    instruction_shingles,
    render,
)
from crsagent.graphs.dialogue.templates import template_reply
from crsagent.graphs.effects import Steps, steps_node
from crsagent.graphs.handoff import AGENT_KEY, recommendation_records, tool_results
from crsagent.graphs.ranking import rank_candidates
from crsagent.graphs.state import CRSState
from crsagent.graphs.variants import VariantSpec

__all__ = ["make_respond", "llm_only_allowed"]


def _noun(domain: str) -> str:
    return domain_spec(domain).long_noun


def llm_only_allowed(tk: Any, belief: Belief, genres_hard: bool = True) -> Callable[[str], bool]:
    """For ``llm-only``: an item may be recommended when it meets the hard constraints."""
    f = belief_filter(belief, exclude=False, genres_hard=genres_hard)
    if f.is_empty():
        return lambda i: tk.has(i)
    ok: set[str] | None = None

    def valid(item_id: str) -> bool:
        nonlocal ok
        if ok is None:
            ok = set(tk.filter_ids(f))
        return item_id in ok

    return valid


def _task(state: CRSState, tk: Any, ctx: CRSContext, action: str, tools_text: str) -> str:
    recs = state.get("recommendations") or []
    if action == "recommend":
        why = {r["item_id"]: r.get("explanation", "") for r in recs}
        return render(
            "respond_recommend",
            n=min(ctx.n_recommend, max(len(state.get("candidates") or []), 1)),
            candidates=candidate_lines(tk, state.get("candidates") or [], why),
            tool_results=tools_text,
        )
    if action == "elicit":
        return render("respond_elicit", question=(state.get("question") or {}).get("text", ""))
    if action == "answer":
        facts = "\n".join(str(f) for f in state.get("facts") or []) or "(no facts)"
        return render("respond_answer", facts=facts, tool_results=tools_text)
    if action == "explain":
        lines = [f"{r['title']}: {r.get('explanation', '')}" for r in recs] or ["(nothing to explain)"]
        return render("respond_explain", explanations="\n".join(lines))
    return render("respond_chitchat", noun=_noun(tk.domain))


def make_respond(spec: VariantSpec) -> Callable[[CRSState, Runtime[CRSContext]], dict[str, Any]]:
    """The ``respond`` node of a variant (sync; ``.anode`` is its async version)."""

    def respond(state: CRSState, runtime: Runtime[CRSContext]) -> Steps[dict[str, Any]]:
        ctx = runtime.context
        tk = ctx.toolkit
        belief: Belief = merge_belief(state.get("belief"), {})
        action = state.get("action") or "recommend"
        recs = list(state.get("recommendations") or [])
        candidates = list(state.get("candidates") or [])
        usage: dict[str, Any] = {}
        reply: str | None = None
        if spec.llm_reply:
            reply, recs, candidates, usage = yield from _llm_reply(spec, state, ctx, belief, action, recs, candidates)
        if reply is None:
            if action == "recommend" and not spec.ranking and not recs:
                # llm-only fell back: the deterministic pipeline stands in for the LLM
                recent = dialogue_text(state.get("messages") or [], 1)
                candidates, _ = rank_candidates(tk, belief, "", k=ctx.ranking_k, weights=ctx.weights, recent=recent)
                top = [c["item_id"] for c in candidates[: ctx.n_recommend]]
                recs = recommendation_records(tk, top, candidates, explain(tk, top, belief, candidates))
            reply = template_reply(
                action,
                domain=tk.domain,
                recommendations=recs,
                facts=state.get("facts") or item_facts(tk, state.get("focus") or []),
                question=(state.get("question") or {}).get("text", ""),
            )
        new = [r["item_id"] for r in recs] if action == "recommend" else []
        message = AIMessage(content=reply, additional_kwargs={AGENT_KEY: {"recommended": new, "action": action}})
        out: dict[str, Any] = {
            "messages": [message],
            "recommendations": recs,
            "candidates": candidates,
            "belief": {"recommended": new, "mentioned": new},
        }
        if usage:
            out["usage"] = usage
        return out

    return steps_node(respond)


def _llm_reply(
    spec: VariantSpec,
    state: CRSState,
    ctx: CRSContext,
    belief: Belief,
    action: str,
    recs: list[dict[str, Any]],
    candidates: list[Any],
) -> Steps[tuple[str | None, list[dict[str, Any]], list[Any], dict[str, Any]]]:
    tk = ctx.toolkit
    tools_text, tool_ids = tool_results(state)
    if not spec.ranking and action == "recommend":  # llm-only: the LLM's own knowledge
        system = render("llm_only", noun=_noun(tk.domain), n=ctx.n_recommend, belief=belief_summary(tk, belief))
    else:
        task = _task(state, tk, ctx, action, tools_text)
        system = render("respond", noun=_noun(tk.domain), belief=belief_summary(tk, belief), task=task)
    prompt = [SystemMessage(content=system), *dialogue(state.get("messages") or [], ctx.history_window)]
    ai, usage = yield from chat_steps(ctx, state.get("usage"), prompt, step="respond")
    if ai is None:
        return None, recs, candidates, dict(usage)
    blocked = set(disliked_ids(belief)) | set(belief.get("rejected") or [])
    # the user's liked items and earlier suggestions may be named ("since you loved X"); items
    # only mentioned ("recommend X", "what about X?") may not, unless the turn is about them
    references = (set(liked_ids(belief)) | set(belief.get("recommended") or [])) - blocked
    focus = [i for i in state.get("focus") or [] if tk.has(i)]
    if spec.ranking:
        extra = _tool_ids_allowed(tk, belief, tool_ids, ctx.weights.genre_filter)
        allowed: set[str] | None = {c["item_id"] for c in candidates} | set(extra) | set(focus)
        valid = None
    else:
        allowed, valid = None, llm_only_allowed(tk, belief, ctx.weights.genre_filter)
    g = guard_reply(
        ai.text,
        linker=tk.linker,
        allowed=allowed,
        blocked=blocked,
        references=references,
        valid=valid,
        check=fact_checker(tk, references),
        secret=instruction_shingles(),
    )
    notes = (
        [f"guard: removed {len(g.removed)} item(s) outside the candidates, blocked or misdescribed"]
        if g.removed
        else []
    )
    notes += [f"guard: {v}" for v in g.violations[:3]]
    if action == "recommend":
        if not g.recommended:
            notes.append("guard: no grounded recommendation in the LLM reply; template used")
            return None, recs, candidates, {**usage, "notes": notes, "degraded": True}
        ranked = {c["item_id"] for c in candidates}
        if not spec.ranking:  # llm-only: the LLM's list is the ranking
            candidates = [
                {"item_id": i, "score": round(1.0 / (k + 1), 6), "signals": {"llm": round(1.0 / (k + 1), 6)}}
                for k, i in enumerate(g.recommended)
            ]
        else:
            candidates = candidates + [
                {"item_id": i, "score": 0.0, "signals": {"tool": 1.0}} for i in g.recommended if i not in ranked
            ]
        why = {r["item_id"]: r.get("explanation", "") for r in recs}
        missing = [i for i in g.recommended if not why.get(i)]
        why.update(explain(tk, missing, belief, candidates, state.get("intent_label")))
        recs = recommendation_records(tk, g.recommended, candidates, why)
    if not g.reply.strip():
        notes.append("guard: nothing left of the LLM reply; template used")
        return None, recs, candidates, {**usage, "notes": notes, "degraded": True}
    named = set(g.recommended) | set(g.references)
    if action in ("answer", "explain") and focus and not named & set(focus):
        notes.append(f"guard: the {action} does not name the item asked about; template used")
        return None, recs, candidates, {**usage, "notes": notes, "degraded": True}
    if action == "elicit" and "?" not in g.reply:
        notes.append("guard: the LLM did not ask the question; template used")
        return None, recs, candidates, {**usage, "notes": notes, "degraded": True}
    return g.reply, recs, candidates, {**usage, "notes": list(usage.get("notes") or []) + notes}


def _tool_ids_allowed(tk: Any, belief: Belief, ids: list[str], genres_hard: bool) -> list[str]:
    """The tool results' ids that satisfy the belief's hard constraints and are not excluded.

    The constraints go through the toolkit's per-filter cache (they rarely change between
    turns); the exclusions, which grow every turn, are applied here.
    """
    ids = [i for i in dict.fromkeys(ids) if tk.has(i)]
    if not ids:
        return []
    f = belief_filter(belief, exclude=False, genres_hard=genres_hard)
    excluded = set(excluded_ids(belief))
    ok = None if f.is_empty() else set(tk.filter_ids(f))
    return [i for i in ids if i not in excluded and (ok is None or i in ok)]
