"""The deterministic policy as the ``agent`` variant's teacher.

For each turn, ``crs-only`` (understand -> decide -> act -> template) says what to do; the
teacher turns that decision into the tool call an ``agent`` LLM should make and the reply it
should give, and a scripted chat model plays exactly that inside the real ``agent`` graph. So
the prompt, the tool listing, the tool results (LangGraph's ToolNode over the real tools) and the
guard are the product's own; only the LLM's answers come from the teacher.

========== ================================== ==============================================
action     tool call                          reply
========== ================================== ==============================================
recommend  ``recommend(k, genres, years)``    a numbered list of the tool's top items, the
                                              first with one reason (:func:`short_recommend_reply`), or
                                              the human recommender's words when every item
                                              they name is among the tool's results
elicit     ``suggest_question()``             the question
answer     ``get_items(ids=focus)``           the facts template
explain    ``explain_items(item_ids=focus)``  the explanation template
chitchat   none                               the chit-chat template
========== ================================== ==============================================

The agent graph runs under a model profile (default: the bundled model's), so the tool listing
in the recorded requests is exactly what that model is served (compact, without the tools the
profile omits).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from langchain_core.messages import AIMessage, ToolMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.store.memory import InMemoryStore

from crsagent.agent.llm.profiles import ModelProfile, profile_for
from crsagent.agent.llm.weights import BUNDLED_MODEL_NAME
from crsagent.agent.testing import FakeRequest, FunctionChatModel, tool_call_message
from crsagent.agent.turns import ChatMessage, TurnResult
from crsagent.graphs.dialogue.agent_tools import MAX_RECOMMEND
from crsagent.graphs.dialogue.tool_schemas import first_sentence
from crsagent.graphs.runner import CRSAgent

__all__ = ["TeacherPlan", "Teacher", "plan_from", "short_recommend_reply"]


@dataclass
class TeacherPlan:
    """What the teacher's LLM answers this turn.

    Attributes:
        action: the deterministic policy's action.
        call: ``(tool name, arguments)`` of the round-1 tool call, or None (answer at once).
        reply: the reply when the tool results do not change it (every action but recommend).
        explanations: item id -> the policy's explanation (recommend replies reuse them).
        human: the human recommender's reply (ReDial), used when it is grounded.
    """

    action: str
    call: tuple[str, dict[str, Any]] | None
    reply: str
    explanations: dict[str, str] = field(default_factory=dict)
    human: str | None = None


def plan_from(
    result: TurnResult, n_recommend: int, genre_vocab: frozenset[str], human: str | None = None
) -> TeacherPlan:
    """The teacher's plan from the deterministic policy's turn."""
    action = result.action
    focus = (
        [r.item_id for r in result.recommendations] if action == "explain" else list(result.belief.get("focus") or [])
    )
    call: tuple[str, dict[str, Any]] | None = None
    if action == "recommend":
        args: dict[str, Any] = {"k": min(n_recommend, MAX_RECOMMEND)}
        genres = [g for g in result.belief.get("genres_liked") or [] if g.lower() in genre_vocab][:5]
        if genres:
            args["genres"] = genres
        for key in ("year_min", "year_max"):
            if (result.belief.get("constraints") or {}).get(key) is not None:
                args[key] = int(result.belief["constraints"][key])
        call = ("recommend", args)
    elif action == "elicit":
        call = ("suggest_question", {})
    elif action == "answer" and focus:
        call = ("get_items", {"ids": focus[:10]})
    elif action == "explain" and focus:
        call = ("explain_items", {"item_ids": focus[:10]})
    why = {r.item_id: r.explanation for r in result.recommendations}
    return TeacherPlan(action=action, call=call, reply=result.reply, explanations=why, human=human)


def short_recommend_reply(titles: list[str], why: str = "") -> str:
    """A numbered list of ``titles``, the first with its explanation's first sentence.

    >>> print(short_recommend_reply(["Heat (1995)", "Ronin (1998)"], "Because you liked crime films. More."))
    You might like:
    1. Heat (1995) — Because you liked crime films.
    2. Ronin (1998)
    """
    reason = first_sentence(why)
    lines = [f"{n}. {t}" + (f" — {reason}" if n == 1 and reason else "") for n, t in enumerate(titles, 1)]
    return "\n".join(["You might like:", *lines])


def _result_items(request: FakeRequest) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for m in request.messages:
        if isinstance(m, ToolMessage) and m.name == "recommend" and m.status != "error":
            try:
                items += [it for it in json.loads(m.text).get("items", []) if it.get("item_id")]
            except (ValueError, AttributeError, KeyError, TypeError):
                continue
    return items


class Teacher:
    """Runs the teacher over one domain's toolkit and records what the agent node sent and got.

    Args:
        toolkit: the domain's toolkit (shared by the policy and the agent graph).
        n_recommend: items a recommendation names.
        model_profile: the profile the agent graph runs under (default: the bundled model's).

    Attributes:
        last_request: the agent node's final request of the last turn.
        last_answer: the teacher's final answer of the last turn.
        last_result: the agent graph's result of the last turn.
    """

    variant = "agent"

    def __init__(self, toolkit: Any, n_recommend: int = 3, model_profile: ModelProfile | None = None) -> None:
        self.toolkit = toolkit
        self.n_recommend = n_recommend
        self.policy = CRSAgent.create(
            None,  # type: ignore[arg-type]  # no settings: the toolkit is given
            domain=toolkit.domain,
            variant="crs-only",
            toolkit=toolkit,
            checkpointer=InMemorySaver(),
            store=InMemoryStore(),
            n_recommend=n_recommend,
        )
        self.llm = FunctionChatModel(self._answer, max_recorded=8)
        self.model_profile = model_profile or profile_for(BUNDLED_MODEL_NAME)
        self.agent = CRSAgent.create(
            None,  # type: ignore[arg-type]  # no settings: the toolkit is given
            domain=toolkit.domain,
            variant="agent",
            llm=self.llm,
            toolkit=toolkit,
            checkpointer=InMemorySaver(),
            store=InMemoryStore(),
            n_recommend=n_recommend,
            model_profile=self.model_profile,
        )
        self.plan: TeacherPlan | None = None
        self.use_human = True
        self.last_request: FakeRequest | None = None
        self.last_answer: AIMessage | None = None
        self.last_result: TurnResult | None = None
        self.histories: dict[str, list[ChatMessage]] = {}
        self.on_turn: Any = None  # called with (thread_id, TurnResult) after each simulator turn

    def _answer(self, request: FakeRequest) -> Any:
        plan = self.plan
        assert plan is not None, "the teacher answers only inside Teacher.run"
        self.last_request = request
        done = any(isinstance(m, ToolMessage) for m in request.messages)
        if plan.call is not None and not done:
            name, args = plan.call
            self.last_answer = tool_call_message(name, args, call_id="call_0")
            return self.last_answer
        reply = plan.reply
        if plan.action == "recommend":
            shown = _result_items(request)
            returned = [it["item_id"] for it in shown]
            ids = returned[: self.n_recommend]
            linked = (
                [m.item_id for m in self.toolkit.linker.link(plan.human)] if plan.human and self.toolkit.linker else []
            )
            if self.use_human and linked and set(linked) <= set(returned):
                reply = plan.human or reply
            elif ids:
                why = str(shown[0].get("why") or plan.explanations.get(ids[0], ""))  # the reason the tool showed
                reply = short_recommend_reply([self.toolkit.title(i) for i in ids], why)
        self.last_answer = AIMessage(content=reply)
        return self.last_answer

    def run(self, history: list[ChatMessage], human: str | None = None) -> tuple[TeacherPlan, TurnResult]:
        """One turn on a whole history: the policy decides, the agent graph plays the plan.

        A human reply the guard refuses is replaced by the template and the turn is run again.
        """
        decided = self.policy.run_history(history)
        self.plan = plan_from(decided, self.n_recommend, self.toolkit.genre_vocab(), human)
        self.use_human = True
        result = self.agent.run_history(history)
        if result.fallback and human:
            self.use_human = False
            result = self.agent.run_history(history)
        self.last_result = result
        return self.plan, result

    # -- AgentRunner, for the simulators ------------------------------------------------
    def turn(self, text: str, *, thread_id: str, user_id: str | None = None) -> TurnResult:
        """A turn on a thread whose history the teacher keeps (so simulators can drive it)."""
        del user_id
        history = self.histories.setdefault(thread_id, [])
        history.append(ChatMessage(role="user", content=text))
        _, result = self.run(list(history))
        history.append(ChatMessage(role="assistant", content=result.reply))
        if self.on_turn is not None:
            self.on_turn(thread_id, result)
        return result

    async def aturn(self, text: str, *, thread_id: str, user_id: str | None = None) -> TurnResult:
        """:meth:`turn` (the teacher is synchronous)."""
        return self.turn(text, thread_id=thread_id, user_id=user_id)

    def run_history(
        self, messages: list[ChatMessage], *, user_id: str | None = None, ranking_k: int = 50
    ) -> TurnResult:
        """:meth:`run`'s result."""
        return self.run(list(messages))[1]

    async def arun_history(
        self, messages: list[ChatMessage], *, user_id: str | None = None, ranking_k: int = 50
    ) -> TurnResult:
        """:meth:`run_history`."""
        return self.run_history(messages)
