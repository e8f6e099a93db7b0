"""``remember``: fold the thread's belief into the user's profile memory in the store.

The profile (:class:`~crsagent.agent.memory.Profile`) lives under ``("profile", user_id)``
and outlives the thread; the next thread of the same user starts from it. Nothing is written
without a user id or a store, or when the facts did not change.
"""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from crsagent.agent.memory import (
    Profile,
    ProfileFacts,
    asave_profile,
    merge_facts,
    save_profile,
    summarize,
)
from crsagent.graphs.context import CRSContext
from crsagent.graphs.dialogue.belief import (
    Belief,
    disliked_genres,
    disliked_ids,
    liked_genres,
    liked_ids,
    liked_people,
    merge_belief,
)
from crsagent.graphs.state import CRSState

__all__ = ["belief_facts", "remember", "aremember"]


def belief_facts(belief: Belief) -> ProfileFacts:
    """The profile facts a belief states."""
    return ProfileFacts(
        liked=liked_ids(belief),
        disliked=disliked_ids(belief),
        rejected=list(belief.get("rejected") or []),
        genres_liked=liked_genres(belief),
        genres_disliked=disliked_genres(belief),
        people_liked=liked_people(belief),
    )


def _updated(state: CRSState, runtime: Runtime[CRSContext]) -> Profile | None:
    """The user's profile with this thread's facts folded in, or None when nothing is to be written."""
    ctx = runtime.context
    if not ctx.user_id or runtime.store is None:
        return None
    belief: Belief = merge_belief(state.get("belief"), {})
    old = Profile.model_validate(state["profile"]) if state.get("profile") else Profile(user_id=ctx.user_id)
    facts = merge_facts(old.facts, belief_facts(belief))
    threads = old.threads + (1 if int(state.get("turn") or 0) <= 1 else 0)
    new = Profile(user_id=ctx.user_id, facts=facts, threads=threads, summary=summarize(facts, ctx.toolkit.title))
    return None if new == old else new


def remember(state: CRSState, runtime: Runtime[CRSContext]) -> dict[str, Any]:
    """The ``remember`` node."""
    new = _updated(state, runtime)
    if new is None:
        return {}
    save_profile(runtime.store, new)  # type: ignore[arg-type]
    return {"profile": new.model_dump(mode="json")}


async def aremember(state: CRSState, runtime: Runtime[CRSContext]) -> dict[str, Any]:
    """The ``remember`` node of async runs: the same update, written with the store's async API
    on the event loop (no worker thread, no hop back to the loop for the write)."""
    new = _updated(state, runtime)
    if new is None:
        return {}
    await asave_profile(runtime.store, new)  # type: ignore[arg-type]
    return {"profile": new.model_dump(mode="json")}
