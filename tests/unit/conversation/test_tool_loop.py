"""The agent loop without Ray: every journaled tool call ends with a result, even when a turn is cancelled."""

from __future__ import annotations

import asyncio
from pathlib import Path

from penguin_actors.conversation.conversation import Conversation
from penguin_actors.testing.fake_llm import FakeLLM, FakeToolCall, Reply
from penguin_actors.tools import ToolResult
from penguin_actors.types import ToolCall, ToolSpec, TurnRequest
from tests.support import FAKE_KEY, FAKE_KEY_ENV, make_settings
from tests.unit.conversation.fakes import AsyncModels, MemoryStore


class SlowSecondTool:
    """The first call answers at once; the second waits until cancelled."""

    def __init__(self) -> None:
        self.started: list[str] = []

    def specs(self) -> list[ToolSpec]:
        return [ToolSpec(name="probe", description="probe")]

    async def run(self, call: ToolCall) -> ToolResult:
        self.started.append(call.id)
        if len(self.started) > 1:
            await asyncio.sleep(60)
        return ToolResult(status="completed", output=f"done {call.id}", duration_s=0.0)


async def test_cancel_during_the_second_of_two_tools_keeps_both_results(tmp_path: Path, llm: FakeLLM) -> None:
    """Cancelled during a step's second tool: the finished call keeps its result, the running one gets 'cancelled'."""
    llm.script(Reply(tool_calls=(FakeToolCall("probe", {"n": 1}), FakeToolCall("probe", {"n": 2}))))
    catalog = [
        {"id": "sim", "name": "sim/fast", "provider": "sim"},
        {
            "id": "fake",
            "name": "openai/fake",
            "provider": "openai",
            "base_url": f"{llm.base_url}/v1",
            "api_key_env": FAKE_KEY_ENV,
        },
    ]
    store = MemoryStore()
    store.add("c1")
    tools = SlowSecondTool()
    conv = Conversation(
        "c1", make_settings(tmp_path), store, AsyncModels(tmp_path, catalog), env={FAKE_KEY_ENV: FAKE_KEY}, tools=tools
    )
    await conv.activate()
    turn = await conv.start_turn(TurnRequest(text="probe twice", model_id="fake"))
    while len(tools.started) < 2:
        await asyncio.sleep(0.01)
    await conv.cancel()
    result = await asyncio.wait_for(conv.wait(turn["turn_id"]), 5)
    assert result["cancelled"] and [a["status"] for a in result["action_results"]] == ["completed"]
    messages = store.messages["c1"]
    calls = [c.id for c in messages[1].tool_calls]
    answers = {m.tool_call_id: m.text() for m in messages[2:] if m.role == "tool"}
    assert set(answers) == set(calls)
    assert answers[calls[0]].startswith("done") and "cancelled" in answers[calls[1]]
