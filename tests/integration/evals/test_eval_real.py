"""The evaluation harness over the real movies build and the real crs-only agent (no LLM)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from crsagent.agent.cli import app
from crsagent.agent.settings import Settings
from crsagent.evals.datasets import TitleResolver, catalog_items, load_turns, select_turns
from crsagent.evals.replay import PopularityRunner, run_replay

REQUIRED = (
    "recall@1",
    "recall@10",
    "recall@50",
    "n",
    "filtered_recall@1",
    "filtered_recall@10",
    "filtered_recall@50",
    "filtered_n",
    "dedup_recall@1",
    "dedup_recall@10",
    "dedup_recall@50",
    "dedup_n",
    "sr",
    "rdl",
    "dedup_sr",
    "dedup_rdl",
)


@pytest.fixture(scope="module")
def movies(movies_home: Settings):
    items = catalog_items(movies_home)
    return movies_home, items, TitleResolver.from_catalog(movies_home, items=items)


@pytest.fixture(scope="module")
def dev30(movies):
    settings, _, _ = movies
    return select_turns(load_turns(settings.data_dir / "redial" / "dev_turns.jsonl"), 30, seed=11)


def _last_json(output: str) -> dict:
    return json.loads(output.strip().splitlines()[-1])


def test_every_dev_title_maps_to_the_real_catalogue(movies):
    settings, _, resolver = movies
    turns = load_turns(settings.data_dir / "redial" / "dev_turns.jsonl")
    titles = {t for turn in turns for t in turn.rec}
    unmapped = [t for t in titles if resolver.resolve(t) is None]
    assert len(unmapped) <= 0.01 * len(titles), unmapped[:20]


def test_replay_crs_only_on_30_real_turns(movies, dev30, tmp_path):
    settings, items, resolver = movies
    out = tmp_path / "replay.json"
    res = CliRunner().invoke(
        app,
        [
            "eval",
            "replay",
            "--variant",
            "crs-only",
            "--limit",
            "30",
            "--sample-seed",
            "11",
            "--json",
            str(out),
            "--home",
            str(settings.home),
        ],
    )
    assert res.exit_code == 0, res.output
    s = _last_json(res.stdout)
    assert all(k in s for k in REQUIRED)
    assert s == json.loads(out.read_text())
    assert s["n"] == sum(len(t.rec) for t in dev30) and s["turns"] == 30
    assert 0 < s["filtered_n"] <= s["n"] and s["dedup_n"] == s["filtered_n"]
    assert all(k in s["splits"][half] for k in REQUIRED for half in ("heldout", "train"))
    assert s["dedup_recall@10"] <= s["filtered_recall@10"]  # the same samples; filtered also clears the ranking
    assert 0.0 <= s["dedup_rdl"] <= s["dedup_sr"] <= 1.0 and 0.0 <= s["rdl"] <= s["sr"] <= 1.0
    assert s["mention_counts"] == "train-half" and s["dialogues_file"].endswith("dev_dialogues.jsonl")
    assert s["errors"] == 0 and s["unmapped"] == 0
    assert s["llm_calls_per_turn"] == 0.0  # crs-only calls no LLM
    assert 0.0 <= s["recall@1"] <= s["recall@10"] <= s["recall@50"] <= 1.0
    pop = run_replay(PopularityRunner(items), dev30, resolver).summary
    assert s["recall@50"] >= pop["recall@50"] - 0.1  # not far below the popularity baseline
    part = tmp_path / "replay.partial.jsonl"
    assert len(part.read_text().splitlines()) == 31  # header + one line per turn
    again = CliRunner().invoke(
        app,
        [
            "eval",
            "replay",
            "--variant",
            "crs-only",
            "--limit",
            "30",
            "--sample-seed",
            "11",
            "--json",
            str(out),
            "--home",
            str(settings.home),
        ],
    )
    resumed = _last_json(again.stdout)
    assert resumed["resumed"] == 30 and resumed["recall@50"] == s["recall@50"]


def test_simulate_understanding_report_commands(movies, tmp_path):
    settings, _, _ = movies
    home = ["--home", str(settings.home)]
    sim = CliRunner().invoke(
        app,
        [
            "eval",
            "simulate",
            "--simulator",
            "agenda",
            "--targets",
            "3",
            "--max-turns",
            "3",
            "--json",
            str(tmp_path / "sim.json"),
            *home,
        ],
    )
    assert sim.exit_code == 0, sim.output
    s = _last_json(sim.stdout)
    assert s["dialogues"] == 3 and set(s["success_by_turn"]) == {"1", "2", "3"}
    assert 1 <= s["avg_turns"] <= 4
    lines = (tmp_path / "sim.transcripts.jsonl").read_text().splitlines()
    assert len(lines) == 3 and json.loads(lines[0])["transcript"][0]["role"] == "user"

    und = CliRunner().invoke(
        app,
        ["eval", "understanding", "--limit", "20", "--sample-seed", "3", "--json", str(tmp_path / "und.json"), *home],
    )
    assert und.exit_code == 0, und.output
    u = _last_json(und.stdout)
    assert u["turns"] == 20 and u["items"]["gold"] > 0 and u["items"]["recall"] > 0.5

    rep = CliRunner().invoke(
        app,
        [
            "eval",
            "report",
            "--crs-limit",
            "15",
            "--sim-targets",
            "2",
            "--max-turns",
            "2",
            "--understanding-limit",
            "10",
            "--out",
            str(tmp_path / "rep"),
            *home,
        ],
    )
    assert rep.exit_code == 0, rep.output
    r = _last_json(rep.stdout)
    assert set(r["claims"]) == {
        "LLM assists CRS",
        "CRS assists LLM",
        "Latent intents help",
        "CF + semantic fusion helps",
    }
    for name in ("report.md", "report.json", "recall.png", "success.png"):
        assert (tmp_path / "rep" / name).stat().st_size > 0


def test_leak_free_catalogue_on_the_real_build(movies, tmp_path):
    from crsagent.evals.leakage import item_mentions, leak_free_settings, mention_counts
    from crsagent.tools.catalog.db import ProductDB

    settings, items, _ = movies
    with ProductDB.for_domain(settings, "movies") as db:
        redial_map = db.source_map("redial")
    corpus = item_mentions(mention_counts(settings.data_dir, "corpus"), redial_map)
    assert all(it.mentions == corpus.get(it.item_id, 0) for it in items)  # the build's rule, recomputed
    clean = leak_free_settings(settings, "heldout-removed", tmp_path / "w")
    assert clean.database_url and (clean.data_dir / "redial" / "dev_turns.jsonl").is_file()
    with ProductDB.for_domain(clean, "movies") as db:
        after = {it.item_id: it for it in db.all_items()}
    assert set(after) == {it.item_id for it in items}
    assert all(after[it.item_id].mentions <= it.mentions for it in items)
    assert (
        sum(it.mentions for it in items) - sum(it.mentions for it in after.values()) > 1000
    )  # the held-out half's mentions
    assert all(after[it.item_id].popularity == it.rating_count + after[it.item_id].mentions for it in items)
    assert leak_free_settings(settings, "corpus", tmp_path / "c") is settings
