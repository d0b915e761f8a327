"""Workspace paths: everything a user names stays inside the workspace, symlinks included."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from penguin_actors.errors import Invalid, NotFound, TooLarge
from penguin_actors.media import sniff_image
from penguin_actors.workspace import Workspace


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    root = tmp_path / "ws"
    (root / "context").mkdir(parents=True)
    (root / "context" / "notes.md").write_text("# notes")
    (root / "src.py").write_text("print(1)")
    (tmp_path / "secret.txt").write_text("secret")
    return Workspace(root)


def test_relative_and_absolute_paths_inside_resolve(ws: Workspace) -> None:
    """A relative path, and an absolute one inside the workspace, resolve to the file."""
    assert ws.resolve("src.py") == ws.root / "src.py"
    assert ws.resolve(str(ws.root / "context" / "notes.md")) == ws.root / "context" / "notes.md"


@pytest.mark.parametrize("path", ["../secret.txt", "context/../../secret.txt", "/etc/passwd", "~/x", "%2e%2e/secret"])
def test_paths_outside_are_refused_or_missing(ws: Workspace, path: str) -> None:
    """.., absolute paths elsewhere and home paths are refused; URL encoding is only a file name."""
    with pytest.raises((Invalid, NotFound)) as info:
        ws.resolve(path)
    if path.startswith("%"):
        assert isinstance(info.value, NotFound)
    else:
        assert isinstance(info.value, Invalid) and "outside" in info.value.message


def test_symlink_out_of_the_workspace_is_refused(ws: Workspace, tmp_path: Path) -> None:
    """A link inside the workspace that points outside is refused like ../."""
    os.symlink(tmp_path / "secret.txt", ws.root / "link.txt")
    with pytest.raises(Invalid, match="outside"):
        ws.resolve("link.txt")


@pytest.mark.parametrize("path", ["", "a\x00b", "x" * 2000])
def test_malformed_paths_are_invalid(ws: Workspace, path: str) -> None:
    """Empty paths, NUL bytes and absurd lengths are refused before touching the disk."""
    with pytest.raises(Invalid):
        ws.resolve(path)


def test_under_confines_to_a_folder(ws: Workspace) -> None:
    """With under='context', a workspace file outside context/ is refused."""
    assert ws.read_text("notes.md", limit=100, under="context") == ("context/notes.md", "# notes")
    with pytest.raises(Invalid, match="context/ folder"):
        ws.resolve("../src.py", under="context")


def test_reads_are_capped_and_typed(ws: Workspace) -> None:
    """A file over the limit is TooLarge; a binary file is not text; a directory is not a file."""
    (ws.root / "big.txt").write_text("x" * 2000)
    (ws.root / "bin.dat").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(TooLarge):
        ws.read_text("big.txt", limit=1000)
    with pytest.raises(Invalid, match="UTF-8"):
        ws.read_text("bin.dat", limit=1000)
    with pytest.raises(Invalid, match="not a file"):
        ws.read_bytes("context", limit=1000)


@pytest.mark.parametrize(
    ("data", "media_type"),
    [
        (b"\x89PNG\r\n\x1a\n" + b"0" * 10, "image/png"),
        (b"\xff\xd8\xff\xe0" + b"0" * 10, "image/jpeg"),
        (b"GIF89a" + b"0" * 10, "image/gif"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "image/webp"),
        (b"plain text renamed .png", None),
    ],
)
def test_images_are_told_by_content(data: bytes, media_type: str | None) -> None:
    """The media type comes from the bytes, never the name."""
    assert sniff_image(data) == media_type
