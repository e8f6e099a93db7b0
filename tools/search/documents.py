"""The text each item is embedded from: title, attributes, then plot or description.

All-MiniLM-L6-v2 reads at most 256 word pieces and was trained on 128, so the facts a user
asks for (title, year, genres, people, brand) come first and the plot is cut to fit.
"""

from __future__ import annotations

from crsagent.tools.catalog.schema import Item

__all__ = ["item_document", "DOC_VERSION"]

DOC_VERSION = 1  # bump when the document format changes (it changes every embedding)
_MAX_PLOT_CHARS = 600
_MAX_PEOPLE = 4


def _names(values: list[str], n: int = _MAX_PEOPLE) -> str:
    return ", ".join(values[:n])


def item_document(item: Item, max_plot_chars: int = _MAX_PLOT_CHARS) -> str:
    """The document text of one item.

    Args:
        item: a catalogue item.
        max_plot_chars: the plot or description is cut at a word boundary to this length.

    Returns:
        For a movie, ``"Heat (1995). Genres: action, crime. Directed by Michael Mann.
        Starring Al Pacino, Robert De Niro. <plot>"``; for a product, ``"<title>. Brand: X.
        Category: a > b. <description>"``.
    """
    parts = [item.display_title + "."]
    if item.brand:
        parts.append(f"Brand: {item.brand}.")
    if item.categories:
        parts.append(f"Category: {' > '.join(item.categories[:4])}.")
    if item.genres:
        parts.append(f"Genres: {', '.join(item.genres)}.")
    if item.directors:
        parts.append(f"Directed by {_names(item.directors, 2)}.")
    if item.cast:
        parts.append(f"Starring {_names(item.cast)}.")
    plot = " ".join(item.plot.split())
    if len(plot) > max_plot_chars:
        plot = plot[:max_plot_chars].rsplit(" ", 1)[0]
    if plot:
        parts.append(plot)
    return " ".join(parts)
