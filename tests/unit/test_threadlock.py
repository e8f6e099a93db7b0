"""Per-thread locks across threads and processes."""

from __future__ import annotations

import multiprocessing
import threading
import time
from pathlib import Path

from langgraph.checkpoint.memory import InMemorySaver

from crsagent.agent.threadlock import ThreadLocks, sqlite_checkpoint_file


def _hold(lock_file: str, thread_id: str, log: str, tag: str) -> None:
    locks = ThreadLocks(Path(lock_file))
    with locks.hold(thread_id):
        with open(log, "a") as fh:
            fh.write(f"{tag}-in\n")
        time.sleep(0.3)
        with open(log, "a") as fh:
            fh.write(f"{tag}-out\n")


def test_processes_take_turns_on_one_thread_id(tmp_path: Path) -> None:
    lock, log = tmp_path / "c.lock", tmp_path / "log"
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_hold, args=(str(lock), "shared", str(log), f"p{i}")) for i in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(30)
        assert p.exitcode == 0
    lines = log.read_text().split()
    assert len(lines) == 6
    for k in range(0, 6, 2):  # never two inside at once
        assert lines[k].endswith("-in") and lines[k + 1] == lines[k].replace("-in", "-out")


def test_threads_serialise_per_thread_id_and_others_run_freely(tmp_path: Path) -> None:
    locks = ThreadLocks(tmp_path / "c.lock")
    inside: list[int] = []
    peak = [0]

    def work(tid: str) -> None:
        with locks.hold(tid):
            inside.append(1)
            peak[0] = max(peak[0], len(inside))
            time.sleep(0.05)
            inside.pop()

    threads = [threading.Thread(target=work, args=("same",)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert peak[0] == 1
    assert locks.stripe("same") == ThreadLocks().stripe("same")  # stable across instances
    locks.close()


def test_the_lock_file_is_found_for_sqlite_savers_only(tmp_path: Path) -> None:
    import sqlite3

    from langgraph.checkpoint.sqlite import SqliteSaver

    saver = SqliteSaver(sqlite3.connect(str(tmp_path / "checkpoints.sqlite"), check_same_thread=False))
    assert sqlite_checkpoint_file(saver) == tmp_path / "checkpoints.sqlite"
    assert sqlite_checkpoint_file(InMemorySaver()) is None
    assert sqlite_checkpoint_file(SqliteSaver(sqlite3.connect(":memory:", check_same_thread=False))) is None
