"""Hostile paths: every file tool refuses ../, absolute paths elsewhere, links out, NUL bytes; never reads outside."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.unit.tools.helpers import SECRET, Run

HOSTILE = ["../secret.txt", "src/../../secret.txt", "/etc/passwd", "~/.bashrc", "a\x00b", "%2e%2e/secret.txt"]


@pytest.mark.parametrize("path", HOSTILE)
@pytest.mark.parametrize(
    ("tool", "extra"),
    [
        ("read_file", {}),
        ("list_files", {}),
        ("edit_file", {"old": "S", "new": "X"}),
        ("grep", {"pattern": "SECRET"}),
    ],
)
def test_hostile_paths_are_errors(run: Run, tool: str, extra: dict[str, str], path: str) -> None:
    """Each hostile path is an error result (outside, malformed or not found) and shows nothing from outside."""
    result = run(tool, path=path, **extra)
    assert result.status == "error"
    assert SECRET not in result.output and "root:" not in result.output
    if path.startswith("%"):
        assert "no file" in result.output  # URL encoding is only a strange file name
    elif "\x00" in path:
        assert "NUL" in result.output
    else:
        assert "outside" in result.output


@pytest.mark.parametrize("path", ["../escaped.txt", "/tmp/escaped-by-tool.txt", "src/../../escaped.txt"])
def test_write_file_never_writes_outside(run: Run, root: Path, path: str) -> None:
    """write_file to a path outside the workspace is refused and creates nothing."""
    result = run("write_file", path=path, content="pwned")
    assert result.status == "error" and "outside" in result.output
    assert not (root.parent / "escaped.txt").exists() and not Path("/tmp/escaped-by-tool.txt").exists()


def test_symlinks_out_of_the_workspace_are_refused(run: Run, root: Path) -> None:
    """A file or folder link pointing outside is refused by every tool; searches do not follow it."""
    os.symlink(root.parent / "secret.txt", root / "link.txt")
    os.symlink(root.parent / "outside", root / "linkdir")
    for tool, args in [
        ("read_file", {"path": "link.txt"}),
        ("write_file", {"path": "link.txt", "content": "x"}),
        ("edit_file", {"path": "link.txt", "old": "TOP", "new": "X"}),
        ("read_file", {"path": "linkdir/loot.txt"}),
        ("write_file", {"path": "linkdir/new.txt", "content": "x"}),
        ("list_files", {"path": "linkdir"}),
        ("grep", {"pattern": "SECRET", "path": "linkdir"}),
        ("find_files", {"pattern": "linkdir/*"}),
    ]:
        result = run(tool, **args)
        assert result.status == "error" and "outside" in result.output, (tool, args, result)
        assert SECRET not in result.output
    assert (root.parent / "secret.txt").read_text() == SECRET
    assert not (root.parent / "outside" / "new.txt").exists()
    # Searching the whole workspace passes over the links: no content or file of outside/ shows.
    assert SECRET not in run("grep", pattern="SECRET").output
    assert "loot" not in run("find_files", pattern="**/*").output


def test_symlinks_inside_the_workspace_work(run: Run, root: Path) -> None:
    """A link to a file inside the workspace reads like the file."""
    os.symlink(root / "README.md", root / "readme-link")
    assert "hello world" in run("read_file", path="readme-link").output


@pytest.mark.parametrize("pattern", ["../*", "/etc/*", "src/../../*", "~/*"])
def test_globs_may_not_leave_the_workspace(run: Run, pattern: str) -> None:
    """find_files and grep's glob refuse absolute globs and globs with .. parts."""
    assert run("find_files", pattern=pattern).status == "error"
    assert run("grep", pattern="x", glob=pattern).status == "error"
