"""Uploads, context files, and Markdown rendering for the page."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from serve_app.schemas.base import ConversationId, Schema


class UploadResponse(Schema):
    path: str = Field(description="where the file is stored; accepted as image_path")
    filename: str = Field(description="the client's file name, as a label")
    content_type: str = Field(description="told from the content, never from the name")


class ContextFile(Schema):
    path: str = Field(description="relative to the workspace's context/ folder")
    size: int
    modified: datetime
    type: str


class ContextFileList(Schema):
    files: list[ContextFile]


class ContextLoadRequest(Schema):
    file_path: str = Field(min_length=1, max_length=1024, description="relative to the workspace's context/ folder")
    conversation_id: ConversationId | None = Field(None, description="default: the most recently active conversation")


class ContextLoadResult(Schema):
    status: Literal["loaded"] = "loaded"
    file_path: str
    conversation_id: str
    message_count: int


MAX_RENDER_TEXTS = 200


class RenderRequest(Schema):
    texts: list[str] = Field(
        max_length=MAX_RENDER_TEXTS,
        description=f"Markdown texts, at most {MAX_RENDER_TEXTS}; each at most limits.max_text_chars (else 413)",
    )


class RenderResponse(Schema):
    html: list[str] = Field(description="one safe HTML fragment per text, in order; raw HTML escaped, bad links inert")
