"""Helpers of the tool tests (the fixtures live in conftest.py)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from penguin_actors.tools import ToolContext, ToolResult
from tests.support import make_settings

SECRET = "TOP-SECRET-OUTSIDE-THE-WORKSPACE"

Run = Callable[..., ToolResult]


def context(root: Path, **overrides: object) -> ToolContext:
    """A tool context on the workspace ``root`` (env from os.environ); settings overrides by dotted key."""
    return ToolContext.from_settings(make_settings(root, **overrides), environ=os.environ)
