"""Files: uploads (images for vision models) and the workspace's context files."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, UploadFile

from penguin_actors.uploads import list_context_files, save_upload
from penguin_actors.workspace import Workspace
from serve_app.deps import ConversationsDep, SettingsDep
from serve_app.errors import documented
from serve_app.schemas import ContextFile, ContextFileList, ContextLoadRequest, ContextLoadResult, UploadResponse

router = APIRouter(tags=["files"])


@router.post("/upload", response_model=UploadResponse, status_code=201)
async def upload(file: UploadFile, settings: SettingsDep) -> UploadResponse:
    # The body was capped at limits.max_upload_bytes while it arrived (security.BodySizeLimit).
    data = await file.read()
    saved = await asyncio.to_thread(
        save_upload, Workspace(settings.workspace), file.filename or "upload", data, settings.limits
    )
    return UploadResponse(**saved)


@router.get("/context-files", response_model=ContextFileList)
async def context_files(settings: SettingsDep) -> ContextFileList:
    files = await asyncio.to_thread(list_context_files, Workspace(settings.workspace))
    return ContextFileList(files=[ContextFile(**f) for f in files])


@router.post("/context-files/load", response_model=ContextLoadResult, responses=documented(404))
async def load_context_file(body: ContextLoadRequest, conversations: ConversationsDep) -> ContextLoadResult:
    conversation_id = await conversations.current(body.conversation_id)
    loaded = await conversations.add_context_file(conversation_id, body.file_path)
    return ContextLoadResult(conversation_id=conversation_id, **loaded)
