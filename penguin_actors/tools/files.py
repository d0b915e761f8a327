"""File tools: ``read_file``, ``write_file``, ``edit_file`` and ``list_files``.

Every path goes through ``paths.resolve`` (the workspace's one resolver, plus the
protected ``.penguin/`` folder). Outputs stay under the output cap on their own and
say how to get the rest.
"""

from __future__ import annotations

from pydantic import Field, model_validator

from penguin_actors.errors import TooLarge
from penguin_actors.tools.base import Tool, ToolArgs, ToolContext, ToolError, ToolOutput
from penguin_actors.tools.output import NOTE_RESERVE, TextBudget
from penguin_actors.tools.paths import PROTECTED_DIRS, is_binary, read_lines, relative, resolve

MAX_PATH_CHARS = 1024
MAX_WRITE_CHARS = 10_000_000
MAX_EDIT_BYTES = 10 * 1024 * 1024
MAX_LIST_ENTRIES = 5000

PathField = Field(min_length=1, max_length=MAX_PATH_CHARS, description="A file path relative to the workspace root.")


class ReadArgs(ToolArgs):
    path: str = PathField
    start_line: int = Field(1, ge=1, description="The first line to show (1-based).")
    end_line: int | None = Field(
        None, ge=1, description="The last line to show (1-based, inclusive); default: the end of the file."
    )

    @model_validator(mode="after")
    def _ordered(self) -> ReadArgs:
        if self.end_line is not None and self.end_line < self.start_line:
            raise ValueError(f"end_line {self.end_line} is before start_line {self.start_line}")
        return self


class WriteArgs(ToolArgs):
    path: str = PathField
    content: str = Field(max_length=MAX_WRITE_CHARS, description="The whole new content of the file (UTF-8 text).")


class EditArgs(ToolArgs):
    path: str = PathField
    old: str = Field(
        min_length=1, description="Exact text to replace, whitespace included; it must occur exactly once in the file."
    )
    new: str = Field(description="The text to put in its place.")


class ListArgs(ToolArgs):
    path: str = Field(".", min_length=1, max_length=MAX_PATH_CHARS, description="A folder of the workspace.")
    max_entries: int = Field(500, ge=1, le=MAX_LIST_ENTRIES, description="At most this many entries are listed.")


def read_file(args: ReadArgs, ctx: ToolContext) -> str | ToolOutput:
    path = resolve(ctx, args.path)
    name = relative(ctx, path)
    if path.is_dir():
        raise ToolError(f"{name!r} is a folder: use list_files to see what it holds")
    if is_binary(path):
        raise ToolError(f"{name!r} looks like a binary file ({path.stat().st_size} bytes): read_file shows text only")
    budget = TextBudget(ctx.settings.output_cap_bytes - NOTE_RESERVE)
    last_shown = number = 0
    # A line is cut where it would fill the budget even if every character took 4 bytes.
    max_line_chars = (budget.budget - 64) // 4
    with path.open(encoding="utf-8", errors="replace") as file:
        for number, (line, cut) in enumerate(read_lines(file, max_line_chars), start=1):
            if number < args.start_line:
                continue
            if args.end_line is not None and number > args.end_line:
                break
            if not budget.add(f"{number:>6}\t{line}" + (" [line cut]" if cut else "")):
                break
            last_shown = number
    if budget.full:
        note = (
            f"\n[output truncated after line {last_shown} to fit the output limit: "
            f"call read_file with start_line={last_shown + 1} to read on]"
        )
        return ToolOutput(budget.text() + note, truncated=True)
    if last_shown == 0:
        if number == 0:
            return f"({name} is empty)"
        raise ToolError(f"{name!r} has {number} lines: start_line {args.start_line} is past its end")
    return budget.text()


