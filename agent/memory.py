"""Profile memory: a natural-language summary plus structured facts, kept per user.

Profiles (RecLLM, arXiv 2305.07961) live in a LangGraph store under the namespace
``("profile", user_id)``, key ``"profile"``, so they outlive a conversation thread and seed
the belief of the user's next thread. The summary is written from the facts by a template
(no LLM call), so it never states anything the facts do not hold.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from langgraph.store.base import BaseStore
from pydantic import BaseModel, ConfigDict, Field

from crsagent.agent.errors import ToolInputError

__all__ = [
    "PROFILE_NAMESPACE",
    "PROFILE_KEY",
    "MAX_FACT_ITEMS",
    "ProfileFacts",
    "Profile",
    "profile_namespace",
    "load_profile",
    "save_profile",
    "aload_profile",
    "asave_profile",
    "merge_facts",
    "summarize",
]

PROFILE_NAMESPACE = "profile"
PROFILE_KEY = "profile"
MAX_FACT_ITEMS = 50  # newest facts kept per list


class ProfileFacts(BaseModel):
    """Structured facts about a user (each list newest last).

    Attributes:
        liked: item ids the user liked.
        disliked: item ids the user disliked.
        rejected: recommendations the user turned down (never recommended again).
        genres_liked: favourite genres.
        genres_disliked: genres the user does not want.
        people_liked: favourite directors, actors (or brands).
    """

    model_config = ConfigDict(extra="ignore")

    liked: list[str] = Field(default_factory=list)
    disliked: list[str] = Field(default_factory=list)
    rejected: list[str] = Field(default_factory=list)
    genres_liked: list[str] = Field(default_factory=list)
    genres_disliked: list[str] = Field(default_factory=list)
    people_liked: list[str] = Field(default_factory=list)


class Profile(BaseModel):
    """A user's profile memory.

    Attributes:
        user_id: whose profile it is.
        summary: the facts in one or two sentences.
        facts: the structured facts.
        threads: how many conversation threads have updated it.
    """

    model_config = ConfigDict(extra="ignore")

    user_id: str
    summary: str = ""
    facts: ProfileFacts = Field(default_factory=ProfileFacts)
    threads: int = 0


def profile_namespace(user_id: str) -> tuple[str, str]:
    """The store namespace of a user's profile.

    LangGraph's store refuses periods in namespace labels, so ``%`` and ``.`` are
    percent-encoded (``"a.b"`` -> ``"a%2Eb"``); ids without them are used as they are.

    Raises:
        ToolInputError: the user id is empty.
    """
    if not user_id or not str(user_id).strip():
        raise ToolInputError("a profile needs a non-empty user id")
    return (PROFILE_NAMESPACE, str(user_id).replace("%", "%25").replace(".", "%2E"))


def load_profile(store: BaseStore, user_id: str) -> Profile | None:
    """The stored profile of a user, or None."""
    item = store.get(profile_namespace(user_id), PROFILE_KEY)
    return Profile.model_validate(item.value) if item is not None else None


def save_profile(store: BaseStore, profile: Profile) -> None:
    """Write a user's profile (replacing the old one)."""
    store.put(profile_namespace(profile.user_id), PROFILE_KEY, profile.model_dump(mode="json"))


async def aload_profile(store: BaseStore, user_id: str) -> Profile | None:
    """Async :func:`load_profile`."""
    item = await store.aget(profile_namespace(user_id), PROFILE_KEY)
    return Profile.model_validate(item.value) if item is not None else None


async def asave_profile(store: BaseStore, profile: Profile) -> None:
    """Async :func:`save_profile`."""
    await store.aput(profile_namespace(profile.user_id), PROFILE_KEY, profile.model_dump(mode="json"))


def _union_newest(old: Iterable[str], new: Iterable[str], drop: Iterable[str] = ()) -> list[str]:
    gone = set(drop)
    new = [x for x in new if x not in gone]
    fresh = set(new)
    out = [x for x in old if x not in fresh and x not in gone] + list(dict.fromkeys(new))
    return out[-MAX_FACT_ITEMS:]


def merge_facts(old: ProfileFacts, new: ProfileFacts) -> ProfileFacts:
    """Fold a thread's facts into the stored ones; the newer statement wins a conflict.

    An item newly liked leaves ``disliked`` and vice versa; the same for genres.
    """
    return ProfileFacts(
        liked=_union_newest(old.liked, new.liked, new.disliked),
        disliked=_union_newest(old.disliked, new.disliked, new.liked),
        rejected=_union_newest(old.rejected, new.rejected),
        genres_liked=_union_newest(old.genres_liked, new.genres_liked, new.genres_disliked),
        genres_disliked=_union_newest(old.genres_disliked, new.genres_disliked, new.genres_liked),
        people_liked=_union_newest(old.people_liked, new.people_liked),
    )


def _names(values: list[str], limit: int = 3) -> str:
    shown = values[-limit:][::-1]
    if len(shown) <= 1:
        return "".join(shown)
    return ", ".join(shown[:-1]) + " and " + shown[-1]


def summarize(facts: ProfileFacts, title: Callable[[str], str] | Mapping[str, str] | None = None) -> str:
    """A short natural-language summary of the facts (newest first).

    Args:
        facts: the facts.
        title: item id -> display title (a function or a mapping); ids are shown without it.
    """
    names = {} if callable(title) else dict(title or {})

    def show(i: str) -> str:
        return title(i) if callable(title) else names.get(i, i)

    parts: list[str] = []
    if facts.liked:
        parts.append(f"liked {_names([show(i) for i in facts.liked])}")
    if facts.genres_liked:
        parts.append(f"enjoys {_names(facts.genres_liked)}")
    if facts.people_liked:
        parts.append(f"likes {_names(facts.people_liked)}")
    if facts.disliked:
        parts.append(f"did not like {_names([show(i) for i in facts.disliked])}")
    if facts.genres_disliked:
        parts.append(f"avoids {_names(facts.genres_disliked)}")
    if facts.rejected:
        parts.append(f"turned down {len(facts.rejected)} earlier suggestion(s)")
    if not parts:
        return ""
    return "The user " + "; ".join(parts) + "."
