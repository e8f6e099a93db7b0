"""A client that leaves mid-stream, and a server killed mid-stream, against a real server process.

The server (``tests/support/streaming_llm.py``: the ``agent`` variant over the built movie
catalogue, a fake LLM streaming one word per 50 ms) runs in a subprocess with SQLite sessions.
The documented outcome: a streamed turn whose client disconnects still runs to its end and is
checkpointed whole; a turn cut short by a crash leaves no trace. Never half a turn.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from crsagent.agent.server.loopback import free_port
from crsagent.agent.settings import Settings
from crsagent.tests.reliability.helpers import read_thread, thread_counts
from crsagent.tests.reliability.procs import child_env

ASK = "Hi! I loved The Babadook and It Follows. Any other horror films?"


class Server:
    """The streaming test server in a subprocess."""

    def __init__(self, home: Path, folder: Path, log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        cmd = [
            sys.executable,
            "-m",
            "crsagent.tests.support.streaming_llm",
            str(home),
            str(self.port),
            str(folder),
            "0.05",
        ]
        with open(log, "ab") as fh:
            self.proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, env=child_env())
        deadline = time.monotonic() + 300
        while True:
            assert self.proc.poll() is None, log.read_text()[-2000:]
            try:
                if httpx.get(f"{self.url}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.2)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=30)


@pytest.fixture
def server(movies_home: Settings, tmp_path: Path) -> Iterator[tuple[Server, Path]]:
    folder = tmp_path / "sessions"
    folder.mkdir()
    srv = Server(movies_home.home, folder, tmp_path / "server.log")
    try:
        yield srv, folder
    finally:
        srv.stop()


def _body(text: str, stream: bool) -> dict:
    return {"model": "crsagent", "messages": [{"role": "user", "content": text}], "stream": stream}


def _first_words(client: httpx.Client, session: str) -> str:
    """Stream a turn and leave after its first content chunk; return what was received."""
    with client.stream(
        "POST", "/v1/chat/completions", json=_body(ASK, True), headers={"X-Session-Id": session}
    ) as resp:
        assert resp.status_code == 200
        for line in resp.iter_lines():
            choices = json.loads(line[6:]).get("choices") if line.startswith("data: {") else None
            if choices and choices[0]["delta"].get("content"):
                return choices[0]["delta"]["content"]
    raise AssertionError("no content chunk")


def test_a_client_that_leaves_mid_stream_leaves_the_finished_turn(server: tuple[Server, Path]) -> None:
    srv, folder = server
    with httpx.Client(base_url=srv.url, timeout=120) as client:
        reference = client.post("/v1/chat/completions", json=_body(ASK, False), headers={"X-Session-Id": "ref"})
        full = reference.json()["choices"][0]["message"]["content"]
        received = _first_words(client, "left")  # the connection closes here, mid-reply
        assert received and len(received) < len(full) and full.startswith(received)
        # the next request on the session waits for the turn that is still running, then continues it
        second = client.post(
            "/v1/chat/completions",
            json=_body("Something from after 2010 please.", False),
            headers={"X-Session-Id": "left"},
        )
        assert second.status_code == 200
        stored = client.get("/v1/sessions/left").json()["messages"]
    assert [m["role"] for m in stored] == ["user", "assistant", "user", "assistant"]
    assert stored[0]["content"] == ASK and stored[1]["content"] == full  # the whole reply, not what was received
    assert thread_counts(read_thread(folder, "left")) == (2, 2)


def test_a_turn_cut_short_by_a_crash_leaves_no_trace(server: tuple[Server, Path]) -> None:
    srv, folder = server
    with httpx.Client(base_url=srv.url, timeout=120) as client:
        with client.stream(
            "POST", "/v1/chat/completions", json=_body(ASK, True), headers={"X-Session-Id": "crashed"}
        ) as resp:
            for line in resp.iter_lines():
                if '"content":"' in line and '"content":""' not in line:
                    srv.stop()  # SIGKILL while the reply is being generated
                    break
    assert read_thread(folder, "crashed") == {}
