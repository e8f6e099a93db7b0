"""The real ``langgraph dev`` server (langgraph-cli[inmem]) serves ``langgraph.json``'s graph.

The server runs as a subprocess on 127.0.0.1 with its blocking-call detector on (the default),
without an LLM (so the graph is crs-only); a two-turn thread goes through its HTTP API with the
``langgraph_sdk`` client.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from langgraph_sdk import get_sync_client

from crsagent.agent.settings import Settings, repo_root

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def langgraph_dev(movies_home: Settings, tmp_path: Path):
    """``langgraph dev`` on a free port; yields ``(url, log_path)``."""
    exe = Path(sys.executable).with_name("langgraph")
    assert exe.exists() or shutil.which("langgraph"), "langgraph-cli[inmem] is a dev dependency"
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("CRSAGENT_LLM_BASE_URL", "CRSAGENT_VARIANT")}
    env.update(CRSAGENT_HOME=str(movies_home.home.resolve()), LANGSMITH_TRACING="false", LANGGRAPH_CLI_NO_ANALYTICS="1")
    log = tmp_path / "langgraph-dev.log"
    # run in tmp_path (the in-memory server keeps its files in ./.langgraph_api/), so the project's
    # langgraph.json is copied there with its paths made absolute (they are relative to the cwd)
    config = json.loads((repo_root() / "langgraph.json").read_text())
    config["dependencies"] = [str(repo_root() / d) for d in config["dependencies"]]
    config["graphs"] = {k: str(repo_root() / v) for k, v in config["graphs"].items()}
    (tmp_path / "langgraph.json").write_text(json.dumps(config))
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                str(exe if exe.exists() else shutil.which("langgraph")),
                "dev",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--no-browser",
                "--no-reload",
                "--config",
                str(tmp_path / "langgraph.json"),
            ],
            cwd=tmp_path,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, f"langgraph dev exited: {log.read_text()[-3000:]}"
            try:
                if httpx.get(f"{url}/ok", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, f"langgraph dev did not start: {log.read_text()[-3000:]}"
            time.sleep(0.5)
        yield url, log
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def test_a_two_turn_thread_through_langgraph_dev(langgraph_dev):
    url, log = langgraph_dev
    client = get_sync_client(url=url)
    (assistant,) = client.assistants.search(graph_id="crsagent")
    schemas = client.assistants.get_schemas(assistant["assistant_id"])
    assert "messages" in schemas["input_schema"]["properties"]  # Studio renders the input form
    assert "recommendations" in schemas["output_schema"]["properties"]
    assert "user_id" in schemas["context_schema"]["properties"]

    thread = client.threads.create()
    first = client.runs.wait(
        thread["thread_id"],
        "crsagent",
        context={"user_id": "studio-user"},
        input={"messages": [{"role": "user", "content": "I loved The Babadook. Any other horror films?"}]},
    )
    assert "__error__" not in first, first.get("__error__")
    recs = first["recommendations"]
    assert len(recs) == 3 and all(r["item_id"].startswith("tt") for r in recs)
    assert first["messages"][-1]["type"] == "ai" and recs[0]["title"] in first["messages"][-1]["content"]

    turned_down = recs[0]
    second = client.runs.wait(
        thread["thread_id"],
        "crsagent",
        context={"user_id": "studio-user"},
        input={"messages": [{"role": "user", "content": f"I've seen {turned_down['title']}. Something else?"}]},
    )
    assert "__error__" not in second, second.get("__error__")
    assert turned_down["item_id"] not in {r["item_id"] for r in second["recommendations"]}
    state = client.threads.get_state(thread["thread_id"])
    assert [m["type"] for m in state["values"]["messages"]] == ["human", "ai", "human", "ai"]  # the thread was kept
    text = log.read_text(errors="replace")
    assert "Blocking call" not in text and "BlockingError" not in text
