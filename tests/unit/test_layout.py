"""The runtime's layout: Ray only at the edge, and the plain packages import without it."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import penguin_actors

ROOT = Path(penguin_actors.__file__).parent
PLAIN_PACKAGES = ["conversation", "store", "tasks", "models", "tools", "edge.auth"]


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_only_the_edge_imports_ray() -> None:
    """No module of the runtime outside ``edge/`` imports ray, even lazily."""
    offenders = [
        str(path.relative_to(ROOT))
        for path in ROOT.rglob("*.py")
        if "edge" not in path.relative_to(ROOT).parts
        and any(name == "ray" or name.startswith("ray.") for name in _imports(path))
    ]
    assert offenders == []


def test_the_runtime_never_imports_the_http_layer() -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for path in ROOT.rglob("*.py")
        if any(name == "serve_app" or name.startswith("serve_app.") for name in _imports(path))
    ]
    assert offenders == []


@pytest.mark.parametrize("package", PLAIN_PACKAGES)
def test_a_plain_package_imports_without_loading_ray(package: str) -> None:
    """Importing it in a fresh interpreter leaves Ray unloaded (``edge.auth`` must run before Ray loads)."""
    code = f"import sys, penguin_actors.{package}; print('ray' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.strip() == "False"
