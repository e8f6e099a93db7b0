"""``crsagent bench tools`` end to end on tiny raw data (real build, real index, real linker)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from typer.testing import CliRunner

from crsagent.agent.cli import app
from crsagent.evals.bench.tools import filter_workload, percentiles, query_workload

MOVIES = [  # MovieLens id, title, genres, IMDb number, ReDial id, plot
    (1, "Toy Story (1995)", "Adventure|Animation|Children|Comedy", "0114709", "101", "Toys come to life."),
    (2, "Heat (1995)", "Action|Crime|Thriller", "0113277", "102", "A thief and a detective face off in Los Angeles."),
    (3, "Babadook, The (2014)", "Drama|Horror", "2321549", "103", "A widow and her son are haunted by a monster."),
    (4, "It Follows (2014)", "Horror", "3235888", "104", "A curse passes from person to person."),
    (5, "Forrest Gump (1994)", "Comedy|Drama|Romance", "0109830", "105", "A kind man lives through history."),
]


def _csv(path: Path, header: list[str], rows: list[tuple[object, ...]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)


def write_data(root: Path) -> Path:
    ml = root / "movielens-latest-small"
    _csv(ml / "movies.csv", ["movieId", "title", "genres"], [(m, t, g) for m, t, g, *_ in MOVIES])
    _csv(ml / "links.csv", ["movieId", "imdbId", "tmdbId"], [(m, i, "") for m, _, _, i, *_ in MOVIES])
    ratings = [(u, m, 4.0, 0) for u in (1, 2) for m, *_ in MOVIES]
    _csv(ml / "ratings.csv", ["userId", "movieId", "rating", "timestamp"], ratings)
    _csv(ml / "tags.csv", ["userId", "movieId", "tag", "timestamp"], [])
    rd = root / "redial"
    rd.mkdir(parents=True)
    info = {r: {"name": t, "genre": g.lower().split("|"), "plot": p, "director": [], "writer": [], "star": [],
                "imdb_id": "tt" + i} for _, t, g, i, r, p in MOVIES}  # fmt: skip
    (rd / "movie_info.json").write_text(json.dumps(info))
    mentions = [(r, t, 5) for _, t, _, _, r, _ in MOVIES]
    _csv(rd / "movies_with_mentions.csv", ["movieId", "movieName", "nbMentions"], mentions)
    dialogue = {"conversationId": "1", "initiatorWorkerId": 1, "respondentWorkerId": 2,
                "movieMentions": {"103": "The Babadook (2014)", "101": "Toy Story (1995)"},
                "messages": [{"senderWorkerId": 1, "text": "I loved @103 and @101", "turn_id": 0},
                             {"senderWorkerId": 2, "text": "Try @103", "turn_id": 1}]}  # fmt: skip
    (rd / "dev_dialogues.jsonl").write_text(json.dumps(dialogue) + "\n")
    return root


def test_workloads_are_varied_and_deterministic(tmp_path: Path) -> None:
    from tests.unit.search.conftest import SMALL_MOVIES  # noqa: PLC0415

    filters = filter_workload(SMALL_MOVIES, 60)
    assert len(filters) == 60 and len({f.model_dump_json() for f in filters}) > 30
    assert filters == filter_workload(SMALL_MOVIES, 60)
    texts = query_workload(SMALL_MOVIES, 60)
    assert len(set(texts)) > 40 and texts == query_workload(SMALL_MOVIES, 60)
    p50, p95 = percentiles([1.0, 2.0, 3.0, 4.0])
    assert p50 == 2.5 and 3.0 <= p95 <= 5.0
    assert percentiles([5.0]) == (5.0, 5.0) and percentiles([]) == (0.0, 0.0)


def test_bench_tools_command_prints_one_json_object(tmp_path: Path) -> None:
    data = write_data(tmp_path / "data")
    out = tmp_path / "report.json"
    env = {"CRSAGENT_DATA": str(data), "CRSAGENT_HOME": str(tmp_path / "home")}
    result = CliRunner().invoke(app, ["bench", "tools", "--json", str(out), "--queries", "20"], env=env)
    assert result.exit_code == 0, result.output
    last = result.stdout.strip().splitlines()[-1]
    report = json.loads(last)
    assert report == json.loads(out.read_text())
    for key in ("catalog_items", "build_seconds", "db_filter_p50_ms", "db_filter_p95_ms", "vector_search_p50_ms",
                "vector_search_p95_ms", "linker_precision", "linker_recall", "linker_p50_ms"):  # fmt: skip
        assert key in report
    assert report["catalog_items"] == len(MOVIES)
    assert report["build_seconds"] > 0 and report["rebuilt"] is True
    assert set(report["build_stage_seconds"]) == {"catalog", "search", "encoder"}
    assert report["linker_recall"] == 1.0 and report["linker_precision"] == 1.0
    assert report["linker_audited_precision"] is None  # the tiny data has no audit file
    assert report["timed_searches"] == 20
    assert not (tmp_path / "home").exists()  # the rebuild went to a temporary home, removed after
