"""The text embedded per item."""

from __future__ import annotations

from crsagent.tools.catalog.schema import Item
from crsagent.tools.search.documents import item_document


def test_movie_document_puts_facts_first_and_cuts_the_plot() -> None:
    movie = Item(item_id="tt0113277", domain="movies", title="Heat", year=1995, genres=["action", "crime"],
                 directors=["Michael Mann"], cast=["Al Pacino", "Robert De Niro", "Val Kilmer", "Jon Voight", "Tom"],
                 plot="word " * 400)  # fmt: skip
    doc = item_document(movie)
    assert doc.startswith("Heat (1995). Genres: action, crime. Directed by Michael Mann. Starring Al Pacino,")
    assert "Tom" not in doc  # at most four actors
    assert len(doc) < 800


def test_office_document_has_brand_and_category() -> None:
    pen = Item(item_id="amz-1", domain="office", title="Gel Pens, 12 pack", brand="Pilot",
               categories=["Office Products", "Writing"], plot="Smooth gel ink.")  # fmt: skip
    assert item_document(pen) == (
        "Gel Pens, 12 pack. Brand: Pilot. Category: Office Products > Writing. Smooth gel ink."
    )
