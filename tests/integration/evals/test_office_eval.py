"""``crsagent eval office`` on the real office build: sane figures, computed from the real models.

The fast form (``refit=False``: the built models, a sample of users, two simulated dialogues);
the refitted protocol's figures are in ``docs/journal/2026-12-07-office-and-ranker-speed.md``.
"""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from crsagent.agent.cli import app
from crsagent.agent.settings import Settings
from crsagent.evals.metrics import ranking_metrics
from crsagent.evals.office import history_belief, office_split
from crsagent.graphs.ranking import rank_candidates
from crsagent.tools.toolkit import Toolkit

USERS = 60


def test_office_eval_reports_every_model_and_the_simulated_success(office_home: Settings, tmp_path: Path) -> None:
    out = tmp_path / "office.json"
    args = ["eval", "office", "--users", str(USERS), "--sim-targets", "2", "--built-models", "--seed", "3"]
    res = CliRunner().invoke(app, [*args, "--json", str(out), "--home", str(office_home.home)])
    assert res.exit_code == 0, res.output
    r = json.loads(out.read_text())
    assert r["domain"] == "office" and r["users"] == USERS and r["leaky"] is True and r["items"] > 1000
    assert set(r["offline"]) == {"popularity", "cf", "sequential", "fused"}
    for m in r["offline"].values():
        assert 0.0 <= m["ndcg@10"] <= m["recall@10"] <= 1.0  # one target a user: NDCG@10 <= hit@10
    assert r["offline"]["cf"]["recall@10"] > 0 and r["offline"]["sequential"]["recall@10"] > 0

    # the fused figure is the real ranking of the same users, recomputed here independently
    split = office_split(office_home, users=USERS, seed=3, refit=False)
    tk = Toolkit.load(office_home, "office").with_handles(cf=split.cf, seq=split.seq)
    hits = []
    for h, target in zip(split.users, split.targets, strict=True):
        cands, _ = rank_candidates(tk, history_belief(h.items), "", k=10)
        assert not {c["item_id"] for c in cands} & set(h.items)  # the history is never recommended
        hits.append(ranking_metrics([c["item_id"] for c in cands], {target}, ks=(10,))["recall@10"])
    assert r["offline"]["fused"]["recall@10"] == round(sum(hits) / len(hits), 4)

    sim = r["simulate"]
    assert sim["dialogues"] == 2 and sim["errors"] == 0 and 0.0 <= sim["success@5"] <= 1.0
    assert set(sim["targets"]) <= set(split.targets)  # targets are held-out next items
