"""``CRSChatOpenAI`` (the real langchain-openai) against a real ``crsagent serve --fake-llm`` process."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from langchain_core.messages import AIMessage, HumanMessage

from crsagent.agent.client_langchain import CRSChatOpenAI, recommendations_of
from crsagent.agent.settings import Settings

pytestmark = pytest.mark.slow
ASK = "I loved The Babadook, something after 2010?"


@pytest.fixture(scope="module")
def server(movies_home: Settings, tmp_path_factory: pytest.TempPathFactory):
    """``crsagent serve --fake-llm`` on a free 127.0.0.1 port; yields its ``/v1`` base URL."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if k not in ("CRSAGENT_LLM_BASE_URL", "CRSAGENT_API_KEYS")}
    env["CRSAGENT_HOME"] = str(movies_home.home.resolve())
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                str(Path(sys.executable).with_name("crsagent")),
                "serve",
                "--fake-llm",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--checkpoint-url",
                "memory",
            ],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 180
        while True:
            assert proc.poll() is None, log.read_text()[-3000:]
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.5)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


def _raw(base_url: str, messages: list[dict], session_id: str | None = None) -> dict:
    body: dict = {"model": "crsagent", "messages": messages}
    if session_id:
        body["metadata"] = {"session_id": session_id}
    return httpx.post(f"{base_url}/chat/completions", json=body, timeout=120).json()


def test_invoke_puts_the_extension_fields_in_response_metadata(server: str):
    llm = CRSChatOpenAI(base_url=server, api_key="none")
    msg = llm.invoke(ASK)
    raw = _raw(server, [{"role": "user", "content": ASK}])  # what the server sent, for the same stateless request
    recs = recommendations_of(msg)
    assert recs == raw["choices"][0]["message"]["recommendations"] and len(recs) == 3
    assert set(recs[0]) >= {"item_id", "title", "score", "explanation"} and recs[0]["title"] in msg.text
    assert msg.response_metadata["crsagent"]["variant"] == raw["crsagent"]["variant"]
    assert msg.response_metadata["crsagent"]["session_id"] is None  # stateless: no session given


def test_a_session_keeps_the_conversation(server: str):
    llm = CRSChatOpenAI(base_url=server, api_key="none", session_id="lc-session-1")
    first = llm.invoke(ASK)
    turned_down = recommendations_of(first)[0]
    second = llm.invoke(f"I've already seen {turned_down['title']}, something else?")
    assert second.response_metadata["crsagent"]["session_id"] == "lc-session-1"
    assert turned_down["item_id"] not in {r["item_id"] for r in recommendations_of(second)}
    assert recommendations_of(second)


def test_streaming_carries_them_on_the_merged_message(server: str):
    llm = CRSChatOpenAI(base_url=server, api_key="none")
    chunks = list(llm.stream([HumanMessage(content=ASK)]))
    merged = chunks[0]
    for c in chunks[1:]:
        merged += c
    assert len(chunks) > 1 and merged.text.strip()
    assert len(recommendations_of(merged)) == 3 and merged.response_metadata["crsagent"]["variant"]


def test_plain_chat_openai_drops_them(server: str):
    """Why the subclass exists: langchain-openai's ChatOpenAI keeps neither field."""
    from langchain_openai import ChatOpenAI

    msg = ChatOpenAI(base_url=server, api_key="none", model="crsagent").invoke([HumanMessage(content=ASK)])
    assert isinstance(msg, AIMessage) and msg.text.strip()
    assert "recommendations" not in msg.response_metadata and "crsagent" not in msg.response_metadata
