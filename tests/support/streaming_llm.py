"""A fake agent LLM for streaming tests: it calls ``recommend``, then names what came back, word by word.

``recommender_llm(token_latency_s)`` is a :class:`~crsagent.agent.testing.FunctionChatModel`
whose first answer of a turn is a ``recommend`` call and whose second is a reply naming the
first items ``recommend`` returned, streamed one word per ``token_latency_s``. When the user's
message holds :data:`INVENT`, the reply's third sentence names an invented film, which the
grounding guard refuses. ``python -m crsagent.tests.support.streaming_llm HOME PORT FOLDER``
serves the API over it (model ``crsagent`` = the ``agent`` variant), for tests that need a
real server process.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from crsagent.agent.testing import FakeRequest, FunctionChatModel, tool_call_message

__all__ = ["INVENT", "INVENTED_SENTENCE", "recommender_llm", "main"]

INVENT = "zorblax"
INVENTED_SENTENCE = "You should also watch Zorblax Returns (1987)."


def _answer(request: FakeRequest) -> Any:
    last = request.messages[-1] if request.messages else None
    if last is None or last.type != "tool":
        return tool_call_message("recommend", {"k": 3}, call_id="call_recommend")
    items = json.loads(last.text).get("items") or []
    titles = [it["title"] for it in items[:3]]
    if len(titles) < 3:
        return "I could not find anything for that, sorry about it."
    invented = f" {INVENTED_SENTENCE}" if INVENT in request.last_user_text.lower() else ""
    return (
        f"You might enjoy {titles[0]}, which fits what you told me well.{invented} "
        f"{titles[1]} is another good pick for tonight. {titles[2]} could be worth a look as well."
    )


def recommender_llm(token_latency_s: float = 0.0) -> FunctionChatModel:
    """The fake (see the module docstring)."""
    return FunctionChatModel(_answer, token_latency_s=token_latency_s)


def main(argv: list[str]) -> None:
    """Serve the API over the fake on ``127.0.0.1:PORT`` (``HOME PORT CHECKPOINT_FOLDER [TOKEN_LATENCY]``)."""
    from pathlib import Path

    import uvicorn

    from crsagent.agent.server import ServerConfig, create_app
    from crsagent.agent.server.agent_runners import CRSAgentRunners
    from crsagent.agent.settings import Settings

    home, port, folder = Path(argv[0]), int(argv[1]), argv[2]
    latency = float(argv[3]) if len(argv) > 3 else 0.05
    settings = Settings.from_env(home=home)
    runners = CRSAgentRunners(settings, "movies", llm=recommender_llm(latency), checkpoint_url=f"sqlite://{folder}")
    app = create_app(runners, ServerConfig(default_variant="agent"))
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main(sys.argv[1:])
