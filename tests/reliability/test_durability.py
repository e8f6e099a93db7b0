"""Durability: ``crsagent serve`` killed with SIGKILL between turns and during a turn, then restarted.

The server runs as a subprocess over the real movie catalogue with SQLite sessions and
profiles in a temporary folder. After each restart on the same folder the session goes on:
its history, belief state and the user's profile memory are what they were, checked both
through the API (the next answers equal those of a session that was never interrupted) and
by reading the checkpoint file directly.
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

DIALOGUE = [OPENER, "Not that one, I've seen it.", "Something from after 2010 please.", "Great, anything else like that?"]


def chat(url: str, text: str, session: str, user: str, model: str = "crs-only", timeout: float = 120) -> dict[str, Any]:
    resp = httpx.post(
        f"{url}/v1/chat/completions",
        json={"model": model, "messages": [{"role": "user", "content": text}], "user": user},
        headers={"X-Session-Id": session},
        timeout=timeout,
    )
    assert resp.status_code == 200, resp.text
    return resp.json()


def rec_ids(body: dict[str, Any]) -> list[str]:
    return [r["item_id"] for r in body["choices"][0]["message"]["recommendations"]]


def profile_row(folder: Path, user: str) -> str | None:
    with sqlite3.connect(str(folder / STORE_FILE)) as conn:
        row = conn.execute("SELECT value FROM store WHERE prefix = ? AND key = 'profile'", (f"profile.{user}",)).fetchone()
    return row[0] if row else None


def test_sigkill_between_turns_loses_nothing(movies_home, tmp_path):
    folder = tmp_path / "sessions"
    args = ["--checkpoint-url", f"sqlite://{folder}", "--default-variant", "crs-only"]
    with ApiProcess(movies_home.home, args, log=tmp_path / "a.log") as a:
        reference = [rec_ids(chat(a.url, text, "ref", "ref-user")) for text in DIALOGUE]
        before = [rec_ids(chat(a.url, text, "dur", "dur-user")) for text in DIALOGUE[:2]]
        assert before == reference[:2]
        assert a.kill() == -9  # SIGKILL: no shutdown hook ran
    for name in (CHECKPOINT_FILE, STORE_FILE):
        with sqlite3.connect(str(folder / name)) as conn:
            assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    kept = read_thread(folder, "dur")
    assert thread_counts(kept) == (2, 2)
    assert BABADOOK in {x["item_id"] for x in belief_of(kept)["liked"]}
    assert set(reference[0]) & set(belief_of(kept)["rejected"])  # "seen it" survived the kill
    assert profile_row(folder, "dur-user") is not None

    with ApiProcess(movies_home.home, args, log=tmp_path / "b.log") as b:
        after = [rec_ids(chat(b.url, text, "dur", "dur-user")) for text in DIALOGUE[2:]]
        assert after == reference[2:]  # the session went on as if nothing had happened
        new_thread = chat(b.url, "Hello again! Anything for tonight?", "dur-2", "dur-user")
        assert new_thread["choices"][0]["message"]["content"].strip()
    final = read_thread(folder, "dur")
    assert thread_counts(final) == (4, 4)
    assert final["belief"] == read_thread(folder, "ref")["belief"]
    seeded = belief_of(read_thread(folder, "dur-2"))["liked"]
    assert any(x["item_id"] == BABADOOK and x["source"] == "profile" for x in seeded)  # profile memory survived


def test_sigkill_during_a_turn_keeps_the_last_complete_turn(movies_home, tmp_path):
    folder = tmp_path / "sessions"
    with StubLLMProcess() as stub:
        args = ["--checkpoint-url", f"sqlite://{folder}", "--llm-base-url", stub.base_url, "--llm-model", "stub-model"]
        env = {"CRSAGENT_LLM_TIMEOUT_S": "120", "CRSAGENT_LLM_MAX_RETRIES": "0"}
        with ApiProcess(movies_home.home, args, env, log=tmp_path / "c.log") as c:
            first = chat(c.url, OPENER, "mid", "mid-user", model="crsagent")
            assert first["crsagent"]["degraded"] is False and first["crsagent"]["llm_calls"] >= 1
            stub.control("slow", delay_s=120.0, reset=True)
            box: dict[str, Any] = {}

            def doomed() -> None:
                try:
                    box["resp"] = httpx.post(
                        f"{c.url}/v1/chat/completions", headers={"X-Session-Id": "mid"}, timeout=150,
                        json={"model": "crsagent", "messages": [{"role": "user", "content": DIALOGUE[1]}]},
                    )
                except httpx.HTTPError as exc:
                    box["error"] = exc

            client = threading.Thread(target=doomed)
            client.start()
            deadline = time.monotonic() + 60
            while stub.requests == 0:  # the turn has reached the LLM: it is in flight
                assert time.monotonic() < deadline, "the turn never reached the LLM"
                time.sleep(0.05)
            assert c.kill() == -9
            client.join(timeout=30)
            assert "error" in box and "resp" not in box  # the client saw the connection die
        kept = read_thread(folder, "mid")
        assert thread_counts(kept) == (1, 1)  # the interrupted turn left nothing half-written
        assert BABADOOK in {x["item_id"] for x in belief_of(kept)["liked"]}
        stub.control("ok")
        with ApiProcess(movies_home.home, args, env, log=tmp_path / "d.log") as d:
            retried = chat(d.url, DIALOGUE[1], "mid", "mid-user", model="crsagent")  # the client retries
            assert retried["crsagent"]["degraded"] is False
            assert retried["choices"][0]["message"]["content"].strip()
    final = read_thread(folder, "mid")
    assert thread_counts(final) == (2, 2)
    assert BABADOOK in {x["item_id"] for x in belief_of(final)["liked"]}
    assert set(rec_ids(first)) & set(belief_of(final)["rejected"])
