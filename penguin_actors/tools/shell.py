"""The code-running tools: ``execute_command`` (a shell command) and ``execute_python`` (a Python snippet).

Both run in the workspace root with the scrubbed ``ctx.env``, a timeout of at most
``tools.timeout_s`` and output capped at ``tools.output_cap_bytes`` while it is read.
Neither exists unless ``tools.allow_code_execution`` is on.
"""

from __future__ import annotations

import shutil
import sys

from pydantic import Field

from penguin_actors.tools.base import Tool, ToolArgs, ToolContext, ToolError, ToolOutput
from penguin_actors.tools.env import safe_env
from penguin_actors.tools.output import NOTE_RESERVE
from penguin_actors.tools.process import ProcessResult, run_process

__all__ = ["EXECUTE_COMMAND", "EXECUTE_PYTHON", "safe_env"]

SHELL = shutil.which("bash") or "/bin/sh"
MAX_COMMAND_CHARS = 100_000
# One argument of a command line may hold at most 128 KiB on Linux (MAX_ARG_STRLEN).
MAX_CODE_BYTES = 120_000
MAX_TIMEOUT_S = 3600.0


class CommandArgs(ToolArgs):
    command: str = Field(
        min_length=1,
        max_length=MAX_COMMAND_CHARS,
        description="The shell command to run (bash if available), e.g. 'pytest -q' or 'ls -la src'.",
    )
    timeout_s: float | None = Field(
        None,
        gt=0,
        le=MAX_TIMEOUT_S,
        description="Seconds before the command and everything it started are killed; "
        "at most the server's limit, which is also the default.",
    )


class PythonArgs(ToolArgs):
    code: str = Field(
        min_length=1,
        max_length=MAX_CODE_BYTES,
        description="Python source to run in a fresh, isolated interpreter; print what you want to see.",
    )
    timeout_s: float | None = Field(
        None,
        gt=0,
        le=MAX_TIMEOUT_S,
        description="Seconds before the interpreter is killed; at most the server's limit, which is also the default.",
    )


def require_code_execution(ctx: ToolContext) -> None:
    if not ctx.settings.allow_code_execution:
        raise ToolError(
            "running code is disabled on this server (tools.allow_code_execution is false): "
            "use the file tools (read_file, write_file, edit_file, list_files, find_files, grep) instead"
        )


def execute_command(args: CommandArgs, ctx: ToolContext) -> ToolOutput:
    require_code_execution(ctx)
    return _run([SHELL, "-c", args.command], args.timeout_s, ctx)


def execute_python(args: PythonArgs, ctx: ToolContext) -> ToolOutput:
    require_code_execution(ctx)
    if len(args.code.encode("utf-8")) > MAX_CODE_BYTES:
        raise ToolError(
            f"code has more than {MAX_CODE_BYTES} bytes: write it to a file with write_file "
            "and run it with execute_command ('python file.py')"
        )
    # -I: isolated (no PYTHON* variables, no user site-packages, the workspace not on sys.path); -u: unbuffered.
    return _run([sys.executable, "-I", "-u", "-c", args.code], args.timeout_s, ctx)


def _run(argv: list[str], requested_timeout_s: float | None, ctx: ToolContext) -> ToolOutput:
    limit = ctx.settings.timeout_s
    timeout_s = limit if requested_timeout_s is None else min(requested_timeout_s, limit)
    result = run_process(
        argv,
        cwd=ctx.workspace.root,
        env=ctx.env,
        timeout_s=timeout_s,
        output_limit=max(0, ctx.settings.output_cap_bytes - NOTE_RESERVE),
    )
    return ToolOutput(text=_describe(result, timeout_s), truncated=result.truncated, is_error=result.timed_out)


def _describe(result: ProcessResult, timeout_s: float) -> str:
    output = result.output if result.output.endswith("\n") or not result.output else result.output + "\n"
    if result.timed_out:
        printed = "the output above is what it printed until then" if output else "it printed nothing"
        status = f"[timed out after {timeout_s:g} s: the process and all it started were killed; {printed}]"
    elif result.exit_code is not None and result.exit_code < 0:
        status = f"[killed by signal {-result.exit_code}]"
    else:
        status = f"[exit code {result.exit_code}]"
    return f"{output}{status}"


EXECUTE_COMMAND = Tool(
    name="execute_command",
    description=(
        "Run a shell command in the workspace root and return its combined stdout and stderr and its exit code. "
        "The command has no stdin, a time limit, and a scrubbed environment (no API keys); "
        "long output keeps its start and end. Background processes do not outlive the call."
    ),
    args=CommandArgs,
    run=execute_command,
    runs_code=True,
)

EXECUTE_PYTHON = Tool(
    name="execute_python",
    description=(
        "Run Python code in a fresh, isolated interpreter (python -I) with the workspace root as the current "
        "directory, and return what it printed (stdout and stderr) and its exit code. "
        "Same limits as execute_command. To import modules of the workspace, write a file and run it "
        "with execute_command instead."
    ),
    args=PythonArgs,
    run=execute_python,
    runs_code=True,
)
