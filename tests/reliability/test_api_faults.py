"""LLM faults at the API edge: ``crsagent serve`` (a subprocess) over an LLM that is down, comes up, dies.

The server is started with ``--llm-base-url`` pointing at a loopback port where nothing
listens, and no ``--llm-model`` (so the model name must be asked from the LLM server). It must
start anyway, answer every turn (degraded while the LLM is away), use the LLM once a server
appears on that port, and go back to degraded answers when that server is SIGKILLed; streamed
answers included. No answer may take longer than the timeout and retries allow.
"""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest

from crsagent.agent.server.loopback import free_port
from crsagent.tests.reliability.helpers import OPENER, read_thread, thread_counts
from crsagent.tests.reliability.procs import ApiProcess, StubLLMProcess

pytestmark = pytest.mark.slow

TIMEOUT_S, RETRIES = 1.0, 1
#: three LLM steps per turn, each (retries + 1) attempts plus backoff, plus room for a busy machine
TURN_BOUND_S = 3 * ((RETRIES + 1) * TIMEOUT_S + 0.5) + 20.0


def chat(url: str, text: str, *, stream: bool = False) -> tuple[dict[str, Any], float]:
    """One turn on session ``edge``; the final chat object (for a stream: the last choice chunk)."""
    body = {"model": "crsagent", "messages": [{"role": "user", "content": text}], "stream": stream, "user": "edge-user"}
    t0 = time.monotonic()
    resp = httpx.post(f"{url}/v1/chat/completions", json=body, headers={"X-Session-Id": "edge"}, timeout=120)
    wall = time.monotonic() - t0
    assert resp.status_code == 200, resp.text
    if not stream:
        return resp.json(), wall
    events = [line[len("data: ") :] for line in resp.text.splitlines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    text_out = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    final = next(c for c in chunks if c["choices"] and c["choices"][0]["finish_reason"] == "stop")
    return {
        "crsagent": final["crsagent"],
        "content": text_out,
        "recommendations": final["choices"][0]["delta"]["recommendations"],
    }, wall


def test_serve_survives_llm_down_at_start_up_later_and_killed(movies_home, tmp_path):
    port = free_port()
    folder = tmp_path / "sessions"
    args = [
        "--llm-base-url",
        f"http://127.0.0.1:{port}/v1",
        "--checkpoint-url",
        f"sqlite://{folder}",
        "--default-variant",
        "full",
    ]  # the U-NEED full pipeline: its LLM steps degrade one by one
    env = {"CRSAGENT_LLM_TIMEOUT_S": str(TIMEOUT_S), "CRSAGENT_LLM_MAX_RETRIES": str(RETRIES)}
    with ApiProcess(movies_home.home, args, env, log=tmp_path / "serve.log") as api:  # nothing on the LLM port
        models = httpx.get(f"{api.url}/v1/models", timeout=30).json()
        assert "full" in {m["id"] for m in models["data"]}  # an LLM is configured: LLM variants offered
        down, wall = chat(api.url, OPENER)
        assert down["crsagent"]["degraded"] is True and wall < TURN_BOUND_S
        assert down["choices"][0]["message"]["content"].strip()
        assert down["choices"][0]["message"]["recommendations"]
        assert down["usage"]["total_tokens"] == 0
        with StubLLMProcess(port=port) as stub:  # the LLM comes up
            up, _ = chat(api.url, "Something from after 2010 please.")
            assert up["crsagent"]["degraded"] is False, up
            assert up["crsagent"]["llm_calls"] == stub.requests >= 1 and up["usage"]["total_tokens"] > 0
            stub.kill()  # and dies mid-conversation
            dead, wall = chat(api.url, "Great, anything else like that?", stream=True)
            assert dead["crsagent"]["degraded"] is True and wall < TURN_BOUND_S
            assert dead["content"].strip() and dead["recommendations"]
        assert api.proc.poll() is None  # the API process never went down
    assert thread_counts(read_thread(folder, "edge")) == (3, 3)
