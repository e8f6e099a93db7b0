"""A new session sent with a multi-message history starts from that history (issue 20, item 6).

Real agent (``crs-only`` on the built movie catalogue), SQLite sessions in a temp folder, the
official client over loopback; the checkpointed belief is read straight from the database.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

from crsagent.agent.server import ServerConfig, create_app
from crsagent.agent.server.agent_runners import CRSAgentRunners
from crsagent.agent.server.loopback import serve_in_thread
from crsagent.agent.settings import Settings
from crsagent.tests.reliability.helpers import belief_of, read_thread, thread_counts

ALIEN = "tt0078748"
HISTORY = [
    {"role": "user", "content": "I loved Alien"},
    {"role": "assistant", "content": "Alien is a classic. What else do you enjoy?"},
    {"role": "user", "content": "Something from the 90s please"},
]


def liked(state: dict) -> list[str]:
    """The item ids the checkpointed belief holds as liked."""
    return [x["item_id"] if isinstance(x, dict) else x for x in belief_of(state)["liked"]]


@pytest.fixture(scope="module")
def served(movies_home: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[openai.OpenAI, Path]]:
    folder = tmp_path_factory.mktemp("seeding")
    runners = CRSAgentRunners(movies_home, "movies", checkpoint_url=f"sqlite://{folder}")
    config = ServerConfig(variants=("crs-only",), default_variant="crs-only")
    with serve_in_thread(create_app(runners, config)) as url:
        yield openai.OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0, timeout=120), folder


def test_a_new_session_is_seeded_from_the_history(served):
    client, folder = served
    resp = client.chat.completions.create(model="crs-only", messages=HISTORY, extra_headers={"X-Session-Id": "seed-1"})
    assert resp.model_extra["crsagent"]["session_id"] == "seed-1"
    state = read_thread(folder, "seed-1")
    assert thread_counts(state)[0] == 2  # both user messages are in the thread
    assert ALIEN in liked(state)  # Alien was not lost
    assert ALIEN not in [r["item_id"] for r in resp.choices[0].message.model_extra["recommendations"]]


def test_an_existing_session_takes_only_the_new_message(served):
    client, folder = served
    client.chat.completions.create(
        model="crs-only",
        messages=[{"role": "user", "content": "I loved Heat"}],
        extra_headers={"X-Session-Id": "seed-2"},
    )
    again = [*HISTORY[:2], {"role": "user", "content": "Something newer?"}]
    client.chat.completions.create(model="crs-only", messages=again, extra_headers={"X-Session-Id": "seed-2"})
    state = read_thread(folder, "seed-2")
    users = [m.text for m in state["messages"] if m.type == "human"]
    assert users == ["I loved Heat", "Something newer?"]
    assert ALIEN not in liked(state)
