"""File tools: reading with line numbers and ranges, writing, exact single-match edits, listing."""

from __future__ import annotations

from pathlib import Path

from penguin_actors.tools import run_tool
from tests.unit.tools.helpers import Run, context


def test_read_file_numbers_its_lines(run: Run) -> None:
    """read_file shows every line of a small file, numbered from 1."""
    result = run("read_file", path="src/main.py")
    assert result.status == "completed" and not result.truncated
    lines = result.output.splitlines()
    assert lines[0] == "     1\timport os" and lines[-1] == "     5\t    print('hello')" and len(lines) == 5


def test_read_file_line_range(run: Run) -> None:
    """start_line and end_line select an inclusive 1-based range; start alone reads to the end."""
    assert run("read_file", path="notes.txt", start_line=10, end_line=12).output.splitlines() == [
        "    10\tline 10",
        "    11\tline 11",
        "    12\tline 12",
    ]
    assert run("read_file", path="notes.txt", start_line=99).output.splitlines() == [
        "    99\tline 99",
        "   100\tline 100",
    ]
    assert run("read_file", path="notes.txt", start_line=100, end_line=500).output == "   100\tline 100"


def test_read_file_bad_ranges_are_errors(run: Run) -> None:
    """A range past the end, or ending before it starts, is an error that says why."""
    past = run("read_file", path="notes.txt", start_line=101)
    assert past.status == "error" and "100 lines" in past.output
    backwards = run("read_file", path="notes.txt", start_line=5, end_line=2)
    assert backwards.status == "error" and "before start_line" in backwards.output


def test_read_file_refuses_binary_and_folders(run: Run, root: Path) -> None:
    """Binary files and folders are errors pointing at what to do instead."""
    (root / "blob.bin").write_bytes(b"\x00\x01\x02" * 10)
    assert "binary" in run("read_file", path="blob.bin").output
    folder = run("read_file", path="src")
    assert folder.status == "error" and "list_files" in folder.output


def test_read_file_of_a_big_file_is_cut_and_says_where_to_continue(root: Path) -> None:
    """A file over the output cap is cut at a whole line, marked truncated, with the next start_line."""
    (root / "big.txt").write_text("".join(f"row {n} " + "x" * 50 + "\n" for n in range(1, 20_001)))
    ctx = context(root, **{"tools.output_cap_bytes": 4096})
    result = run_tool("read_file", {"path": "big.txt"}, ctx)
    assert result.status == "completed" and result.truncated
    assert len(result.output.encode()) <= 4096
    last = int(result.output.split("\n")[-2].split("\t")[0])
    assert f"start_line={last + 1}" in result.output


def test_write_then_read(run: Run, root: Path) -> None:
    """write_file creates missing folders, reports bytes written, and read_file reads it back."""
    written = run("write_file", path="new/deep/hello.txt", content="héllo\nworld\n")
    assert written.status == "completed" and "created new/deep/hello.txt" in written.output
    assert "13 bytes" in written.output
    assert (root / "new" / "deep" / "hello.txt").read_text() == "héllo\nworld\n"
    assert run("read_file", path="new/deep/hello.txt").output == "     1\théllo\n     2\tworld"
    assert "overwrote" in run("write_file", path="new/deep/hello.txt", content="").output


def test_write_file_onto_a_folder_is_an_error(run: Run) -> None:
    """Writing to a path that is a folder fails without touching it."""
    result = run("write_file", path="src", content="x")
    assert result.status == "error" and "folder" in result.output


def test_edit_file_replaces_the_one_match(run: Run, root: Path) -> None:
    """edit_file replaces exactly one occurrence and keeps the rest of the file (line ends included)."""
    (root / "crlf.txt").write_bytes(b"alpha\r\nbeta\r\ngamma\r\n")
    result = run("edit_file", path="crlf.txt", old="beta", new="BETA")
    assert result.status == "completed" and "lines 2-2" in result.output
    assert (root / "crlf.txt").read_bytes() == b"alpha\r\nBETA\r\ngamma\r\n"


def test_edit_file_with_no_match_changes_nothing(run: Run, root: Path) -> None:
    """0 matches: an error saying the text was not found; the file is unchanged."""
    before = (root / "src" / "main.py").read_text()
    result = run("edit_file", path="src/main.py", old="print('bye')", new="x")
    assert result.status == "error" and "not found" in result.output
    assert (root / "src" / "main.py").read_text() == before


def test_edit_file_with_two_matches_says_how_many(run: Run, root: Path) -> None:
    """2 matches: an error naming the count and asking for more context; the file is unchanged."""
    (root / "twice.txt").write_text("x = 1\ny = 2\nx = 1\n")
    result = run("edit_file", path="twice.txt", old="x = 1", new="x = 3")
    assert result.status == "error" and "matches 2 places" in result.output
    assert (root / "twice.txt").read_text() == "x = 1\ny = 2\nx = 1\n"


def test_list_files_sorted_with_folders_marked(run: Run, root: Path) -> None:
    """list_files lists a folder sorted, folders ending with '/', defaulting to the root."""
    assert run("list_files").output.splitlines() == ["README.md", "notes.txt", "src/"]
    assert run("list_files", path="src").output.splitlines() == ["main.py", "pkg/"]
    (root / "empty").mkdir()
    assert "empty folder" in run("list_files", path="empty").output


def test_list_files_is_bounded(run: Run, root: Path) -> None:
    """More entries than max_entries: the first ones, truncated, with the count left out."""
    many = root / "many"
    many.mkdir()
    for n in range(30):
        (many / f"f{n:02}.txt").write_text("")
    result = run("list_files", path="many", max_entries=10)
    assert result.truncated and result.output.splitlines()[:10] == [f"f{n:02}.txt" for n in range(10)]
    assert "20 more entries" in result.output


def test_the_servers_data_folder_is_out_of_reach(run: Run, root: Path) -> None:
    """.penguin/ (the server's database) can be neither read, written nor listed."""
    (root / ".penguin" / "db").mkdir(parents=True)
    (root / ".penguin" / "db" / "data.lance").write_text("rows")
    assert run("read_file", path=".penguin/db/data.lance").status == "error"
    assert run("write_file", path=".penguin/evil", content="x").status == "error"
    assert not (root / ".penguin" / "evil").exists()
    assert ".penguin" not in run("list_files").output
    assert ".penguin" not in run("find_files", pattern="**/*").output
