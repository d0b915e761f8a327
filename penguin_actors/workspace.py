"""Workspace: the one place a user-given path is resolved, and kept inside the workspace.

Relative paths are taken from the workspace root; absolute paths are allowed only if
they lie inside it. Symlinks are resolved before the check, so a link pointing out
of the workspace is refused like ``../``.
"""

from __future__ import annotations

from pathlib import Path

from penguin_actors.errors import Invalid, NotFound, TooLarge

MAX_PATH_CHARS = 1024


class Workspace:
    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()

    def resolve(self, user_path: str, *, under: str | None = None, must_exist: bool = True) -> Path:
        """The real path of ``user_path``; Invalid if it leaves the workspace (or ``under``), NotFound if missing."""
        if not user_path or "\x00" in user_path or len(user_path) > MAX_PATH_CHARS:
            raise Invalid(f"path {user_path[:80]!r} is empty, too long or has a NUL byte: give a workspace path")
        base = (self.root / under).resolve() if under else self.root
        candidate = Path(user_path).expanduser()
        real = (candidate if candidate.is_absolute() else base / candidate).resolve()
        if not real.is_relative_to(base):
            where = f"the workspace's {under}/ folder" if under else "the workspace"
            raise Invalid(f"path {user_path!r} is outside {where}: give a path inside {base}")
        if must_exist and not real.exists():
            raise NotFound(f"no file {user_path!r} in the workspace")
        return real

    def relative(self, path: Path) -> str:
        return str(path.relative_to(self.root))

    def read_text(self, user_path: str, *, limit: int, under: str | None = None) -> tuple[str, str]:
        """(workspace-relative path, text) of a UTF-8 file of at most ``limit`` bytes."""
        path = self._file(user_path, limit, under)
        try:
            return self.relative(path), path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise Invalid(f"{user_path!r} is not UTF-8 text") from None

    def read_bytes(self, user_path: str, *, limit: int) -> bytes:
        """The bytes of a file of at most ``limit`` bytes."""
        return self._file(user_path, limit, None).read_bytes()

    def _file(self, user_path: str, limit: int, under: str | None) -> Path:
        """The resolved path of a regular file of at most ``limit`` bytes."""
        path = self.resolve(user_path, under=under)
        if not path.is_file():
            raise Invalid(f"{user_path!r} is not a file")
        size = path.stat().st_size
        if size > limit:
            raise TooLarge(f"{user_path!r} has {size} bytes, over the limit of {limit}")
        return path
