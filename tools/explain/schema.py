"""Typed inputs and outputs of the explainer: :class:`Evidence`, :class:`Fact`, :class:`Explanation`.

The narrative kinds follow REGEN (arXiv 2410.16780): a *purchase reason* says why this user
would like an item, an *endorsement* is a short product blurb built from the item's facts, and
a *user summary* sums up the user's preferences from the belief state.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from crsagent.agent.errors import InvalidFilterError

__all__ = ["NarrativeKind", "NARRATIVE_KINDS", "Evidence", "Fact", "Explanation"]

NarrativeKind = Literal["purchase_reason", "endorsement", "user_summary"]
#: The narrative kinds, as strings (tool argument values).
NARRATIVE_KINDS: tuple[str, ...] = ("purchase_reason", "endorsement", "user_summary")


class Evidence(BaseModel):
    """What the agent knows about the user, and why it ranked each candidate.

    Attributes:
        liked_ids: catalogue ids the user liked (or bought), most important first.
        disliked_ids: catalogue ids the user disliked or rejected.
        genres: genres the user asked for (hard or soft), lower case.
        people: people the user asked for (directors, writers, actors).
        year_min: the user wants items released in or after this year.
        year_max: the user wants items released in or before this year.
        brands: brands the user asked for (office products).
        soft_preferences: free-text preferences in the user's words ("something creepy").
        intent: the latent-intent label of the conversation, when the intent scorer gave one.
        signals: per item id, the per-signal scores behind its fused score
            (``vector``, ``cf``, ``intent``, ``popularity`` ...), higher is stronger.
    """

    model_config = ConfigDict(extra="forbid")

    liked_ids: list[str] = Field(default_factory=list)
    disliked_ids: list[str] = Field(default_factory=list)
    genres: list[str] = Field(default_factory=list)
    people: list[str] = Field(default_factory=list)
    year_min: int | None = Field(default=None, ge=1800, le=2100)
    year_max: int | None = Field(default=None, ge=1800, le=2100)
    brands: list[str] = Field(default_factory=list)
    soft_preferences: list[str] = Field(default_factory=list)
    intent: str | None = None
    signals: dict[str, dict[str, float]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _consistent(self) -> Evidence:
        if self.year_min is not None and self.year_max is not None and self.year_min > self.year_max:
            raise InvalidFilterError(f"year_min ({self.year_min}) is after year_max ({self.year_max})")
        return self

    def year_ok(self, year: int | None) -> bool | None:
        """Whether ``year`` satisfies the year constraint; None when there is no constraint."""
        if self.year_min is None and self.year_max is None:
            return None
        if year is None:
            return False
        return (self.year_min is None or year >= self.year_min) and (self.year_max is None or year <= self.year_max)


class Fact(BaseModel):
    """One statement an explanation makes, with where it comes from.

    Attributes:
        field: the record field (``year``, ``genres``, ``directors``, ``cast``, ``writers``,
            ``brand``, ``categories``, ``plot``, ``rating_mean``, ``rating_count``) or an
            evidence field (``liked_neighbour``, ``intent``, ``soft_preference``, ``liked``,
            ``disliked``, ``year_min``, ``year_max``, ``genres``, ``people``).
        value: the value stated, exactly as in the record or the evidence.
        source: ``item`` (the explained item's record), ``evidence`` (the user's belief), or
            ``cf`` (a collaborative-filtering neighbour relation).
    """

    field: str
    value: str | int | float
    source: Literal["item", "evidence", "cf"] = "item"


class Explanation(BaseModel):
    """A grounded narrative.

    Attributes:
        item_id: the explained item; None for a user summary.
        kind: the narrative kind.
        text: the narrative; every checkable fact in it passed :func:`verify`.
        facts: the facts the text states, each taken from the record or the evidence.
    """

    item_id: str | None
    kind: NarrativeKind
    text: str
    facts: list[Fact] = Field(default_factory=list)
