"""The dialogue behaviour suite (issue 21) on ``crs-only``, over the real bundled catalogues.

Every conversation in ``evals/conversations`` is played on a fresh thread; the test asserts
the suite's target (at least 90% of the conversations pass) and prints every failure, so a
regression shows which behaviour broke. It runs in a few seconds.
"""

from __future__ import annotations

from typing import Any

import pytest

from crsagent.agent.cli.behaviour import make_agents
from crsagent.evals.behaviour import CATEGORIES, load_conversations, run_behaviour

TARGET = 0.90


def test_the_suite_is_well_formed() -> None:
    convs = load_conversations()
    assert len(convs) >= 60
    assert {c.category for c in convs} == set(CATEGORIES)
    assert {c.domain for c in convs} == {"movies", "office"}
    assert all(len(c.turns) >= 1 and any(t.get("expect") for t in c.turns) for c in convs)


@pytest.fixture(scope="module")
def report(movies_home: Any, office_home: Any) -> Any:
    agents = make_agents(movies_home, "crs-only", ["movies", "office"])
    try:
        return run_behaviour(agents, load_conversations(), variant="crs-only")
    finally:
        for a in agents.values():
            a.close()


def test_crs_only_meets_the_target(report: Any) -> None:
    summary = report.summary()
    for f in summary["failures"]:
        print(f["id"], f["category"], f["failures"])
    assert summary["conversations"] >= 60
    assert summary["pass_rate"] >= TARGET, summary["failures"]


def test_every_category_is_mostly_right(report: Any) -> None:
    for name, c in report.by_category().items():
        assert c["pass_rate"] >= 0.75, (name, c)
