"""The node check's probe: read back where it was written, and refused elsewhere."""

from __future__ import annotations

from pathlib import Path

from penguin_actors.edge.node_check import PROBE, read_probes, shared_folders, write_probes
from tests.support import make_settings


def test_the_workspace_and_a_local_store_are_shared_folders(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "ws")
    assert shared_folders(settings) == {"workspace": tmp_path / "ws", "store": tmp_path / "ws" / ".penguin"}
    remote = make_settings(tmp_path / "ws", storage_uri="s3://bucket/penguin")
    assert shared_folders(remote) == {"workspace": tmp_path / "ws"}
    mounted = make_settings(tmp_path / "ws", storage_uri=f"file://{tmp_path / 'shared' / 'db'}")
    assert shared_folders(mounted) == {"workspace": tmp_path / "ws", "store": tmp_path / "shared"}


def test_a_probe_reads_back_where_it_was_written(tmp_path: Path) -> None:
    folders = {"workspace": tmp_path / "ws", "store": tmp_path / "db"}
    token = write_probes(folders)
    assert read_probes(folders, token) == []


def test_a_missing_or_different_folder_is_reported(tmp_path: Path) -> None:
    """A node that lacks the folder, or has a different one at the same path, says which and why."""
    folders = {"workspace": tmp_path / "ws", "store": tmp_path / "db"}
    token = write_probes(folders)
    (tmp_path / "db" / PROBE).write_text("another disk")
    (tmp_path / "ws" / PROBE).unlink()
    problems = read_probes(folders, token)
    assert len(problems) == 2
    assert "workspace" in problems[0] and "not reachable" in problems[0]
    assert "store" in problems[1] and "not the same folder" in problems[1]
