"""``crsagent eval office`` on the real office build: sane figures, computed from the real models.

The fast form (``refit=False``: the built models, a sample of users split into the tuning and
check halves, one simulated dialogue a half);
the refitted protocol's figures are in ``docs/journal/2026-12-07-office-and-ranker-speed.md``.
"""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from crsagent.agent.cli import app
from crsagent.agent.settings import Settings
from crsagent.evals.metrics import ranking_metrics
from crsagent.evals.office import history_belief, office_split, split_halves, user_half
from crsagent.graphs.ranking import DEFAULT_WEIGHTS, OFFICE_WEIGHTS, rank_candidates
from crsagent.tools.toolkit import Toolkit

USERS = 60


def test_office_eval_reports_every_model_and_the_simulated_success(office_home: Settings, tmp_path: Path) -> None:
    out = tmp_path / "office.json"
    args = ["eval", "office", "--users", str(USERS), "--sim-targets", "1", "--built-models", "--seed", "3"]
    res = CliRunner().invoke(app, [*args, "--json", str(out), "--home", str(office_home.home)])
    assert res.exit_code == 0, res.output
    r = json.loads(out.read_text())
    assert r["domain"] == "office" and r["users"] == USERS and r["leaky"] is True and r["items"] > 1000
    assert r["weights"] == {"office": OFFICE_WEIGHTS.as_dict(), "movies": DEFAULT_WEIGHTS.as_dict()}
    halves = r["halves"]
    assert set(halves) == {"tuning", "check"} and sum(h["users"] for h in halves.values()) == USERS
    for half in halves.values():
        assert half["users"] > 0
        assert set(half["offline"]) == {"popularity", "cf", "sequential", "fused_movie_weights", "fused_office_weights"}
        for m in half["offline"].values():
            assert 0.0 <= m["ndcg@10"] <= m["recall@10"] <= 1.0  # one target a user: NDCG@10 <= hit@10

    # the fused figures are the real rankings of the same users, recomputed here independently:
    # the office toolkit's default weights are the office ones
    split = office_split(office_home, users=USERS, seed=3, refit=False)
    tk = Toolkit.load(office_home, "office").with_handles(cf=split.cf, seq=split.seq)
    for name, sub in split_halves(split).items():
        assert all(user_half(h.user_id) == name for h in sub.users)
        hits: dict[str, list[float]] = {"fused_office_weights": [], "fused_movie_weights": []}
        for h, target in zip(sub.users, sub.targets, strict=True):
            for key, weights in (("fused_office_weights", None), ("fused_movie_weights", DEFAULT_WEIGHTS)):
                cands, _ = rank_candidates(tk, history_belief(h.items), "", k=10, weights=weights)
                assert not {c["item_id"] for c in cands} & set(h.items)  # the history is never recommended
                hits[key].append(ranking_metrics([c["item_id"] for c in cands], {target}, ks=(10,))["recall@10"])
        for key, got in hits.items():
            assert halves[name]["offline"][key]["recall@10"] == round(sum(got) / len(got), 4)
        sim = halves[name]["simulate"]
        assert set(sim) == {"office_weights"}  # the movie-weight dialogues only with --sim-movie-weights
        one = sim["office_weights"]
        assert one["dialogues"] == 1 and one["errors"] == 0 and 0.0 <= one["success@5"] <= 1.0
        assert set(one["targets"]) <= set(sub.targets)  # targets are the half's held-out next items
