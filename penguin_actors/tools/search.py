"""Search tools: ``find_files`` (a glob over the workspace) and ``grep`` (a regex over file contents).

Both walk the workspace without following symlinked folders, skip VCS and cache
folders, and stop at a result count, an output budget, a number of files looked at
and the tool time limit, saying which one stopped them.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from pydantic import Field

from penguin_actors.errors import NotFound
from penguin_actors.tools.base import Tool, ToolArgs, ToolContext, ToolError, ToolOutput
from penguin_actors.tools.output import NOTE_RESERVE, TextBudget
from penguin_actors.tools.paths import (
    check_glob,
    glob_regex,
    is_binary,
    literal_prefix,
    read_lines,
    relative,
    resolve,
    walk,
)

MAX_RESULTS = 5000
MAX_VISITED = 200_000  # paths a search looks at before it gives up
MAX_LINE_CHARS = 10_000  # longer lines are searched and shown in their first part only
SHOWN_LINE_CHARS = 300


class FindArgs(ToolArgs):
    pattern: str = Field(
        min_length=1,
        max_length=1000,
        description="A glob relative to the workspace root: '*' and '?' within a name, '**' across folders; "
        "e.g. '**/*.py', 'src/*.md', 'tests/**/test_*.py'.",
    )
    max_results: int = Field(500, ge=1, le=MAX_RESULTS, description="At most this many paths are returned.")


class GrepArgs(ToolArgs):
    pattern: str = Field(
        min_length=1, max_length=1000, description="A Python regular expression, searched for in each line."
    )
    path: str = Field(".", min_length=1, max_length=1024, description="A file or folder of the workspace to search.")
    glob: str | None = Field(
        None,
        max_length=1000,
        description="Only files matching this glob: matched against the file name if it has no '/' (e.g. '*.py'), "
        "else against the workspace-relative path (e.g. 'src/**/*.py').",
    )
    ignore_case: bool = Field(False, description="Match letters in either case.")
    max_matches: int = Field(200, ge=1, le=MAX_RESULTS, description="Stop after this many matching lines.")


def find_files(args: FindArgs, ctx: ToolContext) -> str | ToolOutput:
    pattern = check_glob(args.pattern)
    matcher = glob_regex(pattern)
    prefix = literal_prefix(pattern)
    try:
        start = resolve(ctx, prefix) if prefix else ctx.workspace.root
    except NotFound:
        start = None
    if start is None or not start.is_dir():
        return f"no paths match {args.pattern!r} ({prefix}/ does not exist)"
    found: list[str] = []
    stop = _Stop(ctx)
    for path, is_dir in walk(start):
        if stop.now():
            break
        name = relative(ctx, path)
        if matcher.fullmatch(name):
            found.append(name + ("/" if is_dir else ""))
            if len(found) > args.max_results:
                stop.reason = f"more than {args.max_results} paths match"
                break
    if not found:
        return f"no paths match {args.pattern!r}" + (f" ({stop.reason})" if stop.reason else "")
    budget = TextBudget(ctx.settings.output_cap_bytes - NOTE_RESERVE)
    for name in sorted(found)[: args.max_results]:
        if not budget.add(name):
            stop.reason = stop.reason or "the output limit was reached"
            break
    if stop.reason:
        note = f"\n[stopped: {stop.reason}; {len(budget.lines)} shown — narrow the pattern to see the rest]"
        return ToolOutput(budget.text() + note, truncated=True)
    return budget.text()


def grep(args: GrepArgs, ctx: ToolContext) -> str | ToolOutput:
    try:
        regex = re.compile(args.pattern, re.IGNORECASE if args.ignore_case else 0)
    except re.error as exc:
        raise ToolError(f"invalid regular expression {args.pattern!r}: {exc}") from None
    start = resolve(ctx, args.path)
    selector = _file_selector(args.glob)
    budget = TextBudget(ctx.settings.output_cap_bytes - NOTE_RESERVE)
    files = [start] if start.is_file() else (path for path, is_dir in walk(start) if not is_dir)
    stop = _Stop(ctx)
    matches = searched = 0
    for path in files:
        if stop.now():
            break
        name = relative(ctx, path)
        if path != start and not selector(name):
            continue
        real = _searchable(ctx, path)
        if real is None:
            continue
        searched += 1
        for number, text in _matching_lines(real, regex, stop):
            if not budget.add(f"{name}:{number}: {text}"):
                stop.reason = "the output limit was reached"
                break
            matches += 1
            if matches >= args.max_matches:
                stop.reason = f"max_matches ({args.max_matches}) lines were found"
                break
        if stop.reason:
            break
    if stop.reason:
        note = f"\n[stopped: {stop.reason}; {matches} matching lines shown, there may be more: narrow the search]"
        return ToolOutput(budget.text() + note, truncated=True)
    if not matches:
        return f"no matches for {args.pattern!r} in {searched} files"
    return budget.text()


class _Stop:
    """Why a walk stopped early: too many paths looked at, or out of time."""

    def __init__(self, ctx: ToolContext) -> None:
        self.deadline = time.monotonic() + ctx.settings.timeout_s
        self.visited = 0
        self.reason = ""

    def now(self) -> bool:
        """Count one more path looked at; True if the walk must stop."""
        self.visited += 1
        if self.visited > MAX_VISITED:
            self.reason = f"{MAX_VISITED} paths were looked at"
        elif self.visited % 64 == 0:
            self.out_of_time()
        return bool(self.reason)

    def out_of_time(self) -> bool:
        if time.monotonic() > self.deadline:
            self.reason = "the time limit was reached"
        return bool(self.reason)


def _file_selector(pattern: str | None) -> Callable[[str], bool]:
    if pattern is None:
        return lambda _name: True
    cleaned = check_glob(pattern)
    regex = glob_regex(cleaned)
    if "/" in cleaned:
        return lambda name: regex.fullmatch(name) is not None
    return lambda name: regex.fullmatch(name.rsplit("/", 1)[-1]) is not None


def _searchable(ctx: ToolContext, path: Path) -> Path | None:
    """The real path of a text file to search, or None (a link out of the workspace, binary, unreadable)."""
    try:
        real = path.resolve()
        if not real.is_relative_to(ctx.workspace.root) or not real.is_file() or is_binary(real):
            return None
    except OSError:
        return None
    return real


def _matching_lines(path: Path, regex: re.Pattern[str], stop: _Stop) -> Iterator[tuple[int, str]]:
    """(line number, text cut for display) of each line of ``path`` that ``regex`` matches."""
    try:
        with path.open(encoding="utf-8", errors="replace") as file:
            for number, (line, _cut) in enumerate(read_lines(file, MAX_LINE_CHARS), start=1):
                if number % 10_000 == 0 and stop.out_of_time():
                    return
                if regex.search(line):
                    yield number, line if len(line) <= SHOWN_LINE_CHARS else line[:SHOWN_LINE_CHARS] + " …"
    except OSError:
        return


FIND_FILES = Tool(
    name="find_files",
    description=(
        "Find paths of the workspace matching a glob, e.g. '**/*.py' (all Python files) or 'docs/*.md'. "
        "Results are sorted; folders end with '/'. VCS, cache and virtualenv folders are not searched."
    ),
    args=FindArgs,
    run=find_files,
)
GREP = Tool(
    name="grep",
    description=(
        "Search text files of the workspace for a regular expression; each match is a line "
        "'path:line: text'. Narrow it with path (a file or folder) and glob (e.g. '*.py'). "
        "Binary files and VCS, cache and virtualenv folders are skipped."
    ),
    args=GrepArgs,
    run=grep,
)