def write_file(args: WriteArgs, ctx: ToolContext) -> str:
    path = resolve(ctx, args.path, must_exist=False)
    name = relative(ctx, path)
    if path.is_dir():
        raise ToolError(f"{name!r} is a folder: give the path of a file")
    existed = path.exists()
    path.parent.mkdir(parents=True, exist_ok=True)
    data = args.content.encode("utf-8")
    path.write_bytes(data)
    return f"{'overwrote' if existed else 'created'} {name}: {len(data)} bytes, {_count_lines(args.content)} lines"


def edit_file(args: EditArgs, ctx: ToolContext) -> str:
    path = resolve(ctx, args.path)
    name = relative(ctx, path)
    if not path.is_file():
        raise ToolError(f"{name!r} is not a file")
    size = path.stat().st_size
    if size > MAX_EDIT_BYTES:
        raise TooLarge(f"{name!r} has {size} bytes, over the {MAX_EDIT_BYTES} edit_file handles: use write_file")
    try:
        # newline="" keeps the file's own line ends (\r\n stays \r\n).
        with path.open(encoding="utf-8", newline="") as file:
            text = file.read()
    except UnicodeDecodeError:
        raise ToolError(f"{name!r} is not UTF-8 text: edit_file changes text files only") from None
    count = text.count(args.old)
    if count == 0:
        raise ToolError(
            f"the old text was not found in {name}: read the file and copy the text exactly, "
            "whitespace and line ends included"
        )
    if count > 1:
        raise ToolError(
            f"the old text matches {count} places in {name}: include more of the surrounding lines "
            "so that it matches exactly one"
        )
    at = text.index(args.old)
    first_line = text.count("\n", 0, at) + 1
    with path.open("w", encoding="utf-8", newline="") as file:
        file.write(text[:at] + args.new + text[at + len(args.old) :])
    last_line = first_line + max(0, _count_lines(args.new) - 1)
    return f"edited {name}: replaced 1 occurrence; the new text is at lines {first_line}-{last_line}"


def list_files(args: ListArgs, ctx: ToolContext) -> str | ToolOutput:
    path = resolve(ctx, args.path)
    name = relative(ctx, path)
    if not path.is_dir():
        raise ToolError(f"{name!r} is a file, not a folder: use read_file to read it")
    at_root = path == ctx.workspace.root
    entries = sorted(
        entry.name + ("/" if entry.is_dir() else "")
        for entry in path.iterdir()
        if not (at_root and entry.name in PROTECTED_DIRS)
    )
    if not entries:
        return f"({name} is an empty folder)"
    budget = TextBudget(ctx.settings.output_cap_bytes - NOTE_RESERVE)
    for entry in entries[: args.max_entries]:
        if not budget.add(entry):
            break
    shown = len(budget.lines)
    if shown < len(entries):
        return ToolOutput(budget.text() + f"\n[{len(entries) - shown} more entries not shown]", truncated=True)
    return budget.text()


def _count_lines(text: str) -> int:
    return text.count("\n") + (0 if not text or text.endswith("\n") else 1)


READ_FILE = Tool(
    name="read_file",
    description=(
        "Read a text file of the workspace. Lines come numbered ('  12<TAB>text'); give start_line and end_line "
        "to read part of a long file. Long outputs are cut and say where to continue."
    ),
    args=ReadArgs,
    run=read_file,
)
WRITE_FILE = Tool(
    name="write_file",
    description=(
        "Create or overwrite a file of the workspace with the given content; missing parent folders are created."
    ),
    args=WriteArgs,
    run=write_file,
)
EDIT_FILE = Tool(
    name="edit_file",
    description=(
        "Replace one exact piece of text in a file with new text. 'old' must match exactly one place "
        "(whitespace included); otherwise nothing changes and the error says how many places matched."
    ),
    args=EditArgs,
    run=edit_file,
)
LIST_FILES = Tool(
    name="list_files",
    description="List a folder of the workspace (default: its root), sorted; folders end with '/'.",
    args=ListArgs,
    run=list_files,
)
