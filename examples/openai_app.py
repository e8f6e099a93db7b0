"""An application embedding the agent over HTTP: the ``openai`` client and LangChain.

It starts ``crsagent serve --fake-llm`` (the instant scripted LLM; drop the flag and set
``CRSAGENT_LLM_BASE_URL`` for a real one) on 127.0.0.1, then asks the same question twice:
with the ``openai`` client (the items are in the message's ``recommendations`` extension field)
and with LangChain (``CRSChatOpenAI`` puts them into ``response_metadata``).
Run: ``python examples/openai_app.py``.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from openai import OpenAI

from crsagent.agent.client_langchain import CRSChatOpenAI, recommendations_of

__all__ = ["serve", "main"]
ASK = "I loved The Babadook, something after 2010?"


def serve(port: int) -> subprocess.Popen:
    """``crsagent serve --fake-llm`` on 127.0.0.1:port, once it answers ``/health``."""
    exe = Path(sys.executable).with_name("crsagent")
    proc = subprocess.Popen(
        [str(exe), "serve", "--fake-llm", "--host", "127.0.0.1", "--port", str(port), "--checkpoint-url", "memory"]
    )
    for _ in range(240):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.5)
    proc.kill()
    raise RuntimeError("crsagent serve did not start")


def main() -> dict:
    """One question through each client."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = serve(port)
    try:
        client = OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="none")
        resp = client.chat.completions.create(
            model="crsagent", messages=[{"role": "user", "content": ASK}], metadata={"session_id": "app-1"}
        )
        via_openai = resp.model_dump()  # extension fields are kept as extra fields
        llm = CRSChatOpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="none", session_id="app-2")
        msg = llm.invoke(ASK)
        print(msg.text)
        return {
            "openai": [r["item_id"] for r in via_openai["choices"][0]["message"]["recommendations"]],
            "openai_crsagent": via_openai["crsagent"],
            "langchain": [r["item_id"] for r in recommendations_of(msg)],
            "langchain_crsagent": msg.response_metadata.get("crsagent"),
            "reply": msg.text,
        }
    finally:
        proc.terminate()
        proc.wait(timeout=30)


if __name__ == "__main__":
    print(json.dumps(main()))
