"""An API replica for the multi-replica tests: the real app and agent over a small catalogue.

``python -m crsagent.tests.reliability.replica_server --pg URL --catalog C --port P [--wait-s S]``
serves :func:`crsagent.agent.server.create_app` under uvicorn on ``127.0.0.1:P`` with the real
``crs-only`` agent (:class:`~crsagent.graphs.runner.CRSAgent`) over the small catalogue file
``C``, its sessions and profiles in PostgreSQL (``AsyncPostgresSaver``/``AsyncPostgresStore``)
and ``shared_state_url`` set to the same database, as ``crsagent serve --checkpoint-url
postgresql://...`` does. Only the catalogue is smaller than a real replica's, so it starts in
seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from pathlib import Path
from typing import Any

import uvicorn

from crsagent.agent.persistence import aopen_persistence
from crsagent.agent.server import ServerConfig, create_app
from crsagent.agent.settings import Settings

__all__ = ["SmallCatalogueRunners", "main"]


class SmallCatalogueRunners:
    """A runner factory: the ``crs-only`` agent over a catalogue file, sessions in ``url``.

    Args:
        settings: settings whose ``checkpoint_url`` is the PostgreSQL database.
        catalog: the catalogue database file.
    """

    def __init__(self, settings: Settings, catalog: Path) -> None:
        self.settings = settings
        self.catalog = catalog
        self._pers: Any = None

    async def __call__(self, variant: str) -> Any:
        """The runner of ``variant`` (only ``crs-only`` is offered)."""
        from crsagent.graphs.runner import CRSAgent
        from crsagent.tools.catalog.db import ProductDB
        from crsagent.tools.toolkit import Toolkit

        if self._pers is None:
            self._pers = await aopen_persistence(self.settings)
        toolkit = Toolkit("movies", db=ProductDB.open(self.catalog, domain="movies"))
        return await asyncio.to_thread(
            CRSAgent.create,
            self.settings,
            variant=variant,
            toolkit=toolkit,
            checkpointer=self._pers.checkpointer,
            store=self._pers.store,
        )

    async def aclose(self) -> None:
        """Close the database connections."""
        if self._pers is not None:
            await self._pers.aclose()


def main(argv: list[str] | None = None) -> None:
    """Serve until killed."""
    parser = argparse.ArgumentParser(description="one API replica over a small catalogue and PostgreSQL")
    parser.add_argument("--pg", required=True)
    parser.add_argument("--catalog", type=Path, required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--wait-s", type=float, default=30.0)
    parser.add_argument("--rate-limit", type=int, default=0)
    parser.add_argument("--api-key", action="append", default=[])
    parser.add_argument("--home", type=Path, default=None, help="the replica's data home (default: a temporary folder)")
    args = parser.parse_args(argv)
    if args.home is not None:
        _serve(args, args.home)
        return
    with tempfile.TemporaryDirectory(prefix="crsagent-replica-") as home:
        _serve(args, Path(home))


def _serve(args: argparse.Namespace, home: Path) -> None:
    """Serve the replica app with ``home`` as its data home until the process is stopped."""
    settings = Settings(home=home, checkpoint_url=args.pg)
    config = ServerConfig(
        variants=("crs-only",),
        default_variant="crs-only",
        warm_up=True,
        api_keys=tuple(args.api_key),
        shared_state_url=args.pg,
        session_wait_s=args.wait_s,
        rate_limit_per_minute=args.rate_limit,
    )
    app = create_app(SmallCatalogueRunners(settings, args.catalog), config)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
