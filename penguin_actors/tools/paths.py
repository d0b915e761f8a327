"""Path helpers of the file tools: workspace resolution, protected folders, globs, bounded walks and lines.

Every path a tool is given goes through ``Workspace.resolve`` (``..``, absolute paths
elsewhere and symlinks out of the workspace are refused there). On top of that the
server's own data folder ``.penguin/`` is out of the tools' reach, and recursive
walks never follow symlinked folders and skip tool caches and VCS folders.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from penguin_actors.tools.base import ToolContext, ToolError

# The server keeps its database and state here (Settings.resolved_storage_uri defaults to .penguin/db).
PROTECTED_DIRS = frozenset({".penguin"})
# Folders a recursive search does not descend into (naming one as the search path still works).
SKIPPED_DIRS = frozenset(
    {".git", ".hg", ".svn", ".penguin", "node_modules", "__pycache__", ".venv", ".mypy_cache", ".ruff_cache"}
    | {".pytest_cache", ".tox"}
)
BINARY_SNIFF_BYTES = 8192


def resolve(ctx: ToolContext, user_path: str, *, must_exist: bool = True) -> Path:
    """The real path of ``user_path`` inside the workspace, and not inside a protected folder."""
    path = ctx.workspace.resolve(user_path, must_exist=must_exist)
    parts = path.relative_to(ctx.workspace.root).parts
    if parts and parts[0] in PROTECTED_DIRS:
        raise ToolError(
            f"{user_path!r} is inside {parts[0]}/, where the server keeps its own data: tools may not use it"
        )
    return path


def relative(ctx: ToolContext, path: Path) -> str:
    """``path`` as the model names it: relative to the workspace root, '.' for the root."""
    return path.relative_to(ctx.workspace.root).as_posix() or "."


def is_binary(path: Path) -> bool:
    with path.open("rb") as file:
        return b"\x00" in file.read(BINARY_SNIFF_BYTES)


def read_lines(file: TextIO, max_chars: int) -> Iterator[tuple[str, bool]]:
    """The lines of ``file`` without their line ends, each cut to ``max_chars`` (and whether it was cut).

    A line is never held whole in memory beyond ``max_chars``: the rest is read and dropped in pieces.
    """
    while True:
        line = file.readline(max_chars + 1)
        if not line:
            return
        if line.endswith("\n"):
            yield line[:-1], False
            continue
        if len(line) <= max_chars:
            yield line, False  # the last line, without a line end
            return
        yield line[:max_chars], True
        while True:  # skip the rest of this long line
            rest = file.readline(64 * 1024)
            if not rest or rest.endswith("\n"):
                break


def glob_regex(pattern: str) -> re.Pattern[str]:
    """A regex matching workspace-relative POSIX paths against a glob.

    ``*`` and ``?`` stay within one path segment, ``**`` spans any number of them
    (``**/`` also none), ``[...]`` is a character class (``[!...]`` negated).
    """
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        elif pattern[i] == "[" and (end := _class_end(pattern, i)) > 0:
            body = pattern[i + 1 : end]
            negate = body[:1] in ("!", "^")
            body = body[1:] if negate else body
            out.append("[" + ("^/" if negate else "") + body.replace("\\", "\\\\") + "]")
            i = end + 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    try:
        return re.compile("".join(out), re.DOTALL)
    except re.error as exc:
        raise ToolError(f"glob {pattern!r} is malformed ({exc}): use *, ** and ? wildcards") from None


def _class_end(pattern: str, start: int) -> int:
    """The index of the ``]`` closing the class opened at ``start``; -1 if there is none."""
    j = start + 1
    if j < len(pattern) and pattern[j] in "!^":
        j += 1
    if j < len(pattern) and pattern[j] == "]":
        j += 1
    end = pattern.find("]", j)
    return end


def check_glob(pattern: str) -> str:
    """``pattern`` without a leading ./; refused if absolute or stepping out with ..."""
    cleaned = pattern.strip()
    while cleaned.startswith("./"):
        cleaned = cleaned[2:]
    if not cleaned or "\x00" in cleaned:
        raise ToolError("the glob pattern is empty or has a NUL byte: give one like '**/*.py'")
    if cleaned.startswith(("/", "~")) or ".." in cleaned.split("/"):
        raise ToolError(f"glob {pattern!r} leaves the workspace: give a pattern relative to it, like 'src/**/*.py'")
    return cleaned


def literal_prefix(pattern: str) -> str:
    """The folders at the start of a glob that have no wildcard: where a walk for it can start."""
    parts = pattern.split("/")[:-1]
    prefix: list[str] = []
    for part in parts:
        if any(char in part for char in "*?["):
            break
        prefix.append(part)
    return "/".join(prefix)


def walk(start: Path) -> Iterator[tuple[Path, bool]]:
    """(path, is_dir) of everything under ``start``, in sorted order, not following symlinked folders.

    Folders in ``SKIPPED_DIRS`` are listed but not entered, ``PROTECTED_DIRS`` not even listed;
    unreadable folders are passed over.
    """
    for directory, dirnames, filenames in os.walk(start, followlinks=False):
        dirnames.sort()
        base = Path(directory)
        dirnames[:] = [name for name in dirnames if name not in PROTECTED_DIRS]
        for name in dirnames:
            yield base / name, True
        for name in sorted(filenames):
            yield base / name, False
        dirnames[:] = [name for name in dirnames if name not in SKIPPED_DIRS]
