"""Uploads and context files: what a client may put into, and list from, the workspace."""

from __future__ import annotations

import mimetypes
import re
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from penguin_actors.config import LimitSettings
from penguin_actors.errors import Invalid, TooLarge
from penguin_actors.media import sniff_image
from penguin_actors.workspace import Workspace

UPLOADS_DIR = "uploads"
CONTEXT_DIR = "context"
MAX_LISTED = 1000
EXTENSIONS = {
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/gif": ".gif",
    "image/webp": ".webp",
    "text/plain": ".txt",
}


def upload_type(data: bytes, limits: LimitSettings) -> str:
    """The content type of an upload, told from its bytes; Invalid if the type is not allowed."""
    media_type = sniff_image(data)
    if media_type is not None:
        return media_type
    if limits.allow_text_uploads and b"\x00" not in data[:8192]:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:
            return "text/plain"
    allowed = "PNG, JPEG, GIF or WebP images" + (" or UTF-8 text" if limits.allow_text_uploads else "")
    raise Invalid(f"the file's content is not one of the allowed types ({allowed}); its name does not count")


def save_upload(workspace: Workspace, filename: str, data: bytes, limits: LimitSettings) -> dict[str, str]:
    """Store an upload under ``uploads/`` with a generated name; ``path`` is accepted as ``image_path``."""
    if len(data) > limits.max_upload_bytes:
        raise TooLarge(f"the file has {len(data)} bytes, over the limit of {limits.max_upload_bytes}")
    if not data:
        raise Invalid("the file is empty")
    content_type = upload_type(data, limits)
    folder = workspace.root / UPLOADS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{uuid.uuid4().hex}{EXTENSIONS[content_type]}"
    target.write_bytes(data)
    return {"path": str(target), "filename": clean_filename(filename), "content_type": content_type}


def clean_filename(filename: str) -> str:
    """The client's file name as a label only: no directories, no control characters, bounded."""
    name = Path(filename.replace("\\", "/")).name
    return re.sub(r"[\x00-\x1f\x7f]", "", name)[:255] or "upload"


def list_context_files(workspace: Workspace) -> list[dict[str, Any]]:
    """Files under the workspace's ``context/`` folder (links out of the workspace are left out)."""
    folder = workspace.root / CONTEXT_DIR
    if not folder.is_dir():
        return []
    found: list[dict[str, Any]] = []
    for path in sorted(folder.rglob("*")):
        if len(found) >= MAX_LISTED:
            break
        if not path.is_file() or not path.resolve().is_relative_to(workspace.root):
            continue
        stat = path.stat()
        found.append(
            {
                "path": str(path.relative_to(folder)),
                "size": stat.st_size,
                "modified": datetime.fromtimestamp(stat.st_mtime, UTC),
                "type": mimetypes.guess_type(path.name)[0] or "text/plain",
            }
        )
    return found
