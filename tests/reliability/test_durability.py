"""Durability: ``crsagent serve`` killed with SIGKILL between turns and during a turn, then restarted.

The server runs as a subprocess over the real movie catalogue, with SQLite sessions and
profiles in a temporary folder and the stub LLM server as its LLM. Three server lives on the
same folder:

1. sessions ``ref`` (never interrupted), ``dur`` and ``mid`` talk; SIGKILL between turns;
2. ``dur`` goes on and must answer exactly as ``ref`` did (same belief, history, rejections);
   a new thread of the same user starts from the profile memory; ``mid`` is SIGKILLed while its
   turn waits on the LLM;
3. ``mid`` holds only its complete turns; the client's retry of the killed turn succeeds.

After each kill the files are checked directly: WAL mode, ``integrity_check``, the thread as
the checkpointer stores it, the profile row.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from crsagent.agent.persistence import CHECKPOINT_FILE, STORE_FILE
from crsagent.tests.reliability.helpers import BABADOOK, OPENER, belief_of, read_thread, thread_counts
from crsagent.tests.reliability.procs import ApiProcess, StubLLMProcess

pytestmark = pytest.mark.slow

DIALOGUE = [
    OPENER,
    "Not that one, I've seen it.",
    "Something from after 2010 please.",
    "Great, anything else like that?",
]


def chat(url: str, text: str, session: str, user: str, model: str = "crs-only") -> dict[str, Any]:
    resp = httpx.post(
        f"{url}/v1/chat/completions",
        json={"model": model, "messages": [{"role": "user", "content": text}], "user": user},
        headers={"X-Session-Id": session},
        timeout=120,
    )
    assert resp.status_code == 200, resp.text
    return resp.json()


def rec_ids(body: dict[str, Any]) -> list[str]:
    return [r["item_id"] for r in body["choices"][0]["message"]["recommendations"]]


def check_files(folder: Path) -> None:
    for name in (CHECKPOINT_FILE, STORE_FILE):
        with sqlite3.connect(str(folder / name)) as conn:
            assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def profile_row(folder: Path, user: str) -> str | None:
    with sqlite3.connect(str(folder / STORE_FILE)) as conn:
        query = "SELECT value FROM store WHERE prefix = ? AND key = 'profile'"
        row = conn.execute(query, (f"profile.{user}",)).fetchone()
    return row[0] if row else None


def liked(state: dict[str, Any]) -> set[str]:
    return {x["item_id"] for x in belief_of(state)["liked"]}


def kill_during_turn(api: ApiProcess, stub: StubLLMProcess, session: str, text: str) -> None:
    """Send a turn whose LLM call hangs; SIGKILL the server once the call reached the LLM."""
    stub.control("slow", delay_s=120.0, reset=True)
    box: dict[str, Any] = {}

    def doomed() -> None:
        try:
            box["resp"] = httpx.post(
                f"{api.url}/v1/chat/completions",
                headers={"X-Session-Id": session},
                timeout=150,
                json={"model": "crsagent", "messages": [{"role": "user", "content": text}]},
            )
        except httpx.HTTPError as exc:
            box["error"] = exc

    client = threading.Thread(target=doomed)
    client.start()
    deadline = time.monotonic() + 60
    while stub.requests == 0:  # the turn is in flight, waiting on the LLM
        assert time.monotonic() < deadline, "the turn never reached the LLM"
        time.sleep(0.05)
    assert api.kill() == -9
    client.join(timeout=30)
    assert "error" in box and "resp" not in box  # the client saw the connection die


def test_sigkill_between_and_during_turns_loses_nothing(movies_home, tmp_path):
    folder = tmp_path / "sessions"
    with StubLLMProcess() as stub:
        args = ["--llm-base-url", stub.base_url, "--llm-model", "stub-model", "--default-variant", "full"]
        env = {"CRSAGENT_LLM_TIMEOUT_S": "150", "CRSAGENT_LLM_MAX_RETRIES": "0"}

        def server(name: str) -> ApiProcess:
            return ApiProcess(movies_home.home, args, env, log=tmp_path / f"{name}.log", sessions=folder)

        with server("a") as a:  # life 1
            reference = [rec_ids(chat(a.url, text, "ref", "ref-user")) for text in DIALOGUE]
            before = [rec_ids(chat(a.url, text, "dur", "dur-user")) for text in DIALOGUE[:2]]
            assert before == reference[:2]
            first_mid = chat(a.url, OPENER, "mid", "mid-user", model="crsagent")
            assert first_mid["crsagent"]["degraded"] is False and first_mid["crsagent"]["llm_calls"] >= 1
            assert a.kill() == -9  # between turns: no shutdown hook runs
        check_files(folder)
        kept = read_thread(folder, "dur")
        assert thread_counts(kept) == (2, 2) and BABADOOK in liked(kept)
        assert set(reference[0]) & set(belief_of(kept)["rejected"])  # "seen it" survived the kill
        assert profile_row(folder, "dur-user") is not None

        with server("b") as b:  # life 2
            after = [rec_ids(chat(b.url, text, "dur", "dur-user")) for text in DIALOGUE[2:]]
            assert after == reference[2:]  # the session went on as if nothing had happened
            hello = chat(b.url, "Hello again! Anything for tonight?", "dur-2", "dur-user")
            assert hello["choices"][0]["message"]["content"].strip()
            kill_during_turn(b, stub, "mid", DIALOGUE[1])
        check_files(folder)
        assert thread_counts(read_thread(folder, "dur")) == (4, 4)
        assert read_thread(folder, "dur")["belief"] == read_thread(folder, "ref")["belief"]
        seeded = belief_of(read_thread(folder, "dur-2"))["liked"]
        assert {"item_id": BABADOOK, "source": "profile"} in seeded  # profile memory crossed the kill
        interrupted = read_thread(folder, "mid")
        assert thread_counts(interrupted) == (1, 1) and BABADOOK in liked(interrupted)  # nothing half-written

        stub.control("ok")
        with server("c") as c:  # life 3: the client retries the killed turn
            retried = chat(c.url, DIALOGUE[1], "mid", "mid-user", model="crsagent")
            assert retried["crsagent"]["degraded"] is False and retried["choices"][0]["message"]["content"].strip()
    final = read_thread(folder, "mid")
    assert thread_counts(final) == (2, 2) and BABADOOK in liked(final)
    assert set(rec_ids(first_mid)) & set(belief_of(final)["rejected"])
