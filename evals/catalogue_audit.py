"""``crsagent eval catalogue``: the movies join audited against its own sources (issue 21).

The join is recomputed from ``data/`` twice, as the build did it before the audit
(``repair=False``) and as it does it now, and the built catalogue in the data home is
audited too, so the report gives the error count before and after the repairs and checks
that the build in use has them. The checks are :func:`crsagent.tools.catalog.audit.audit_movies`.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from crsagent.tools.catalog import sources as src
from crsagent.tools.catalog.audit import ERROR_KINDS, REVIEW_KINDS, Finding, audit_movies
from crsagent.tools.catalog.build import CatalogData, build_movies

__all__ = ["audit_join", "audit_built", "run_audit", "KNOWN_FACTS"]

#: Facts the issue names; the report says whether the built catalogue has them.
KNOWN_FACTS: dict[str, dict[str, Any]] = {
    "tt4972582": {"title": "Split", "directors": ["M. Night Shyamalan"]},
    "tt0113277": {"title": "Heat", "year": 1995, "directors": ["Michael Mann"]},
    "tt2404463": {"title": "The Heat", "year": 2013, "directors": ["Paul Feig"]},
}


def _redial_index(data_dir: Any) -> dict[str, tuple[str, str | None, tuple[str, ...], str]]:
    rows = src.read_redial_movies(src.redial_files(data_dir)["movie_info"])
    return {str(r.redial_id): (r.name, r.imdb_id, r.directors, r.plot) for r in rows}


def audit_join(data: CatalogData, redial: dict[str, tuple[str, str | None, tuple[str, ...], str]]) -> list[Finding]:
    """The findings of a joined catalogue (as :func:`build_movies` returns it)."""
    links = {s.source_id: s.item_id for s in data.links if s.source == "redial"}
    ml = {s.item_id: s.title for s in data.links if s.source == "movielens"}
    aside = set(data.set_aside)
    kept = {rid: rid not in aside for rid in links}
    return audit_movies(data.items, links, {k: v[:2] for k, v in redial.items()}, ml, kept)


def audit_built(
    settings: Any, redial: dict[str, tuple[str, str | None, tuple[str, ...], str]], fresh: CatalogData
) -> tuple[list[Finding], dict[str, Any]]:
    """The findings of the catalogue built in the data home, the :data:`KNOWN_FACTS` check, and
    how many of its items differ from a fresh repaired join (0: the build in use has the repairs).

    Which entries the build set aside is not stored, so it is taken from ``fresh``; the count
    of differing items (title, year, directors, cast) says whether that holds for the build.
    """
    from crsagent.tools.catalog.db import ProductDB

    ml_rows = {
        str(m.ml_id): m.title for m in src.read_movielens_movies(src.movielens_files(settings.data_dir)["movies"])
    }
    with ProductDB.for_domain(settings, "movies") as db:
        items = db.all_items()
        links = db.source_map("redial")
        ml = {item_id: ml_rows.get(mid, "") for mid, item_id in db.source_map("movielens").items()}
    by_id = {it.item_id: it for it in items}
    aside = set(fresh.set_aside)
    findings = audit_movies(items, links, {k: v[:2] for k, v in redial.items()}, ml, {r: r not in aside for r in links})
    fields = ("title", "year", "directors", "cast")
    differ = sum(
        1
        for it in fresh.items
        if (b := by_id.get(it.item_id)) is None or any(getattr(b, f) != getattr(it, f) for f in fields)
    )
    facts: dict[str, Any] = {"differs_from_fresh_join": differ}
    for item_id, want in KNOWN_FACTS.items():
        it = by_id.get(item_id)
        got = {k: getattr(it, k, None) for k in want} if it else {}
        facts[item_id] = {"expected": want, "built": got, "ok": bool(it) and all(got[k] == v for k, v in want.items())}
    return findings, facts


def run_audit(settings: Any, repaired: bool = True, keep: int = 300) -> dict[str, Any]:
    """The audit report: errors before and after the repairs, the built catalogue's, the findings."""
    redial = _redial_index(settings.data_dir)
    before = audit_join(build_movies(settings.data_dir, repair=False), redial)
    after_data = build_movies(settings.data_dir, repair=True)
    after = audit_join(after_data, redial)
    built, facts = audit_built(settings, redial, after_data)
    shown = after if repaired else before

    def errors(fs: list[Finding]) -> list[Finding]:
        return [f for f in fs if f.kind in ERROR_KINDS]

    def kinds(fs: list[Finding]) -> dict[str, int]:
        c = Counter(f.kind for f in fs)
        return {k: c.get(k, 0) for k in (*ERROR_KINDS, *REVIEW_KINDS)}

    return {
        "audited": "repaired join" if repaired else "join without repairs",
        "errors": len(errors(shown)),
        "errors_by_kind": kinds(shown),
        "errors_before": len(errors(before)),
        "errors_after": len(errors(after)),
        "built_errors": len(errors(built)),
        "by_kind": {"before": kinds(before), "after": kinds(after), "built": kinds(built)},
        "repairs": {
            k: after_data.stats.get(k, 0) for k in ("refused_imdb_joins", "metadata_set_aside", "corrected_items")
        },
        "known_facts": facts,
        "findings": [f.as_dict() for f in shown[:keep]],
    }
