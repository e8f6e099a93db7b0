"""A writer process for the concurrency tests: agent turns into shared SQLite checkpoints and store.

``python -m crsagent.tests.reliability.writer --dir D --catalog C --tag P --turns K [--thread T] [--go F]``
opens the persistence ``crsagent`` uses (:func:`crsagent.agent.persistence.open_persistence`:
WAL mode, busy timeout) on folder ``D`` and runs ``K`` turns of the real ``crs-only`` agent
(:class:`~crsagent.graphs.runner.CRSAgent`, ``turn``) over the small catalogue file ``C``: user
``P`` says ``P:k`` on thread ``T`` (default ``P``), so every turn writes a checkpoint and the
user's profile. With ``--go F`` it starts only once file ``F`` exists (writers start together).
It exits 0 when every turn went through and prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from crsagent.agent.persistence import open_persistence
from crsagent.agent.settings import Settings
from crsagent.graphs.runner import CRSAgent
from crsagent.tools.catalog.db import ProductDB
from crsagent.tools.toolkit import Toolkit

__all__ = ["main"]


def main(argv: list[str] | None = None) -> None:
    """Run the turns; print ``{"tag", "turns"}``."""
    parser = argparse.ArgumentParser(description="write agent turns into shared SQLite checkpoints")
    parser.add_argument("--dir", required=True)
    parser.add_argument("--catalog", type=Path, required=True)
    parser.add_argument("--tag", required=True)
    parser.add_argument("--turns", type=int, default=20)
    parser.add_argument("--thread", default=None)
    parser.add_argument("--go", type=Path, default=None)
    args = parser.parse_args(argv)
    settings = Settings(home=Path(args.dir))
    toolkit = Toolkit("movies", db=ProductDB.open(args.catalog, domain="movies"))
    with open_persistence(settings, f"sqlite://{args.dir}") as pers:
        agent = CRSAgent.create(
            settings, variant="crs-only", toolkit=toolkit, checkpointer=pers.checkpointer, store=pers.store
        )
        agent.turn("warm-up", thread_id=f"warm-{args.tag}", user_id=f"warm-{args.tag}")
        deadline = time.monotonic() + 120
        while args.go is not None and not args.go.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        for k in range(args.turns):
            agent.turn(f"{args.tag}:{k}", thread_id=args.thread or args.tag, user_id=args.tag)
    print(json.dumps({"tag": args.tag, "turns": args.turns}), flush=True)


if __name__ == "__main__":
    main()
