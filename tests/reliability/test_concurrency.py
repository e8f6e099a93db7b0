"""Concurrent writers on the SQLite checkpoints and store: no corruption, no lost turn.

* Several **processes** (``writer.py``: the real ``crs-only`` agent over a small catalogue)
  write turns at once into the same WAL-mode files, each to its own thread, and then all to
  one shared thread.
* Many **requests** to the API (one process, its thread pool) write turns at once, to
  different sessions and to the same session.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from crsagent.agent.persistence import CHECKPOINT_FILE, STORE_FILE, open_persistence
from crsagent.agent.server import ServerConfig, create_app
from crsagent.agent.server.agent_runners import CRSAgentRunners
from crsagent.agent.server.loopback import serve_in_thread
from crsagent.agent.settings import Settings
from crsagent.tests.reliability.helpers import read_thread, thread_counts, write_catalogue
from crsagent.tests.reliability.procs import child_env

TURNS = 15


@pytest.fixture(scope="module")
def small_catalog(movies_toolkit, tmp_path_factory) -> Path:
    """The 40 most popular movies as a catalogue file."""
    path = tmp_path_factory.mktemp("catalog") / "catalog.sqlite"
    return write_catalogue(path, movies_toolkit.db.filter(None, limit=40))


def run_writers(folder: Path, catalog: Path, tags: list[str], thread: str | None = None) -> None:
    """Start one writer per tag, release them together, wait for all (bounded)."""
    go = folder / "go"
    go.unlink(missing_ok=True)
    folder.mkdir(parents=True, exist_ok=True)
    open_persistence(Settings(), f"sqlite://{folder}").close()  # create the tables once
    procs = []
    for tag in tags:
        cmd = [
            sys.executable,
            "-m",
            "crsagent.tests.reliability.writer",
            "--dir",
            str(folder),
            "--catalog",
            str(catalog),
            "--tag",
            tag,
            "--turns",
            str(TURNS),
            "--go",
            str(go),
        ]
        cmd += ["--thread", thread] if thread else []
        procs.append(subprocess.Popen(cmd, env=child_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    time.sleep(0.5)
    go.touch()
    for p in procs:
        out, err = p.communicate(timeout=240)
        assert p.returncode == 0, err[-2000:]
        assert json.loads(out.strip().splitlines()[-1])["turns"] == TURNS


def check_files(folder: Path) -> None:
    for name in (CHECKPOINT_FILE, STORE_FILE):
        with sqlite3.connect(str(folder / name)) as conn:
            assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def user_texts(folder: Path, thread: str) -> list[str]:
    return [m.content for m in read_thread(folder, thread).get("messages", []) if m.type == "human"]


def test_processes_writing_their_own_threads(tmp_path, small_catalog):
    tags = [f"p{i}" for i in range(3)]
    run_writers(tmp_path, small_catalog, tags)
    check_files(tmp_path)
    for tag in tags:
        assert user_texts(tmp_path, tag) == [f"{tag}:{k}" for k in range(TURNS)]
        assert thread_counts(read_thread(tmp_path, tag)) == (TURNS, TURNS)
    with open_persistence(Settings(), f"sqlite://{tmp_path}") as pers:
        for tag in tags:
            profile = pers.store.get(("profile", tag), "profile")
            assert profile is not None and profile.value["user_id"] == tag


def test_processes_writing_one_shared_thread(tmp_path, small_catalog):
    """Turns sent to one thread from several processes at once must all be kept, each writer's in order."""
    tags = [f"s{i}" for i in range(3)]
    run_writers(tmp_path, small_catalog, tags, thread="shared")
    check_files(tmp_path)
    texts = user_texts(tmp_path, "shared")
    for tag in tags:
        assert [t for t in texts if t.startswith(f"{tag}:")] == [f"{tag}:{k}" for k in range(TURNS)]
    assert len(texts) == len(tags) * TURNS


async def test_concurrent_api_requests_on_the_same_and_different_sessions(movies_home, tmp_path):
    folder = tmp_path / "sessions"
    runners = CRSAgentRunners(movies_home, "movies", checkpoint_url=f"sqlite://{folder}")
    config = ServerConfig(variants=("crs-only",), default_variant="crs-only", warm_up=True)
    texts = [
        "I loved The Babadook.",
        "Any horror films?",
        "Something from after 2010 please.",
        "Not that one, I've seen it.",
        "Maybe something a bit lighter?",
        "Great, anything else like that?",
    ]
    with serve_in_thread(create_app(runners, config)) as url:
        async with httpx.AsyncClient(base_url=url, timeout=300) as client:

            async def send(session: str, text: str) -> int:
                body = {"model": "crs-only", "messages": [{"role": "user", "content": text}]}
                r = await client.post("/v1/chat/completions", json=body, headers={"X-Session-Id": session})
                return r.status_code

            async def conversation(i: int) -> list[int]:
                return [await send(f"own-{i}", t) for t in texts[:3]]

            same = [send("same", f"{t} ({k})") for k, t in enumerate(texts)]
            results = await asyncio.gather(*same, *(conversation(i) for i in range(8)))
    codes = [c for r in results for c in (r if isinstance(r, list) else [r])]
    assert codes == [200] * (len(texts) + 8 * 3)
    check_files(folder)
    assert sorted(user_texts(folder, "same")) == sorted(f"{t} ({k})" for k, t in enumerate(texts))
    assert thread_counts(read_thread(folder, "same")) == (len(texts), len(texts))
    for i in range(8):
        assert user_texts(folder, f"own-{i}") == texts[:3]
