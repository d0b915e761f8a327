"""LocalToolRunner: tools run in a thread of this process, for use without Ray (tests, baselines)."""

from __future__ import annotations

import asyncio

from penguin_actors.config import Settings
from penguin_actors.tools.base import ToolContext, ToolResult
from penguin_actors.tools.registry import run_tool, tool_specs
from penguin_actors.types import ToolCall, ToolSpec


class LocalToolRunner:
    """The engine's ToolRunner without Ray; a cancelled call's thread runs on until the tool's own timeout."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.context = ToolContext.from_settings(settings)

    def specs(self) -> list[ToolSpec]:
        return tool_specs(self.settings.tools)

    async def run(self, call: ToolCall) -> ToolResult:
        return await asyncio.to_thread(run_tool, call.name, call.arguments, self.context)
