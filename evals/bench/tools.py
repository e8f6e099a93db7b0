"""``crsagent bench tools``: build time, product-database filters, vector search and the linker.

The benchmark builds the catalogue, the vector index and the ONNX query encoder of a domain
from scratch into a temporary data home (``build_seconds``; ``rebuild=False`` reuses the
configured home), so queries are embedded as in serving, then
times, after a warm-up, at least 200 product-database filters and 200 vector searches of
varied, realistic shapes (medians and 95th percentiles), and runs the ReDial entity-linking
protocol (:mod:`crsagent.evals.linker_eval`). Query shapes are drawn with a fixed seed from
the catalogue itself, so two runs measure the same work. Wall-clock timings suffer when other
processes share the cores, so the report adds the load average and the CPU time of a search
on one thread (``vector_search_cpu_p50_ms``), which does not. Last, ``rank_candidates`` is
timed on the configured home's full build (:mod:`crsagent.evals.bench.ranking`; target p50
<= 10 ms).
"""

from __future__ import annotations

import os
import random
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from crsagent.agent.domains import domain_spec
from crsagent.agent.settings import Settings
from crsagent.tools.catalog.schema import Item, ItemFilter

__all__ = ["run_tools_bench", "filter_workload", "query_workload", "percentiles"]

Progress = Callable[[str, int | None], Callable[[int], None]]
_QUERY_TEMPLATES = (
    "a {genre} movie about {topic}",
    "something {mood} with {topic}",
    "{mood} {genre} film",
    "movies like {title}",
    "I want a {genre} with {person}",
    "{topic}",
)
_TOPICS = (
    "ghosts in a haunted house", "a heist that goes wrong", "time travel", "a road trip with friends",
    "a detective solving a murder", "robots and artificial intelligence", "first love in high school",
    "a war hero coming home", "a dog and its owner", "surviving in space", "a wedding disaster",
    "a small town secret", "revenge", "a superhero saving the city", "a family holiday",
    "zombies at the end of the world", "a musician chasing fame", "a sports team underdog story",
)  # fmt: skip
_MOODS = ("funny", "dark", "feel-good", "scary", "sad", "exciting", "romantic", "thought-provoking", "light")


def percentiles(samples_ms: Sequence[float]) -> tuple[float, float]:
    """(median, 95th percentile) of timings in milliseconds."""
    if not samples_ms:
        return 0.0, 0.0
    q = statistics.quantiles(samples_ms, n=20) if len(samples_ms) > 1 else [samples_ms[0]] * 19
    return round(statistics.median(samples_ms), 3), round(q[18], 3)


def _time(fn: Callable[[Any], Any], args: Sequence[Any], warmup: int = 20) -> list[float]:
    for a in args[:warmup]:
        fn(a)
    out = []
    for a in args:
        t0 = time.perf_counter()
        fn(a)
        out.append((time.perf_counter() - t0) * 1000.0)
    return out


