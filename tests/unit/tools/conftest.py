"""Fixtures of the tool tests: a small workspace beside a secret file, and a context to run tools in."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from penguin_actors.tools import ToolContext, ToolResult, run_tool
from tests.unit.tools.helpers import SECRET, Run, context


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A workspace with a few files; ``secret.txt`` and ``outside/`` lie beside it, outside."""
    ws = tmp_path / "ws"
    (ws / "src" / "pkg").mkdir(parents=True)
    (ws / "src" / "main.py").write_text("import os\n\n\ndef main():\n    print('hello')\n")
    (ws / "src" / "pkg" / "util.py").write_text("def helper():\n    return 42\n")
    (ws / "README.md").write_text("# Demo\nhello world\n")
    (ws / "notes.txt").write_text("".join(f"line {n}\n" for n in range(1, 101)))
    (tmp_path / "secret.txt").write_text(SECRET)
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "loot.txt").write_text(SECRET)
    return ws


@pytest.fixture
def ctx(root: Path) -> ToolContext:
    return context(root)


@pytest.fixture
def run(ctx: ToolContext) -> Run:
    """``run(name, **arguments)``: one tool call in the default context."""

    def call(name: str, /, **arguments: Any) -> ToolResult:
        return run_tool(name, arguments, ctx)

    return call
