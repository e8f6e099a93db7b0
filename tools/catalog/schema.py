"""The catalogue's typed records: :class:`Item` and the :class:`ItemFilter` tools accept.

Item ids are stable strings: movies use the IMDb id (``tt0114709``), office products use
``amz-<source id>``. Every other module refers to items by these ids.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from crsagent.agent.errors import InvalidFilterError

__all__ = ["Item", "ItemFilter", "ScoredItem"]


class Item(BaseModel):
    """One catalogue item with the facts the agent may state about it.

    Attributes:
        item_id: stable id (``tt...`` for movies, ``amz-...`` for office products).
        domain: ``movies`` or ``office``.
        title: display title without the year.
        year: release year (movies).
        genres: lower-case genre names.
        directors: director names.
        writers: writer names.
        cast: leading actors.
        plot: plot (movies) or description with HTML removed (office).
        brand: brand (office).
        categories: category path (office), often empty.
        rating_mean: MovieLens mean rating (0.5-5), None when unrated.
        rating_count: number of MovieLens ratings.
        mentions: number of ReDial dialogue mentions.
        popularity: a single popularity figure (interactions + mentions), for ranking.
        ml_id: MovieLens movieId, when joined.
        redial_id: ReDial movie id, when joined.
        source_id: the id in the source dataset (office: the Amazon dataset's item id).
    """

    model_config = ConfigDict(extra="forbid")

    item_id: str
    domain: Literal["movies", "office"]
    title: str
    year: int | None = None
    genres: list[str] = Field(default_factory=list)
    directors: list[str] = Field(default_factory=list)
    writers: list[str] = Field(default_factory=list)
    cast: list[str] = Field(default_factory=list)
    plot: str = ""
    brand: str | None = None
    categories: list[str] = Field(default_factory=list)
    rating_mean: float | None = None
    rating_count: int = 0
    mentions: int = 0
    popularity: float = 0.0
    ml_id: int | None = None
    redial_id: int | None = None
    source_id: str | None = None

    @property
    def display_title(self) -> str:
        """``Title (Year)`` for movies with a year, else the title."""
        return f"{self.title} ({self.year})" if self.year else self.title


class ItemFilter(BaseModel):
    """Hard constraints on catalogue items. Every field is optional; set fields are ANDed.

    It is translated into a parameterised SQLAlchemy query: no SQL text from an LLM or a user
    ever reaches the database.

    Attributes:
        genres_any: at least one of these genres.
        genres_all: all of these genres.
        exclude_genres: none of these genres.
        year_min: released in or after this year.
        year_max: released in or before this year.
        people: each name must appear among directors, writers or cast (case-insensitive).
        brand: the brand equals this (case-insensitive).
        exclude_brands: none of these brands (case-insensitive; items without a brand stay).
        min_rating: MovieLens mean rating at least this (0-5).
        min_popularity: popularity at least this.
        include_ids: only these ids.
        exclude_ids: never these ids.
        text_contains: title or plot/description contains this text (case-insensitive).
    """

    model_config = ConfigDict(extra="forbid")

    genres_any: list[str] = Field(default_factory=list)
    genres_all: list[str] = Field(default_factory=list)
    exclude_genres: list[str] = Field(default_factory=list)
    year_min: int | None = Field(default=None, ge=1800, le=2100)
    year_max: int | None = Field(default=None, ge=1800, le=2100)
    people: list[str] = Field(default_factory=list)
    brand: str | None = None
    exclude_brands: list[str] = Field(default_factory=list)
    min_rating: float | None = Field(default=None, ge=0.0, le=5.0)
    min_popularity: float | None = Field(default=None, ge=0.0)
    include_ids: list[str] | None = None
    exclude_ids: list[str] = Field(default_factory=list)
    text_contains: str | None = Field(default=None, max_length=200)

    @model_validator(mode="after")
    def _consistent(self) -> ItemFilter:
        if self.year_min is not None and self.year_max is not None and self.year_min > self.year_max:
            raise InvalidFilterError(f"year_min ({self.year_min}) is after year_max ({self.year_max})")
        clash = {g.lower() for g in self.genres_all} & {g.lower() for g in self.exclude_genres}
        if clash:
            raise InvalidFilterError(f"genres both required and excluded: {sorted(clash)}")
        return self

    def is_empty(self) -> bool:
        """True when the filter constrains nothing."""
        return self == ItemFilter()


class ScoredItem(BaseModel):
    """An item id with a score from one tool (higher is better)."""

    item_id: str
    score: float
    title: str | None = None