def _cpu_ms(fn: Callable[[Any], Any], args: Sequence[Any]) -> list[float]:
    """Per-call CPU time of the calling thread with torch on one thread: the compute a call
    costs, free of waiting for a busy machine (an idle one-core latency)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for a in args[:5]:
            fn(a)
        out = []
        for a in args:
            t0 = time.thread_time()
            fn(a)
            out.append((time.thread_time() - t0) * 1000.0)
        return out
    finally:
        torch.set_num_threads(threads)


def filter_workload(items: list[Item], n: int = 240, seed: int = 7) -> list[ItemFilter]:
    """Varied, realistic filters drawn from the catalogue (genres, years, people, ratings, text)."""
    rng = random.Random(seed)
    genres = sorted({g for it in items for g in it.genres})
    brands = sorted({it.brand for it in items if it.brand})
    popular = sorted(items, key=lambda it: -it.popularity)[:500]
    people = sorted({p for it in popular for p in (*it.directors[:1], *it.cast[:2])})
    words = sorted({w for it in popular for w in it.title.lower().split() if len(w) > 4})
    out: list[ItemFilter] = []
    for i in range(n):
        shape = i % 6
        f: dict[str, Any] = {}
        if genres and shape in (0, 1, 3, 5):
            f["genres_any"] = rng.sample(genres, k=min(len(genres), rng.choice((1, 2))))
        if shape in (1, 4):
            lo = rng.randrange(1950, 2015)
            f["year_min"], f["year_max"] = lo, lo + rng.choice((4, 9, 19))
        if people and shape == 2:
            f["people"] = [rng.choice(people)]
        if shape == 3:
            f["min_rating"] = rng.choice((3.0, 3.5, 4.0))
            if genres:
                f["exclude_genres"] = [g for g in rng.sample(genres, k=1) if g not in f.get("genres_any", [])]
        if brands and shape == 4:
            f["brand"] = rng.choice(brands)
        if words and shape == 5:
            f["text_contains"] = rng.choice(words)
        out.append(ItemFilter.model_validate(f))
    return out


def query_workload(items: list[Item], n: int = 240, seed: int = 11) -> list[str]:
    """Varied, realistic search texts (moods, topics, genres, people, 'movies like X')."""
    rng = random.Random(seed)
    genres = sorted({g for it in items for g in it.genres}) or ["product"]
    popular = sorted(items, key=lambda it: -it.popularity)[:300]
    people = sorted({p for it in popular for p in it.cast[:2]}) or ["anyone"]
    out = []
    for i in range(n):
        out.append(
            _QUERY_TEMPLATES[i % len(_QUERY_TEMPLATES)].format(
                genre=rng.choice(genres),
                topic=rng.choice(_TOPICS),
                mood=rng.choice(_MOODS),
                title=rng.choice(popular).title if popular else "this",
                person=rng.choice(people),
            )  # fmt: skip
        )
    return out


def _build(settings: Settings, domain: str, progress: Progress | None, log: Callable[[str], None]) -> dict[str, float]:
    from crsagent.tools.artifacts import ArtifactStore
    from crsagent.tools.pipeline import BuildContext, run_build

    extra: dict[str, Any] = {"progress": progress} if progress is not None else {}
    ctx = BuildContext(settings=settings, domain=domain, store=ArtifactStore(settings.home, domain), log=log, **extra)
    # the encoder too: serving embeds queries with it, and the timed searches should as well
    return {r.name: round(r.seconds, 2) for r in run_build(ctx, only=["search", "encoder"])}


def _ranking_times(settings: Settings, domain: str, progress: Progress | None) -> dict[str, Any]:
    """``rank_candidates`` timings on the configured home (:mod:`crsagent.evals.bench.ranking`); None when
    that home has no models built."""
    from crsagent.agent.errors import NotBuiltError
    from crsagent.evals.bench.ranking import time_rank_candidates

    if not domain_spec(domain).dialogues:  # the beliefs come from ReDial dialogues
        return {}
    step = progress("bench: rank_candidates", None) if progress else (lambda n=1: None)
    try:
        out = time_rank_candidates(settings, domain)
    except NotBuiltError:
        return {"rank_candidates_p50_ms": None, "rank_candidates_p95_ms": None}
    step(out["rank_candidates_timed"])
    return out


def run_tools_bench(
    settings: Settings,
    domain: str = "movies",
    rebuild: bool = True,
    n_queries: int = 240,
    progress: Progress | None = None,
    log: Callable[[str], None] = lambda msg: None,
) -> dict[str, Any]:
    """Run the benchmark.

    Args:
        settings: run settings (the data dir; the home unless ``rebuild``).
        domain: ``movies`` or ``office``.
        rebuild: build catalogue + index from scratch in a temporary home and time it;
            False reuses (and if needed builds) the configured home and reports
            ``build_seconds`` as None.
        n_queries: timed filters and searches each (at least 200 is the protocol).
        progress: ``progress(description, total) -> advance(n)``.
        log: progress messages.

    Returns:
        One JSON-able dict (the keys of the issue, plus details).
    """
    from crsagent.evals.linker_eval import run_linker_eval
    from crsagent.tools.catalog.db import ProductDB
    from crsagent.tools.search.stage import load_index

    configured = settings
    tmp: Path | None = None
    if rebuild:
        tmp = Path(tempfile.mkdtemp(prefix="crsagent-bench-"))
        settings = replace(settings, home=tmp, database_url=None)
    try:
        stages = _build(settings, domain, progress, log)
        with ProductDB.for_domain(settings, domain) as db:
            items = db.all_items()
            step = progress("bench: product database filters", None) if progress else (lambda n=1: None)
            filters = filter_workload(items, n_queries)
            db_ms = _time(lambda f: db.filter(f, limit=50), filters)
            step(len(filters))
            index = load_index(settings, domain, db=db)
            try:
                step = progress("bench: vector search", None) if progress else (lambda n=1: None)
                texts = query_workload(items, n_queries)
                load_before = os.getloadavg()[0]
                vs_ms = _time(lambda t: index.query(t, k=50), texts)
                vs_cpu = _cpu_ms(lambda t: index.query(t, k=50), texts[:60])
                filtered = list(zip(texts, filters))
                vsf_ms = _time(lambda tf: index.query(tf[0], k=50, filter=tf[1]), filtered)
                step(len(texts) + len(filtered))
            finally:
                index.close()
        report: dict[str, Any] = {"catalog_items": len(items)}
        report["build_seconds"] = round(sum(stages.values()), 2) if rebuild else None
        report["db_filter_p50_ms"], report["db_filter_p95_ms"] = percentiles(db_ms)
        report["vector_search_p50_ms"], report["vector_search_p95_ms"] = percentiles(vs_ms)
        if domain_spec(domain).dialogues:
            step = progress("bench: entity linker (ReDial protocol)", None) if progress else (lambda n=1: None)
            lk = run_linker_eval(settings, max_errors=0)
            step(lk.messages)
            report.update(linker_precision=lk.precision, linker_recall=lk.recall, linker_p50_ms=lk.p50_ms)
            report.update(
                linker_title_precision=lk.title_precision,
                linker_links_outside_titles=lk.links_outside_titles,
                linker_messages=lk.messages,
                linker_p95_ms=lk.p95_ms,
                linker_audited_precision=lk.audited_precision,
            )
        else:
            report.update(linker_precision=None, linker_recall=None, linker_p50_ms=None)
        vsf50, vsf95 = percentiles(vsf_ms)
        report.update(
            domain=domain,
            rebuilt=rebuild,
            build_stage_seconds=stages if rebuild else {},
            vector_search_k=50,
            vector_search_filtered_p50_ms=vsf50,
            vector_search_filtered_p95_ms=vsf95,
            vector_search_cpu_p50_ms=percentiles(vs_cpu)[0],
            load_avg_1m=round(load_before, 2),
            timed_filters=len(db_ms),
            timed_searches=len(vs_ms),
            cpu_count=os.cpu_count(),
        )
        report.update(_ranking_times(configured, domain, progress))
        return report
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
