"""Your own agent in the evaluation harness: ``crsagent eval replay|simulate --runner module:factory``.

``make_runner(settings)`` returns any ``AgentRunner`` (``aturn``, ``arun_history``, ``turn``,
``run_history`` giving a ``TurnResult``); here the custom-node graph of ``custom_node.py`` through
``CRSAgent.from_graph``. Replay scores its rankings on ReDial turns (Recall@k), the agenda
simulator talks to it until it names the target (success by turn). Run:
``python examples/custom_runner.py`` (it calls the CLI the way you would, in this folder).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from custom_node import build
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.store.memory import InMemoryStore

from crsagent.agent.settings import Settings
from crsagent.graphs.runner import CRSAgent

__all__ = ["make_runner", "main"]
HERE = Path(__file__).resolve().parent


def make_runner(settings: Settings) -> CRSAgent:
    """The factory ``--runner custom_runner:make_runner`` names."""
    return CRSAgent.from_graph(
        build(seen=set()), settings, name="crs-hide-seen", checkpointer=InMemorySaver(), store=InMemoryStore()
    )


def _eval(*args: str, out: Path) -> dict:
    exe = Path(sys.executable).with_name("crsagent")
    home = str(Settings.from_env().home)  # the CLI runs in this folder: give it the data home
    subprocess.run(
        [str(exe), "eval", *args, "--runner", "custom_runner:make_runner", "--home", home, "--json", str(out)],
        cwd=HERE,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return json.loads(out.read_text())


def main() -> dict:
    """Replay 5 ReDial turns and simulate 2 users against the custom runner."""
    with tempfile.TemporaryDirectory() as tmp:
        replay = _eval("replay", "--limit", "5", "--mention-counts", "corpus", out=Path(tmp) / "replay.json")
        sim = _eval("simulate", "--targets", "2", "--max-turns", "3", out=Path(tmp) / "simulate.json")
    print(
        f"replay: Recall@10 {replay['recall@10']} over {replay['n']} turns; "
        f"simulate: success rate {sim['success_rate']} over {sim['dialogues']} users"
    )
    return {
        "replay_variant": replay["variant"],
        "replay_n": replay["n"],
        "recall@10": replay["recall@10"],
        "simulate_variant": sim["variant"],
        "dialogues": sim["dialogues"],
        "success_rate": sim["success_rate"],
    }


if __name__ == "__main__":
    print(json.dumps(main()))
