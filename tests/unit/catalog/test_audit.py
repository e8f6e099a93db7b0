"""The catalogue audit's checks and the join's repairs (issue 21)."""

from __future__ import annotations

from crsagent.tools.catalog.audit import audit_movies, titles_agree, years_agree
from crsagent.tools.catalog.build import join_movies
from crsagent.tools.catalog.schema import Item
from crsagent.tools.catalog.sources import MovieLensMovie, RedialMovie


def test_titles_agree_tells_sequels_and_other_films_apart() -> None:
    assert titles_agree("Paddington Bear", "Paddington")
    assert titles_agree("Star Wars", "Star Wars: Episode IV - A New Hope")
    assert titles_agree("Men in Black 3", "Men in Black III")
    assert titles_agree("2046", "2046")
    assert not titles_agree("Spider", "Spider-Man 3")
    assert not titles_agree("High School Musical 2", "High School Musical")
    assert not titles_agree("To Die For", "Steel Magnolias")
    assert years_agree(2016, 2017) and not years_agree(2007, 1999) and years_agree(None, 1999)


def _rd(rid: int, name: str, imdb: str, director: str) -> RedialMovie:
    return RedialMovie(rid, name, ("thriller",), f"plot of {name}", (director,), (), ("Someone",), imdb)


def test_join_repairs_what_the_audit_finds() -> None:
    ml = [MovieLensMovie(1, "Split (2017)", ("Horror",)), MovieLensMovie(2, "Spider-Man 3 (2007)", ("Action",))]
    links = {1: "tt4972582", 2: "tt0413300"}
    redial = [
        _rd(10, "Split (2017)", "tt5971716", "Nick Everhart"),  # another film's IMDb id, joined by title
        _rd(11, "Spider (2007)", "tt0413300", "Sam Raimi"),  # Spider-Man 3's IMDb id
        _rd(12, "Spider-Man 3 (2007)", "tt0413300", "Sam Raimi"),
    ]
    before = join_movies(ml, links, {}, redial, {}, repair=False)
    after = join_movies(ml, links, {}, redial, {}, repair=True)

    def findings(data) -> list[str]:
        rlinks = {s.source_id: s.item_id for s in data.links if s.source == "redial"}
        mlt = {s.item_id: s.title for s in data.links if s.source == "movielens"}
        rd = {str(r.redial_id): (r.name, r.imdb_id) for r in redial}
        kept = {k: k not in set(data.set_aside) for k in rlinks}
        return sorted(f.kind for f in audit_movies(data.items, rlinks, rd, mlt, kept))

    assert findings(before) == ["imdb_title_mismatch", "metadata_other_film"]
    assert findings(after) == []
    by_id = {it.item_id: it for it in after.items}
    assert "Nick Everhart" not in by_id["tt4972582"].directors  # the other Split's people are set aside
    assert by_id["tt0413300"].directors == ["Sam Raimi"]  # Spider-Man 3 keeps its own entry's people
    assert all(it.title != "Spider" for it in after.items)  # no item of that name, and no alias
    assert "Spider" not in after.aliases.get("tt0413300", [])
    assert "Spider" in before.aliases.get("tt0413300", [])


def test_duplicate_titles_are_listed_for_review() -> None:
    items = [
        Item(item_id="a", domain="movies", title="Insidious", year=2010),
        Item(item_id="b", domain="movies", title="Insidious", year=2011),
        Item(item_id="c", domain="movies", title="Heat", year=1995),
    ]
    found = audit_movies(items, {}, {}, {})
    assert [(f.kind, f.item_id, f.source_id) for f in found] == [("duplicate_title", "b", "a")]
