"""The tool registry: which tools a model is offered, and ``run_tool``, which never raises for a tool's failure.

``run_tool`` turns every way a call can fail (unknown or disabled tool, arguments
that are not JSON or do not fit, a path outside the workspace, a missing file, an
OS error, a bug) into an ``error`` result with a one-paragraph message the model
can act on, measures the call and caps its output at ``tools.output_cap_bytes``.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from pydantic import ValidationError

from penguin_actors.config import ToolSettings
from penguin_actors.errors import PenguinError
from penguin_actors.tools.base import Tool, ToolContext, ToolError, ToolOutput, ToolResult
from penguin_actors.tools.files import EDIT_FILE, LIST_FILES, READ_FILE, WRITE_FILE
from penguin_actors.tools.memory import ADD_NOTE, MEMORY_SEARCH
from penguin_actors.tools.output import cap_text
from penguin_actors.tools.search import FIND_FILES, GREP
from penguin_actors.tools.shell import EXECUTE_COMMAND, EXECUTE_PYTHON
from penguin_actors.types import RAW_ARGUMENTS_KEY, ToolSpec

TOOLS: dict[str, Tool[Any]] = {
    tool.name: tool
    for tool in (
        READ_FILE,
        WRITE_FILE,
        EDIT_FILE,
        LIST_FILES,
        FIND_FILES,
        GREP,
        EXECUTE_COMMAND,
        EXECUTE_PYTHON,
        MEMORY_SEARCH,
        ADD_NOTE,
    )
}
MAX_ERRORS_SHOWN = 5
SHOWN_INPUT_CHARS = 80


def available(settings: ToolSettings) -> list[Tool[Any]]:
    """The tools these settings offer, in registry order."""
    if not settings.enabled:
        return []
    return [tool for tool in TOOLS.values() if settings.allow_code_execution or not tool.runs_code]


def tool_specs(settings: ToolSettings) -> list[ToolSpec]:
    """The tools offered to the model: none when tools are off, no code tools when code execution is off."""
    return [tool.spec() for tool in available(settings)]


def run_tool(name: str, arguments: dict[str, Any], ctx: ToolContext) -> ToolResult:
    """Run one tool call; a failure of any kind is an ``error`` result, never an exception."""
    started = time.monotonic()
    try:
        output = _call(name, arguments, ctx)
    except ToolError as exc:
        output = ToolOutput(exc.message, is_error=True)
    except PenguinError as exc:
        output = ToolOutput(exc.message, is_error=True)
    except ValidationError as exc:
        output = ToolOutput(_describe_validation(name, exc), is_error=True)
    except OSError as exc:
        output = ToolOutput(_describe_os_error(name, exc, ctx), is_error=True)
    except Exception as exc:  # a bug in a tool: the model gets the kind and message, never a traceback
        output = ToolOutput(f"{name} failed unexpectedly: {type(exc).__name__}: {exc}", is_error=True)
    text, capped = cap_text(output.text, ctx.settings.output_cap_bytes)
    return ToolResult(
        status="error" if output.is_error else "completed",
        output=text,
        truncated=output.truncated or capped,
        duration_s=time.monotonic() - started,
    )


def _call(name: str, arguments: dict[str, Any], ctx: ToolContext) -> ToolOutput:
    if not ctx.settings.enabled:
        raise ToolError("tools are disabled on this server (tools.enabled is false): answer without them")
    tool = TOOLS.get(name)
    if tool is None:
        raise ToolError(f"there is no tool {name!r}: use one of {_names(available(ctx.settings))}")
    if tool.runs_code and not ctx.settings.allow_code_execution:
        raise ToolError(
            f"{name} is disabled on this server (tools.allow_code_execution is false): "
            f"use one of {_names(available(ctx.settings))} instead"
        )
    if not isinstance(arguments, dict):
        raise ToolError(f"the arguments of {name} must be a JSON object, not {type(arguments).__name__}")
    if RAW_ARGUMENTS_KEY in arguments:
        raw = str(arguments[RAW_ARGUMENTS_KEY])
        shown = raw if len(raw) <= SHOWN_INPUT_CHARS else raw[:SHOWN_INPUT_CHARS] + "…"
        raise ToolError(
            f"the arguments of {name} were not a valid JSON object ({shown!r}): call it again with a JSON object "
            f"with the fields {_fields(tool)}"
        )
    result = tool.invoke(arguments, ctx)
    return result if isinstance(result, ToolOutput) else ToolOutput(result)


def _describe_validation(name: str, exc: ValidationError) -> str:
    tool = TOOLS[name]
    problems = []
    for error in exc.errors()[:MAX_ERRORS_SHOWN]:
        field = ".".join(str(part) for part in error["loc"]) or "arguments"
        if error["type"] == "missing":
            problems.append(f"{field}: required but missing")
        elif error["type"] == "extra_forbidden":
            problems.append(f"{field}: not a field of {name}")
        else:
            shown = repr(error.get("input"))
            shown = shown if len(shown) <= SHOWN_INPUT_CHARS else shown[:SHOWN_INPUT_CHARS] + "…"
            problems.append(f"{field}: {error['msg']} (got {shown})")
    more = len(exc.errors()) - MAX_ERRORS_SHOWN
    if more > 0:
        problems.append(f"and {more} more")
    return f"invalid arguments for {name}: {'; '.join(problems)}. Its fields are {_fields(tool)}."


def _describe_os_error(name: str, exc: OSError, ctx: ToolContext) -> str:
    reason = exc.strerror or str(exc) or type(exc).__name__
    where = ""
    if exc.filename is not None:
        filename = str(exc.filename)
        root = str(ctx.workspace.root)
        where = f" ({filename.removeprefix(root).lstrip('/') or '.'})" if filename.startswith(root) else ""
    return f"{name} failed: {reason}{where}"


def _fields(tool: Tool[Any]) -> str:
    schema = tool.parameters()
    required = set(schema["required"])
    return ", ".join(f"{field}{'' if field in required else ' (optional)'}" for field in schema["properties"])


def _names(tools: Iterable[Tool[Any]]) -> str:
    return ", ".join(tool.name for tool in tools) or "(none)"
