"""The tools a model may call: specs for the model, and ``run_tool``, a pure function of (tool, args, context).

Plain Python with no Ray: the runtime runs ``run_tool`` inside a Ray task.
"""

from __future__ import annotations

from penguin_actors.tools.base import Tool, ToolContext, ToolError, ToolResult
from penguin_actors.tools.env import safe_env
from penguin_actors.tools.registry import TOOLS, run_tool, tool_specs

__all__ = ["TOOLS", "Tool", "ToolContext", "ToolError", "ToolResult", "run_tool", "safe_env", "tool_specs"]
