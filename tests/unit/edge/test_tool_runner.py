"""RayToolRunner records every tool run in the metrics, whatever its outcome (no Ray needed)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from penguin_actors.edge import tool_runner
from penguin_actors.edge.tool_runner import RayToolRunner
from penguin_actors.tools import ToolResult
from penguin_actors.types import ToolCall
from tests.support import make_settings
from tests.unit.recording_metrics import record_metrics


def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, outcome: ToolResult | BaseException) -> RayToolRunner:
    """A runner whose Ray task is replaced by ``outcome`` (returned, or raised)."""
    tools = RayToolRunner(make_settings(tmp_path))

    async def run(call: ToolCall) -> ToolResult:
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    monkeypatch.setattr(tools, "_run", run)
    return tools


async def test_tool_runs_are_counted_by_tool_and_status(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A completed, a failed and a cancelled run are counted with their status; a made-up tool name is 'unknown'."""
    recorded = record_metrics(monkeypatch, tool_runner)
    done = ToolResult(status="completed", output="ok", duration_s=0.01)
    await runner(tmp_path, monkeypatch, done).run(ToolCall(id="1", name="read_file", arguments={}))
    failed = ToolResult(status="error", output="no", duration_s=0.01)
    await runner(tmp_path, monkeypatch, failed).run(ToolCall(id="2", name="no_such_tool", arguments={}))
    with pytest.raises(asyncio.CancelledError):
        await runner(tmp_path, monkeypatch, asyncio.CancelledError()).run(ToolCall(id="3", name="grep", arguments={}))
    assert recorded.total("penguin_tool_runs_total", tool="read_file", status="completed") == 1
    assert recorded.total("penguin_tool_runs_total", tool="unknown", status="error") == 1
    assert recorded.total("penguin_tool_runs_total", tool="grep", status="cancelled") == 1
    assert len(recorded.observed("penguin_tool_seconds")) == 3
    assert not recorded.metrics.failed
