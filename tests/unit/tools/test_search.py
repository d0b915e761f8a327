"""Search tools: find_files globs and grep matches, both bounded and skipping caches and binaries."""

from __future__ import annotations

from pathlib import Path

import pytest

from penguin_actors.tools import run_tool
from penguin_actors.tools.paths import glob_regex
from tests.unit.tools.helpers import Run, context


def test_find_files_recursive_glob(run: Run) -> None:
    """'**/*.py' finds Python files at every depth, sorted, relative to the workspace."""
    result = run("find_files", pattern="**/*.py")
    assert result.status == "completed"
    assert result.output.splitlines() == ["src/main.py", "src/pkg/util.py"]


def test_find_files_single_level_and_folders(run: Run) -> None:
    """'*' stays within one folder; matching folders end with '/'; './' is accepted."""
    assert run("find_files", pattern="*.md").output == "README.md"
    assert run("find_files", pattern="./src/*").output.splitlines() == ["src/main.py", "src/pkg/"]
    assert "no paths match" in run("find_files", pattern="*.rs").output
    assert "no paths match" in run("find_files", pattern="nowhere/**/*.py").output


def test_find_files_skips_caches_and_is_bounded(run: Run, root: Path) -> None:
    """Folders like .git and node_modules are not searched; max_results bounds the answer and says so."""
    for folder in (".git", "node_modules/lib", "__pycache__"):
        (root / folder).mkdir(parents=True)
        (root / folder / "hidden.py").write_text("x")
    for n in range(20):
        (root / f"m{n:02}.py").write_text("")
    assert "hidden.py" not in run("find_files", pattern="**/*.py", max_results=100).output
    bounded = run("find_files", pattern="*.py", max_results=5)
    assert bounded.truncated and bounded.output.splitlines()[:5] == [f"m{n:02}.py" for n in range(5)]
    assert "more than 5" in bounded.output


@pytest.mark.parametrize(
    ("pattern", "path", "expected"),
    [
        ("**/*.py", "a.py", True),
        ("**/*.py", "a/b/c.py", True),
        ("*.py", "a/b.py", False),
        ("src/**", "src/a/b", True),
        ("src/**/test_*.py", "src/test_x.py", True),
        ("file?.txt", "file1.txt", True),
        ("file?.txt", "file/.txt", False),
        ("[!a]*.md", "b.md", True),
        ("[!a]*.md", "a.md", False),
        ("a+b(c).txt", "a+b(c).txt", True),
    ],
)
def test_glob_semantics(pattern: str, path: str, expected: bool) -> None:
    """The glob language: * and ? within a segment, ** across, classes, everything else literal."""
    assert (glob_regex(pattern).fullmatch(path) is not None) is expected


def test_grep_lines_as_path_line_text(run: Run) -> None:
    """grep answers 'path:line: text' for each matching line, over the whole workspace by default."""
    result = run("grep", pattern=r"hel+o")
    assert result.status == "completed"
    assert sorted(result.output.splitlines()) == ["README.md:2: hello world", "src/main.py:5:     print('hello')"]


def test_grep_path_glob_and_case(run: Run) -> None:
    """path narrows to a file or folder, glob to file names, ignore_case matches either case."""
    assert run("grep", pattern="return", path="src/pkg/util.py").output == "src/pkg/util.py:2:     return 42"
    assert run("grep", pattern="hello", glob="*.md").output == "README.md:2: hello world"
    assert run("grep", pattern="HELLO", path="README.md", ignore_case=True).output == "README.md:2: hello world"
    assert "no matches" in run("grep", pattern="HELLO", path="README.md").output


def test_grep_skips_binary_files(run: Run, root: Path) -> None:
    """Files with NUL bytes are passed over."""
    (root / "blob.bin").write_bytes(b"hello\x00world")
    assert "blob.bin" not in run("grep", pattern="hello").output


def test_grep_is_bounded(run: Run, root: Path) -> None:
    """Many matches stop at max_matches, and at the output cap, both marked truncated."""
    (root / "many.txt").write_text("match me " + "y" * 100 + "\n" * 1 + ("match me\n" * 5000))
    few = run("grep", pattern="match", path="many.txt", max_matches=3)
    assert few.truncated and len(few.output.splitlines()) == 4 and "max_matches" in few.output
    ctx = context(root, **{"tools.output_cap_bytes": 2048})
    capped = run_tool("grep", {"pattern": "match", "max_matches": 5000}, ctx)
    assert capped.truncated and len(capped.output.encode()) <= 2048 and "output limit" in capped.output


def test_grep_cuts_long_lines(run: Run, root: Path) -> None:
    """A match on a very long line shows its start only."""
    (root / "min.js").write_text("needle" + "z" * 100_000 + "\n")
    result = run("grep", pattern="needle")
    assert result.output.startswith("min.js:1: needle") and len(result.output) < 1000


def test_grep_invalid_regex_is_an_error(run: Run) -> None:
    """An invalid regular expression is an error naming the problem."""
    result = run("grep", pattern="(unclosed")
    assert result.status == "error" and "invalid regular expression" in result.output
